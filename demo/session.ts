// Ctrl-C in a terminal signals the whole foreground process group: the control plane, PostgreSQL and the
// operator would all stop at once, before the demo could delete its bots in order (the operator must still
// run to cancel their orders and release their finalizers). So the demo runs in a process group of its own,
// under a small launcher that stays in the terminal's group and passes each signal on to the demo alone.

import { spawn } from "node:child_process";
import { constants } from "node:os";

const SESSION_ENV = "TRADINGBOT_DEMO_SESSION";

/** Whether this process is the demo itself (already in its own process group). */
export const isDemoSession = (): boolean => process.env[SESSION_ENV] === "1";

/** Runs this program again as the leader of a new process group; resolves to its exit code. */
export function relaunchInOwnProcessGroup(): Promise<number> {
  const script = process.argv[1] as string;
  const child = spawn(process.execPath, [...process.execArgv, script, ...process.argv.slice(2)], {
    detached: true,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, [SESSION_ENV]: "1" },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, forward);
  return new Promise((resolve) => {
    child.once("error", (error) => {
      console.error(`could not start the demo: ${error.message}`);
      resolve(1);
    });
    child.once("exit", (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

/** In the demo: calls `onGone` when the launcher is gone (killed outright), so nothing is left behind. */
export function onLauncherGone(onGone: () => void): void {
  process.channel?.unref();
  process.once("disconnect", onGone);
}
