// The kubectl commands the demo prints for the user to copy: exactly what halts a bot, halts the fleet and
// resumes, with the demo cluster's kubeconfig spelled out.

import { SAMPLE_KILL_SWITCH_NAME, SAMPLE_KILL_SWITCH_NAMESPACE } from "./options.ts";

export interface CommandContext {
  /** The kubeconfig of the demo's cluster (as its admin). */
  kubeconfigPath: string;
  /** config/samples/killswitch-namespace.yaml. */
  killSwitchSamplePath: string;
}

/** Quotes a word for a POSIX shell when it needs quoting. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'"'"'`)}'`;
}

export function kubectlLine(context: CommandContext, args: readonly string[]): string {
  return ["kubectl", "--kubeconfig", context.kubeconfigPath, ...args].map(shellQuote).join(" ");
}

export function patchBotKillSwitchArgs(
  namespace: string,
  name: string,
  killSwitch: { engaged?: boolean; reason?: string; acknowledgeHalt?: string },
): string[] {
  return [
    "patch",
    "tb",
    name,
    "-n",
    namespace,
    "--type",
    "merge",
    "-p",
    JSON.stringify({ spec: { killSwitch } }),
  ];
}

export interface FleetSwitch {
  /** The KillSwitch's name. */
  name: string;
  /** The namespace it selects. */
  namespace: string;
  reason: string;
}

/** The KillSwitch that halts every bot of one namespace. */
export function fleetKillSwitch(fleet: FleetSwitch, engaged = true): Record<string, unknown> {
  return {
    apiVersion: "trading.botops.dev/v1alpha1",
    kind: "KillSwitch",
    metadata: { name: fleet.name },
    spec: { engaged, reason: fleet.reason, namespaces: [fleet.namespace] },
  };
}

/** The sample applies unchanged when the demo's namespace is the one it selects; otherwise a heredoc. */
export function haltFleetCommand(context: CommandContext, fleet: FleetSwitch): string {
  if (fleet.name === SAMPLE_KILL_SWITCH_NAME && fleet.namespace === SAMPLE_KILL_SWITCH_NAMESPACE) {
    return kubectlLine(context, ["apply", "-f", context.killSwitchSamplePath]);
  }
  const manifest = [
    "apiVersion: trading.botops.dev/v1alpha1",
    "kind: KillSwitch",
    "metadata:",
    `  name: ${fleet.name}`,
    "spec:",
    "  engaged: true",
    `  reason: ${JSON.stringify(fleet.reason)}`,
    `  namespaces: [${fleet.namespace}]`,
  ];
  return [`${kubectlLine(context, ["apply", "-f", "-"])} <<'EOF'`, ...manifest, "EOF"].join("\n");
}

export function releaseFleetArgs(switchName: string): string[] {
  return ["patch", "ks", switchName, "--type", "merge", "-p", JSON.stringify({ spec: { engaged: false } })];
}

export interface UserCommand {
  what: string;
  command: string;
}

/** What the live view offers to copy, in the order a user would try them. */
export function userCommands(
  context: CommandContext,
  bot: { namespace: string; name: string },
  fleet: FleetSwitch,
): UserCommand[] {
  return [
    { what: "watch the fleet", command: kubectlLine(context, ["get", "tb", "-A", "-w"]) },
    {
      what: `halt one bot (${bot.namespace}/${bot.name})`,
      command: kubectlLine(
        context,
        patchBotKillSwitchArgs(bot.namespace, bot.name, { engaged: true, reason: "demo: halted by hand" }),
      ),
    },
    {
      what: "resume it",
      command: kubectlLine(context, patchBotKillSwitchArgs(bot.namespace, bot.name, { engaged: false })),
    },
    { what: `halt every bot in namespace ${fleet.namespace}`, command: haltFleetCommand(context, fleet) },
    { what: "see the fleet switch", command: kubectlLine(context, ["get", "ks"]) },
    { what: "release the fleet", command: kubectlLine(context, releaseFleetArgs(fleet.name)) },
    {
      what: "or remove the switch",
      command: kubectlLine(context, ["delete", "ks", fleet.name]),
    },
  ];
}
