import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { constants } from "node:os";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

// A container is a process group: the program is started as the leader of its own group (setsid), signals
// go to the whole group, and when the leader exits the rest of the group is killed (as a container's PID
// namespace would be). Under `setpriv --pdeathsig KILL` the kernel also kills the leader if the agent dies
// abruptly.

export interface ProcessExit {
  exitCode: number;
  /** The signal number when a signal ended the process. */
  signal?: number;
  /** Why the program could not be started at all. */
  startError?: string;
}

export interface ContainerProcess {
  readonly pid: number;
  readonly exited: Promise<ProcessExit>;
  /** Sends `signal` to the whole process group; a no-op once it is gone. */
  signalGroup(signal: NodeJS.Signals): void;
}

export interface ProcessSpec {
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string;
  /** stdout and stderr are appended here. */
  logFile: string;
  /** Where the pid is recorded, so that a restarted agent can kill what a crashed one left behind. */
  recordFile: string;
}

interface ProcessRecord {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a reused pid from ours. */
  startTicks: string;
}

let setprivAvailable: boolean | undefined;

function hasSetpriv(): boolean {
  setprivAvailable ??= spawnSync("setpriv", ["--version"], { stdio: "ignore" }).status === 0;
  return setprivAvailable;
}

function startTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces; fields after its closing parenthesis are plain.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/** Whether any process of the group is still running (zombies, which only wait to be reaped, do not count). */
function groupAlive(pgid: number): boolean {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // After the command name: state, ppid, pgrp, ...
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z") return true;
    } catch {
      // the process exited while we looked
    }
  }
  return false;
}

/** SIGKILL to the group, then wait (up to 5 s) until none of its processes runs any more. */
async function killGroup(pgid: number): Promise<void> {
  signalGroup(pgid, "SIGKILL");
  for (let i = 0; i < 250 && groupAlive(pgid); i++) await sleep(20);
}

export function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}

/** Starts a container's program in its own process group, output appended to the log file. */
export function startContainerProcess(spec: ProcessSpec): ContainerProcess {
  const [program, ...args] = spec.argv;
  if (program === undefined) throw new Error("cannot start a container with an empty command");
  mkdirSync(dirname(spec.logFile), { recursive: true, mode: 0o700 });
  const logFd = openSync(spec.logFile, "a");
  const argv = hasSetpriv() ? ["setpriv", "--pdeathsig", "KILL", "--", program, ...args] : [program, ...args];
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(argv[0] as string, argv.slice(1), {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ["ignore", logFd, logFd],
      detached: true,
    });
  } finally {
    closeSync(logFd);
  }
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once("error", (error) => resolve({ exitCode: 128, startError: error.message }));
    child.once("exit", (code, signal) => {
      void (async () => {
        // Whatever the leader left behind dies with it, before the container counts as exited.
        if (child.pid !== undefined) await killGroup(child.pid);
        rmSync(spec.recordFile, { force: true });
        if (signal) {
          const number = signalNumber(signal);
          resolve({ exitCode: 128 + number, signal: number });
        } else {
          resolve({ exitCode: code ?? 0 });
        }
      })();
    });
  });
  const pid = child.pid ?? -1;
  if (pid > 0) {
    const record: ProcessRecord = { pid, startTicks: startTicks(pid) ?? "" };
    mkdirSync(dirname(spec.recordFile), { recursive: true, mode: 0o700 });
    writeFileSync(spec.recordFile, JSON.stringify(record));
  }
  return {
    pid,
    exited,
    signalGroup: (signal) => {
      if (pid > 0) signalGroup(pid, signal);
    },
  };
}

/**
 * Kills the process group a record names when it is still the one that was recorded (a crashed agent's
 * leftover), waits until it is gone and removes the record. Returns the pid it killed, if any.
 */
export async function killRecordedProcess(recordFile: string): Promise<number | undefined> {
  let record: ProcessRecord;
  try {
    record = JSON.parse(readFileSync(recordFile, "utf8")) as ProcessRecord;
  } catch {
    rmSync(recordFile, { force: true });
    return undefined;
  }
  const ours = record.pid > 0 && record.startTicks !== "" && startTicks(record.pid) === record.startTicks;
  if (ours) await killGroup(record.pid);
  rmSync(recordFile, { force: true });
  return ours ? record.pid : undefined;
}
