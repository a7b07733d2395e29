// The long-lived parent of a control plane started by `cli.ts up`: it owns the component processes (they die
// with it), reports readiness to `up` over IPC and stops everything on SIGTERM or SIGINT (`cli.ts down`).
// Usage: node test/cluster/supervisor.ts <state-dir>
import { type ControlPlane, startControlPlane } from "./control-plane.ts";

export type SupervisorMessage =
  | { ready: true; controlPlane: Omit<ControlPlane, "stop"> }
  | { ready: false; error: string };

async function main(stateDir: string): Promise<void> {
  const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
  const send = (message: SupervisorMessage) => process.send?.(message);
  let controlPlane: ControlPlane;
  try {
    controlPlane = await startControlPlane({ stateDir, log });
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
  send({ ready: true, controlPlane: info });
  process.disconnect?.();
  // Keeps the event loop alive until a signal arrives.
  setInterval(() => {}, 1 << 30);
}

const stateDir = process.argv[2];
if (!stateDir) {
  console.error("usage: node test/cluster/supervisor.ts <state-dir>");
  process.exit(2);
}
await main(stateDir);
