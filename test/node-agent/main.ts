// CLI of the local node agent: `node test/node-agent/main.ts --help`.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { defaultImageCommands, startNodeAgent } from "./agent.ts";
import type { ImageCommands } from "./image-commands.ts";
import { DEFAULT_POD_CIDR } from "./pod-addresses.ts";

const usage = `Usage: node test/node-agent/main.ts [options]

Registers a Node and runs every pod bound to it as local processes, until SIGINT or SIGTERM.

  --kubeconfig PATH            kubeconfig to use (default: $KUBECONFIG)
  --node-name NAME             Node to register (default: local-agent)
  --state-dir DIR              pod folders, process records, logs (default: .local/node-agent/<node-name>)
  --image-command KEY=ARGV     image or command name mapped to a local argv, space-separated; repeatable
                               (default: bot-runtime=<node> dist/bot-runtime/main.js)
  --runtime-from-sources       default mapping runs bot-runtime/main.ts instead of the build
  --pod-cidr CIDR              loopback range for pod IPs (default: ${DEFAULT_POD_CIDR})
  --env NAME=VALUE             added to every process's environment; repeatable
  --label KEY=VALUE            extra Node label; repeatable
  --stop-grace-seconds N       on stop, SIGKILL after at most N seconds (default: 10)
  --delete-node-on-stop        delete the Node on stop instead of marking it NotReady
  --help                       show this text
`;

function keyValues(values: string[] | undefined, flag: string): Array<[string, string]> {
  return (values ?? []).map((entry) => {
    const equals = entry.indexOf("=");
    if (equals <= 0) throw new Error(`${flag} ${JSON.stringify(entry)}: expected KEY=VALUE`);
    return [entry.slice(0, equals), entry.slice(equals + 1)];
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: "string" },
      "node-name": { type: "string", default: "local-agent" },
      "state-dir": { type: "string" },
      "image-command": { type: "string", multiple: true },
      "pod-cidr": { type: "string", default: DEFAULT_POD_CIDR },
      env: { type: "string", multiple: true },
      label: { type: "string", multiple: true },
      "stop-grace-seconds": { type: "string", default: "10" },
      "delete-node-on-stop": { type: "boolean", default: false },
      "runtime-from-sources": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return;
  }
  const kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG;
  if (!kubeconfig) throw new Error("no kubeconfig: pass --kubeconfig PATH or set KUBECONFIG");
  const nodeName = values["node-name"];
  const stopGraceSeconds = Number(values["stop-grace-seconds"]);
  if (!Number.isInteger(stopGraceSeconds) || stopGraceSeconds < 0) {
    throw new Error(
      `--stop-grace-seconds ${values["stop-grace-seconds"]}: expected a whole number of seconds`,
    );
  }
  const mapped = keyValues(values["image-command"], "--image-command").map(
    ([key, argv]) => [key, argv.split(/\s+/).filter(Boolean)] as const,
  );
  const imageCommands: ImageCommands = {
    ...defaultImageCommands(values["runtime-from-sources"] ? "sources" : "build"),
    ...Object.fromEntries(mapped),
  };

  const agent = await startNodeAgent({
    kubeconfig,
    nodeName,
    stateDir: values["state-dir"] ?? join(".local", "node-agent", nodeName),
    imageCommands,
    podCIDR: values["pod-cidr"],
    extraEnv: Object.fromEntries(keyValues(values.env, "--env")),
    labels: Object.fromEntries(keyValues(values.label, "--label")),
    stopGraceSeconds,
    deleteNodeOnStop: values["delete-node-on-stop"],
  });
  process.stderr.write(`[node-agent ${nodeName}] running; state in ${agent.stateDir}; Ctrl-C stops\n`);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`[node-agent ${nodeName}] second ${signal}: exiting now\n`);
      process.exit(130);
    }
    void agent.stop().then(() => process.exit(0));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

main().catch((error: unknown) => {
  process.stderr.write(`node-agent: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
