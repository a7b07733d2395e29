import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeConfig, type V1Pod, Watch } from "@kubernetes/client-node";
import { isProcessAlive } from "../support/processes.ts";
import { killRecordedProcess } from "./container-process.ts";
import type { ImageCommands } from "./image-commands.ts";
import { AgentApi, describeError, podFromWatchEvent } from "./kube-api.ts";
import { DEFAULT_CAPACITY, NodeRegistration } from "./node-registration.ts";
import { DEFAULT_POD_CIDR, HOST_IP, PodAddressPool } from "./pod-addresses.ts";
import { PodFiles, type PodRef } from "./pod-files.ts";
import { PodWorker } from "./pod-worker.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The bot runtime stands in for every container whose command is `bot-runtime`: the build in dist/
 * (`make build`), or with `from: "sources"` bot-runtime/main.ts run directly by Node.
 */
export function defaultImageCommands(from: "build" | "sources" = "build"): ImageCommands {
  const entry = from === "build" ? "dist/bot-runtime/main.js" : "bot-runtime/main.ts";
  return { "bot-runtime": [process.execPath, join(repoRoot, entry)] };
}

export interface NodeAgentOptions {
  /** Path of a kubeconfig file, or a loaded KubeConfig. */
  kubeconfig: string | KubeConfig;
  nodeName: string;
  /** Pod folders, process records and container logs live here. */
  stateDir: string;
  /** Image or command name to local argv prefix; defaults to defaultImageCommands(). */
  imageCommands?: ImageCommands;
  /** Loopback CIDR pod IPs come from; two agents on one machine need disjoint ones. */
  podCIDR?: string;
  /** Added to every process's environment (the container's own env wins). PATH is always passed. */
  extraEnv?: Readonly<Record<string, string>>;
  /** Extra Node labels. */
  labels?: Readonly<Record<string, string>>;
  /** Advertised Node capacity (never enforced). */
  capacity?: Readonly<Record<string, string>>;
  /** On stop, delete the Node (its pods are then garbage-collected) instead of marking it NotReady. */
  deleteNodeOnStop?: boolean;
  /** On stop, each process gets SIGTERM and at most this long (or its pod's grace period) before SIGKILL. */
  stopGraceSeconds?: number;
  log?: (line: string) => void;
}

export interface NodeAgent {
  readonly nodeName: string;
  readonly stateDir: string;
  /** The host folder standing in for the pod's filesystem (volumes, termination-message files). */
  podDir(uid: string): string;
  /** Log file of the latest run of a container (also after the pod is gone), if it ever ran. */
  containerLogFile(pod: { namespace: string; name: string }, container: string): string | undefined;
  /** Contents of that log file ("" when there is none). */
  readContainerLog(pod: { namespace: string; name: string }, container: string): string;
  /** Process ids of the containers running now, by `namespace/name/container`. */
  runningProcesses(): Map<string, number>;
  /** Kills every pod process, reports the pods not ready, marks the Node NotReady (or deletes it). */
  stop(): Promise<void>;
}

const lockedStateDirs = new Set<string>();
const RELIST_DELAY_MS = 1_000;

/** One agent per state folder: a second one would start a second process for the same pods. */
function lockStateDir(stateDir: string): () => void {
  const lockFile = join(stateDir, "agent.pid");
  if (lockedStateDirs.has(stateDir))
    throw new Error(`state dir ${stateDir} is in use by another agent of this process`);
  if (existsSync(lockFile)) {
    const pid = Number(readFileSync(lockFile, "utf8").trim());
    if (pid !== process.pid && Number.isInteger(pid) && pid > 0 && isProcessAlive(pid)) {
      throw new Error(
        `state dir ${stateDir} is in use by the agent with pid ${pid} (remove ${lockFile} if that process is not one)`,
      );
    }
  }
  writeFileSync(lockFile, `${process.pid}\n`);
  lockedStateDirs.add(stateDir);
  return () => {
    lockedStateDirs.delete(stateDir);
    rmSync(lockFile, { force: true });
  };
}

const podKey = (pod: { namespace: string; name: string }) => `${pod.namespace}/${pod.name}`;

