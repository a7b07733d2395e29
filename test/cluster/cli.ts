// Starts, stops and reports the local control plane for interactive use (`make cluster-up|cluster-down|
// cluster-status`). State lives in .local/cluster/; `up` leaves a detached supervisor process that owns the
// components, `down` stops it and makes sure no component is left.
// `up --real-node` (`make cluster-up NODE=real`) adds a real node (real-node.ts) next to the KWOK nodes.
// Usage: node test/cluster/cli.ts up [--real-node] | down | status
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { isProcessAlive } from "../support/processes.ts";
import { tlsRequest } from "../support/tls-request.ts";
import { waitFor } from "../support/wait-for.ts";
import {
  type ControlPlane,
  controlPlaneFileName,
  processFileName,
  type RecordedProcess,
} from "./control-plane.ts";
import { cleanUpRealNode, realNodeFileName, realNodeLabel, realNodeTaint } from "./real-node.ts";
import type { SupervisorMessage } from "./supervisor.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const stateDir = join(repoRoot, ".local", "cluster");
const supervisorScript = fileURLToPath(new URL("./supervisor.ts", import.meta.url));
const supervisorPidFile = join(stateDir, "supervisor.pid");
const supervisorLog = join(stateDir, "supervisor.log");
const shown = (path: string) => relative(process.cwd(), path) || ".";

type Status =
  | { state: "up"; controlPlane: Omit<ControlPlane, "stop">; supervisorPid: number }
  | { state: "unhealthy"; reason: string; supervisorPid: number }
  | { state: "down" };

function readJson<T>(path: string): T | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as T) : undefined;
}

