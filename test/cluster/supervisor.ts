// The long-lived parent of a control plane started by `cli.ts up`: it owns the component processes (they die
// with it), reports readiness to `up` over IPC and stops everything on SIGTERM or SIGINT (`cli.ts down`).
// With --real-node, a real node (real-node.ts) joins the control plane.
// Usage: node test/cluster/supervisor.ts <state-dir> [--real-node]
import { type ControlPlane, startControlPlane } from "./control-plane.ts";
import { startControlPlaneWithRealNode } from "./real-node.ts";

export type SupervisorMessage =
  | { ready: true; controlPlane: Omit<ControlPlane, "stop">; realNode?: { name: string; address: string } }
  | { ready: false; error: string };

async function main(stateDir: string, withRealNode: boolean): Promise<void> {
  const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
  const send = (message: SupervisorMessage) => process.send?.(message);
  let controlPlane: ControlPlane;
  let realNode: { name: string; address: string } | undefined;
  try {
    if (withRealNode) {
      const cluster = await startControlPlaneWithRealNode({ stateDir, log });
      controlPlane = { ...cluster.controlPlane, stop: cluster.stop };
      realNode = { name: cluster.node.name, address: cluster.node.network.nodeAddress };
    } else {
      controlPlane = await startControlPlane({ stateDir, log });
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`start failed: ${message}`);
    send({ ready: false, error: message });
    process.exitCode = 1;
    return;
  }
  const { stop, ...info } = controlPlane;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping the control plane`);
    void stop().then(() => process.exit(0));
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGHUP", () => {});
  send({ ready: true, controlPlane: info, realNode });
  process.disconnect?.();
  // Keeps the event loop alive until a signal arrives.
  setInterval(() => {}, 1 << 30);
}

const stateDir = process.argv[2];
if (!stateDir || (process.argv[3] !== undefined && process.argv[3] !== "--real-node")) {
  console.error("usage: node test/cluster/supervisor.ts <state-dir> [--real-node]");
  process.exit(2);
}
await main(stateDir, process.argv[3] === "--real-node");