/**
 * What a kubelet gives every container whatever enableServiceLinks says: the API server's address. Pods
 * here are processes on the control plane's machine, so that is the API server's loopback address.
 */
function apiServerEnv(kc: KubeConfig): Record<string, string> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) return {};
  const url = new URL(server);
  return {
    KUBERNETES_SERVICE_HOST: url.hostname.replace(/^\[|\]$/g, ""),
    KUBERNETES_SERVICE_PORT: url.port || "443",
  };
}

/**
 * Starts a local node agent: registers the Node, kills what a previous run left behind, takes over the
 * pods bound to the Node (finishing deletions, restarting the rest) and runs every pod bound to it from
 * then on. Resolves once the Node is registered and the existing pods are taken over.
 */
export async function startNodeAgent(options: NodeAgentOptions): Promise<NodeAgent> {
  const log =
    options.log ?? ((line: string) => process.stderr.write(`[node-agent ${options.nodeName}] ${line}\n`));
  const kc = typeof options.kubeconfig === "string" ? new KubeConfig() : options.kubeconfig;
  if (typeof options.kubeconfig === "string") kc.loadFromFile(options.kubeconfig);
  const addresses = new PodAddressPool(options.podCIDR ?? DEFAULT_POD_CIDR);
  const stateDir = resolve(options.stateDir);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const unlock = lockStateDir(stateDir);
  const api = new AgentApi(kc);
  const files = new PodFiles(stateDir);
  const workers = new Map<string, PodWorker>();
  let stopped = false;

  const killAllNow = () => {
    for (const worker of workers.values()) worker.killNow();
  };
  // Last resort: whatever way this process exits, its pod processes do not outlive it.
  process.once("exit", killAllNow);

  let registration: NodeRegistration | undefined;
  try {
    for (const uid of files.podUIDs()) {
      for (const record of files.processRecordFiles(uid)) {
        const pid = await killRecordedProcess(record);
        if (pid !== undefined) log(`killed process group ${pid} left behind by a previous run (pod ${uid})`);
      }
    }

    registration = new NodeRegistration({
      api,
      nodeName: options.nodeName,
      capacity: options.capacity ?? DEFAULT_CAPACITY,
      labels: options.labels ?? {},
      log,
    });
    await registration.register();
    registration.startHeartbeats();
    log(`registered Node ${options.nodeName} (pod CIDR ${options.podCIDR ?? DEFAULT_POD_CIDR})`);

    const deps = {
      api,
      files,
      addresses,
      imageCommands: options.imageCommands ?? defaultImageCommands(),
      hostIP: HOST_IP,
      baseEnv: {
        PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
        ...apiServerEnv(kc),
        ...options.extraEnv,
      },
      log,
    };

    const forget = (worker: PodWorker) => {
      if (workers.get(worker.uid) === worker) workers.delete(worker.uid);
    };
    const onPod = (pod: V1Pod) => {
      if (stopped || pod.spec?.nodeName !== options.nodeName) return;
      const uid = pod.metadata?.uid ?? "";
      const worker = workers.get(uid);
      if (worker) {
        worker.update(pod);
        return;
      }
      workers.set(uid, new PodWorker(deps, pod));
    };
    const onPodGone = (uid: string) => {
      const worker = workers.get(uid);
      if (!worker) return;
      void worker.removed().then(() => forget(worker));
    };

    /** Lists the Node's pods and brings the workers in line; returns the list's resourceVersion. */
    const relist = async (): Promise<string> => {
      const list = await api.listPodsOnNode(options.nodeName);
      const present = new Set(list.items.map((pod) => pod.metadata?.uid ?? ""));
      for (const uid of [...workers.keys()]) if (!present.has(uid)) onPodGone(uid);
      // Claim addresses pods already have before any new pod is given one.
      for (const pod of list.items) {
        const ip = pod.status?.podIP;
        const uid = pod.metadata?.uid ?? "";
        if (ip && !workers.has(uid) && !pod.spec?.hostNetwork) addresses.claim(uid, ip);
      }
      for (const pod of list.items) onPod(pod);
      return list.metadata?.resourceVersion ?? "";
    };

    const initialVersion = await relist();
    for (const uid of files.podUIDs()) {
      if (!workers.has(uid)) {
        files.remove(uid);
        log(`removed the folder of pod ${uid}, which no longer exists`);
      }
    }

    let abortWatch: AbortController | undefined;
    const watchFrom = async (resourceVersion: string): Promise<void> => {
      if (stopped) return;
      try {
        abortWatch = await new Watch(kc).watch(
          "/api/v1/pods",
          { fieldSelector: `spec.nodeName=${options.nodeName}`, resourceVersion, allowWatchBookmarks: true },
          (type, raw) => {
            if (type === "ADDED" || type === "MODIFIED") onPod(podFromWatchEvent(raw));
            else if (type === "DELETED") onPodGone(podFromWatchEvent(raw).metadata?.uid ?? "");
          },
          (error) => {
            if (stopped) return;
            if (error) log(`pod watch ended (${describeError(error)}); listing again`);
            void restartWatch();
          },
        );
      } catch (error) {
        log(`pod watch failed to start (${describeError(error)}); listing again`);
        void restartWatch();
      }
    };
    let restarting = false;
    const restartWatch = async (): Promise<void> => {
      if (restarting) return;
      restarting = true;
      try {
        while (!stopped) {
          await new Promise((resolve) => setTimeout(resolve, RELIST_DELAY_MS));
          if (stopped) return;
          let resourceVersion: string;
          try {
            resourceVersion = await relist();
          } catch (error) {
            log(`listing pods failed (retrying): ${describeError(error)}`);
            continue;
          }
          restarting = false;
          await watchFrom(resourceVersion);
          return;
        }
      } finally {
        restarting = false;
      }
    };
    await watchFrom(initialVersion);

    let stopping: Promise<void> | undefined;
    const node = registration;
    const stop = async () => {
      stopped = true;
      abortWatch?.abort();
      const graceSeconds = options.stopGraceSeconds ?? 10;
      await Promise.all([...workers.values()].map((worker) => worker.agentStopping(graceSeconds)));
      try {
        await node.stop(options.deleteNodeOnStop ? "delete" : "mark-not-ready");
      } catch (error) {
        log(`could not update Node ${options.nodeName} on stop: ${describeError(error)}`);
      }
      process.removeListener("exit", killAllNow);
      unlock();
      log("stopped");
    };

    const latestLogFile = (
      pod: { namespace: string; name: string },
      container: string,
    ): string | undefined => {
      const logsDir = join(stateDir, "logs");
      const prefix = `${pod.namespace}_${pod.name}_`;
      const podDirs = readdirSync(logsDir)
        .filter((entry) => entry.startsWith(prefix) && existsSync(join(logsDir, entry, container)))
        .map((entry) => join(logsDir, entry, container))
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
      const dir = podDirs[0];
      if (!dir) return undefined;
      const runs = readdirSync(dir)
        .map((file) => Number.parseInt(file, 10))
        .filter((n) => Number.isInteger(n))
        .sort((a, b) => b - a);
      return runs[0] === undefined ? undefined : join(dir, `${runs[0]}.log`);
    };

    return {
      nodeName: options.nodeName,
      stateDir,
      podDir: (uid) => files.podDir(uid),
      containerLogFile: latestLogFile,
      readContainerLog(pod, container) {
        const file = latestLogFile(pod, container);
        return file && existsSync(file) ? readFileSync(file, "utf8") : "";
      },
      runningProcesses() {
        const result = new Map<string, number>();
        for (const worker of workers.values()) {
          const ref: PodRef = {
            namespace: worker.pod.metadata?.namespace ?? "",
            name: worker.pod.metadata?.name ?? "",
            uid: worker.uid,
          };
          for (const [container, pid] of worker.processIds()) result.set(`${podKey(ref)}/${container}`, pid);
        }
        return result;
      },
      stop() {
        stopping ??= stop();
        return stopping;
      },
    };
  } catch (error) {
    stopped = true;
    await Promise.all([...workers.values()].map((worker) => worker.agentStopping(0)));
    await registration?.stop("mark-not-ready").catch(() => {});
    process.removeListener("exit", killAllNow);
    unlock();
    throw error;
  }
}