/** The supervisor's pid if that process is still our supervisor (pids get reused). */
function liveSupervisorPid(): number | undefined {
  if (!existsSync(supervisorPidFile)) return undefined;
  const pid = Number(readFileSync(supervisorPidFile, "utf8").trim());
  if (!Number.isInteger(pid) || !isProcessAlive(pid)) return undefined;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmdline.includes(supervisorScript) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function status(): Promise<Status> {
  const supervisorPid = liveSupervisorPid();
  if (supervisorPid === undefined) return { state: "down" };
  const controlPlane = readJson<Omit<ControlPlane, "stop">>(join(stateDir, controlPlaneFileName));
  if (!controlPlane)
    return { state: "unhealthy", reason: "still starting, or failed to start", supervisorPid };
  const pki = join(stateDir, "pki");
  try {
    const res = await tlsRequest(`${controlPlane.server}/readyz`, {
      ca: readFileSync(join(pki, "ca.crt"), "utf8"),
      cert: readFileSync(join(pki, "admin.crt"), "utf8"),
      key: readFileSync(join(pki, "admin.key"), "utf8"),
    });
    if (res.status !== 200)
      return { state: "unhealthy", reason: `/readyz answered ${res.status}`, supervisorPid };
  } catch (error) {
    return { state: "unhealthy", reason: `/readyz failed: ${(error as Error).message}`, supervisorPid };
  }
  return { state: "up", controlPlane, supervisorPid };
}

function printUsage(controlPlane: Omit<ControlPlane, "stop">): void {
  console.log(`API server:  ${controlPlane.server}`);
  console.log(`fake nodes:  ${controlPlane.fakeNodes.join(", ")}`);
  console.log(`logs:        ${shown(controlPlane.logDir)}/ (audit.log: one line per API write)`);
  console.log("use it with:");
  console.log(`  export KUBECONFIG=${controlPlane.kubeconfigPath}`);
  console.log(`  export PATH=${controlPlane.binDir}:$PATH   # kubectl, helm, kwok`);
  console.log("  kubectl get nodes");
  console.log("stop it with: make cluster-down");
}

async function up(withRealNode: boolean): Promise<number> {
  const current = await status();
  if (current.state === "up") {
    console.log("the local control plane is already up");
    printUsage(current.controlPlane);
    return 0;
  }
  if (current.state === "unhealthy") {
    console.log(`a previous control plane is ${current.reason}: stopping it first`);
    await down();
  }
  const started = Date.now();
  mkdirSync(stateDir, { recursive: true });
  const logFd = openSync(supervisorLog, "w");
  const child = spawn(
    process.execPath,
    [supervisorScript, stateDir, ...(withRealNode ? ["--real-node"] : [])],
    {
      detached: true,
      stdio: ["ignore", logFd, logFd, "ipc"],
    },
  );
  writeFileSync(supervisorPidFile, `${child.pid}\n`);
  console.log(`starting the local control plane (state in ${shown(stateDir)}, log ${shown(supervisorLog)})`);
  const message = await new Promise<SupervisorMessage>((resolve) => {
    child.once("message", (m) => resolve(m as SupervisorMessage));
    child.once("exit", (code) =>
      resolve({
        ready: false,
        error: `the supervisor exited (code ${code}) before the control plane was ready`,
      }),
    );
  });
  if (child.connected) child.disconnect();
  child.unref();
  if (!message.ready) {
    console.error(
      `cluster-up failed: ${message.error}\nsee ${shown(supervisorLog)} and ${shown(stateDir)}/logs/`,
    );
    return 1;
  }
  console.log(`the local control plane is up after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (message.realNode) {
    console.log(
      `real node:   ${message.realNode.name} at ${message.realNode.address} (pods need nodeSelector ` +
        `${realNodeLabel.key}=${realNodeLabel.value} and a toleration of ${realNodeTaint.key})`,
    );
  }
  printUsage(message.controlPlane);
  return 0;
}

/** The recorded component processes still alive and still running the recorded executable. */
function leftoverComponents(): RecordedProcess[] {
  const recorded =
    readJson<{ processes: RecordedProcess[] }>(join(stateDir, processFileName))?.processes ?? [];
  return recorded.filter((p) => {
    try {
      return readlinkSync(`/proc/${p.pid}/exe`) === p.command;
    } catch {
      return false;
    }
  });
}

async function down(): Promise<number> {
  const supervisorPid = liveSupervisorPid();
  if (supervisorPid !== undefined) {
    process.kill(supervisorPid, "SIGTERM");
    try {
      await waitFor(() => !isProcessAlive(supervisorPid), {
        what: "the supervisor to stop the components",
        timeoutMs: 60_000,
      });
    } catch {
      process.kill(supervisorPid, "SIGKILL");
    }
  }
  // Components die with their supervisor (parent-death signal); this also covers a supervisor killed by hand.
  const leftovers = leftoverComponents();
  for (const p of leftovers) process.kill(p.pid, "SIGKILL");
  await waitFor(() => leftovers.every((p) => !isProcessAlive(p.pid)), {
    what: "leftover components to exit",
  });
  // A real node's containers, mounts, network namespace and cgroups outlive a killed supervisor.
  const realNodeLeft = existsSync(join(stateDir, realNodeFileName));
  await cleanUpRealNode(stateDir);
  for (const file of [
    supervisorPidFile,
    join(stateDir, processFileName),
    join(stateDir, controlPlaneFileName),
  ]) {
    rmSync(file, { force: true });
  }
  const killed =
    leftovers.length > 0 || realNodeLeft
      ? ` (removed leftovers: ${[...leftovers.map((p) => p.name), ...(realNodeLeft ? ["real node"] : [])].join(", ")})`
      : "";
  console.log(
    supervisorPid === undefined && leftovers.length === 0 && !realNodeLeft
      ? "the local control plane was not running"
      : `the local control plane is stopped${killed}`,
  );
  return 0;
}

async function report(): Promise<number> {
  const current = await status();
  if (current.state === "up") {
    console.log(`the local control plane is up (supervisor pid ${current.supervisorPid})`);
    printUsage(current.controlPlane);
    return 0;
  }
  if (current.state === "unhealthy") {
    console.log(
      `the local control plane is not ready: ${current.reason} (supervisor pid ${current.supervisorPid})`,
    );
    return 1;
  }
  console.log("the local control plane is down (start it with: make cluster-up)");
  return 1;
}

const commands: Record<string, () => Promise<number>> = {
  up: () => up(process.argv[3] === "--real-node"),
  down,
  status: report,
};
const command = commands[process.argv[2] ?? ""];
if (!command) {
  console.error("usage: node test/cluster/cli.ts up [--real-node] | down | status");
  process.exit(2);
}
process.exitCode = await command();
