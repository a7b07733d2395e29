import { describe, expect, it } from "vitest";
import {
  fleetKillSwitch,
  haltFleetCommand,
  kubectlLine,
  patchBotKillSwitchArgs,
  shellQuote,
  userCommands,
} from "./commands.ts";

const context = {
  kubeconfigPath: "/repo/.local/demo/cluster/kubeconfig",
  killSwitchSamplePath: "/repo/ks.yaml",
};
const sampleFleet = {
  name: "halt-trading-namespace",
  namespace: "trading",
  reason: "Exchange incident; trading paused",
};

describe("the commands the demo prints", () => {
  it("quote only what a shell would split or expand", () => {
    expect(shellQuote("grid-btc-paper")).toBe("grid-btc-paper");
    expect(shellQuote('{"a":1}')).toBe(`'{"a":1}'`);
    expect(shellQuote("it's")).toBe(`'it'"'"'s'`);
    expect(shellQuote("/path with space")).toBe("'/path with space'");
  });

  it("halt one bot with a merge patch of its kill switch, the kubeconfig spelled out", () => {
    const line = kubectlLine(
      context,
      patchBotKillSwitchArgs("trading", "grid-btc-paper", { engaged: true, reason: "why" }),
    );
    expect(line).toBe(
      `kubectl --kubeconfig /repo/.local/demo/cluster/kubeconfig patch tb grid-btc-paper -n trading --type merge -p '{"spec":{"killSwitch":{"engaged":true,"reason":"why"}}}'`,
    );
  });

  it("halt the fleet with the KillSwitch sample itself when the demo's namespace is the one it selects", () => {
    expect(haltFleetCommand(context, sampleFleet)).toBe(
      "kubectl --kubeconfig /repo/.local/demo/cluster/kubeconfig apply -f /repo/ks.yaml",
    );
  });

  it("halt the fleet with a heredoc of the same KillSwitch when the namespace has another name", () => {
    const command = haltFleetCommand(context, {
      ...sampleFleet,
      name: "p-halt-trading",
      namespace: "p-trading",
    });
    expect(command.split("\n")).toEqual([
      "kubectl --kubeconfig /repo/.local/demo/cluster/kubeconfig apply -f - <<'EOF'",
      "apiVersion: trading.botops.dev/v1alpha1",
      "kind: KillSwitch",
      "metadata:",
      "  name: p-halt-trading",
      "spec:",
      "  engaged: true",
      '  reason: "Exchange incident; trading paused"',
      "  namespaces: [p-trading]",
      "EOF",
    ]);
  });

  it("build the same KillSwitch as data for the tour to apply", () => {
    expect(fleetKillSwitch({ ...sampleFleet, namespace: "p-trading" })).toEqual({
      apiVersion: "trading.botops.dev/v1alpha1",
      kind: "KillSwitch",
      metadata: { name: "halt-trading-namespace" },
      spec: { engaged: true, reason: "Exchange incident; trading paused", namespaces: ["p-trading"] },
    });
  });

  it("offer watch, halt, resume, fleet halt and release, each with the kubeconfig", () => {
    const commands = userCommands(context, { namespace: "trading", name: "grid-btc-paper" }, sampleFleet);
    expect(commands.map((c) => c.what)).toEqual([
      "watch the fleet",
      "halt one bot (trading/grid-btc-paper)",
      "resume it",
      "halt every bot in namespace trading",
      "see the fleet switch",
      "release the fleet",
      "or remove the switch",
    ]);
    for (const { command } of commands) {
      expect(command.startsWith("kubectl --kubeconfig /repo/.local/demo/cluster/kubeconfig ")).toBe(true);
    }
    expect(commands[2]?.command).toContain(`-p '{"spec":{"killSwitch":{"engaged":false}}}'`);
    expect(commands[5]?.command).toContain(
      `patch ks halt-trading-namespace --type merge -p '{"spec":{"engaged":false}}'`,
    );
  });
});
