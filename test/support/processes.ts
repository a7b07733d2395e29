import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface ProcessSpec {
  /** Short name used in messages ("etcd", "kube-apiserver", ...). */
  name: string;
  command: string;
  args: string[];
  /** stdout and stderr are appended here. */
  logPath: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run under this uid/gid (PostgreSQL refuses to run as root). */
  user?: { uid: number; gid: number };
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Settles when the process has exited; resolves to a description such as "exit code 1". */
  readonly exited: Promise<string>;
  isRunning(): boolean;
  /** The last lines of the process log, for error messages. */
  logTail(lines?: number): string;
  /** `signal` (SIGTERM by default), then SIGKILL after graceMs; resolves once the process is gone. */
  stop(graceMs?: number, signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts a long-running child under `setpriv --pdeathsig KILL`, so the kernel kills it when the process that
 * started it dies, even by SIGKILL: no component outlives its harness.
 */
export function startProcess(spec: ProcessSpec): ManagedProcess {
  const privileges = spec.user
    ? [`--reuid=${spec.user.uid}`, `--regid=${spec.user.gid}`, "--clear-groups"]
    : [];
  const logFd = openSync(spec.logPath, "a");
  const child = spawn("setpriv", [...privileges, "--pdeathsig", "KILL", "--", spec.command, ...spec.args], {
    stdio: ["ignore", logFd, logFd],
    env: spec.env ?? process.env,
    cwd: spec.cwd,
  });
  closeSync(logFd);
  let running = true;
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => {
      running = false;
      resolve(signal ? `killed by ${signal}` : `exit code ${code}`);
    });
    child.once("error", (error) => {
      running = false;
      resolve(`failed to start: ${error.message}`);
    });
  });
  if (child.pid === undefined) {
    throw new Error(`${spec.name}: could not start ${spec.command} (is util-linux's setpriv installed?)`);
  }
  const pid = child.pid;

  return {
    name: spec.name,
    pid,
    logPath: spec.logPath,
    exited,
    isRunning: () => running,
    logTail: (lines = 30) =>
      readFileSync(spec.logPath, "utf8").trimEnd().split("\n").slice(-lines).join("\n"),
    async stop(graceMs = 10_000, signal: NodeJS.Signals = "SIGTERM") {
      if (!running) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Rejects as soon as one of the processes exits, naming it and quoting its log. */
export function failOnExit(processes: ManagedProcess[]): { promise: Promise<never>; cancel(): void } {
  let cancelled = false;
  const promise = new Promise<never>((_, reject) => {
    for (const p of processes) {
      void p.exited.then((how) => {
        if (!cancelled) {
          reject(new Error(`${p.name} stopped unexpectedly (${how}); log ${p.logPath}:\n${p.logTail()}`));
        }
      });
    }
  });
  promise.catch(() => {});
  return {
    promise,
    cancel() {
      cancelled = true;
    },
  };
}

/** Whether a process with this id exists (signal 0 checks without sending anything). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes the folders of `root` whose name's first capture group of `namePattern` is the pid of a process
 * that is gone: state of runs that were killed and could not clean up after themselves.
 */
export function removeDirsOfDeadProcesses(root: string, namePattern: RegExp): void {
  if (!existsSync(root)) return;
  for (const entry of readdirSync(root)) {
    const pid = namePattern.exec(entry)?.[1];
    if (pid && !isProcessAlive(Number(pid))) rmSync(join(root, entry), { recursive: true, force: true });
  }
}
