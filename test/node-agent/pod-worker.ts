import type { V1Container, V1ContainerStatus, V1Pod, V1Probe } from "@kubernetes/client-node";
import { ContainerConfigError, type ReferencedObjects, referencedObjectNames } from "./container-env.ts";
import { type ContainerLaunch, containerLaunch, ImageNotMappedError } from "./container-launch.ts";
import { type ContainerProcess, startContainerProcess } from "./container-process.ts";
import type { PodAddresses } from "./downward-api.ts";
import type { ImageCommands } from "./image-commands.ts";
import { type AgentApi, describeError, isConflict, isNotFound } from "./kube-api.ts";
import type { PodAddressPool } from "./pod-addresses.ts";
import type { PodFiles, PodRef } from "./pod-files.ts";
import { buildPodStatus, type ContainerRecord, type TerminatedState, wholeSeconds } from "./pod-status.ts";
import { startProbeLoop } from "./probes.ts";
import { readTerminationMessage } from "./termination-message.ts";
import { planVolumes } from "./volume-plan.ts";

// One pod's life on the agent: address, volumes, init containers in order, then the containers as process
// groups with their probes; status reported through pods/status; on deletion SIGTERM, the grace period,
// SIGKILL, the final status and the deletion itself. One worker per pod UID, and each container has at
// most one process at any time: the worker never starts a process once it has begun to stop.

export interface PodWorkerDeps {
  api: AgentApi;
  files: PodFiles;
  addresses: PodAddressPool;
  imageCommands: ImageCommands;
  hostIP: string;
  baseEnv: Readonly<Record<string, string>>;
  log: (line: string) => void;
}

const RETRY_MS = 2_000;
const BACKOFF_INITIAL_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;
/** A container that ran this long resets its restart back-off, as the kubelet's does. */
const BACKOFF_RESET_MS = 600_000;
/** Until the first success, readiness is probed this often so pods become Ready without waiting a period. */
const READINESS_FAST_MS = 500;
/** The kubelet's floor for a kill, even when a pod was force-deleted. */
const MINIMUM_GRACE_SECONDS = 2;
const DEFAULT_GRACE_SECONDS = 30;

/** Compares resourceVersions, which the API server issues as increasing integers. */
function isNewer(candidate: V1Pod, current: V1Pod): boolean {
  const a = candidate.metadata?.resourceVersion ?? "";
  const b = current.metadata?.resourceVersion ?? "";
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return true;
  return BigInt(a) >= BigInt(b);
}

const isTerminalPhase = (phase: string | undefined) => phase === "Succeeded" || phase === "Failed";

/**
 * The record of a container found in the status of a pod the agent takes over after a restart: its
 * process is gone, so a running container counts as terminated with unknown status (as the kubelet says
 * of containers it cannot find) and will be started again.
 */
export function adoptedRecord(
  name: string,
  previous: V1ContainerStatus | undefined,
  waitingReason: string,
  now: Date,
): ContainerRecord {
  const waiting = { kind: "waiting", reason: waitingReason } as const;
  if (!previous) return { name, state: waiting, restartCount: 0 };
  const running = previous.state?.running;
  const terminated = previous.state?.terminated;
  let lastState: TerminatedState | undefined;
  if (terminated) {
    lastState = {
      kind: "terminated",
      exitCode: terminated.exitCode,
      signal: terminated.signal,
      reason: terminated.reason ?? "Error",
      message: terminated.message,
      startedAt: terminated.startedAt ?? now,
      finishedAt: terminated.finishedAt ?? now,
      containerID: terminated.containerID ?? "",
    };
  } else if (running) {
    lastState = {
      kind: "terminated",
      exitCode: 137,
      reason: "ContainerStatusUnknown",
      message: "The container could not be located when the local node agent restarted",
      startedAt: running.startedAt ?? now,
      finishedAt: now,
      containerID: previous.containerID ?? "",
    };
  }
  if (!lastState) return { name, state: waiting, restartCount: previous.restartCount };
  return { name, state: waiting, lastState, restartCount: previous.restartCount + 1 };
}

type Mode = "running" | "deleting" | "removed" | "agent-stopping";

export class PodWorker {
  readonly uid: string;
  readonly #deps: PodWorkerDeps;
  #pod: V1Pod;
  readonly #ref: PodRef;
  #mode: Mode = "running";
  readonly #startTime = wholeSeconds(new Date());
  #podIP: string | undefined;
  #sandboxReady = false;
  /** A pod already Succeeded/Failed when the agent took it over: its status is left exactly as it is. */
  readonly #finishedBefore: boolean;
  readonly #initRecords: ContainerRecord[];
  readonly #records: ContainerRecord[];
  readonly #processes = new Map<string, ContainerProcess>();
  #killTimer: NodeJS.Timeout | undefined;
  #killDeadline = Number.POSITIVE_INFINITY;
  readonly #sleepers = new Set<() => void>();
  #statusDirty = false;
  #statusLoop: Promise<void> | undefined;
  #lastWrittenStatus = "";
  #gone = false;
  readonly #lastLogged = new Map<string, string>();
  readonly #running: Promise<void>;
  #stopping: Promise<void> | undefined;

  constructor(deps: PodWorkerDeps, pod: V1Pod) {
    this.#deps = deps;
    this.#pod = pod;
    this.uid = pod.metadata?.uid ?? "";
    this.#ref = { namespace: pod.metadata?.namespace ?? "", name: pod.metadata?.name ?? "", uid: this.uid };
    this.#finishedBefore = isTerminalPhase(pod.status?.phase);
    const now = wholeSeconds(new Date());
    const initContainers = pod.spec?.initContainers ?? [];
    const statusOf = (list: V1ContainerStatus[] | undefined, name: string) =>
      list?.find((s) => s.name === name);
    this.#initRecords = initContainers.map((c) =>
      adoptedRecord(c.name, statusOf(pod.status?.initContainerStatuses, c.name), "PodInitializing", now),
    );
    this.#records = (pod.spec?.containers ?? []).map((c) =>
      adoptedRecord(
        c.name,
        statusOf(pod.status?.containerStatuses, c.name),
        initContainers.length > 0 ? "PodInitializing" : "ContainerCreating",
        now,
      ),
    );
    // Deferred by a microtask, so that a pod already being deleted never starts anything.
    this.#running = Promise.resolve()
      .then(() => this.#run())
      .catch((error) => {
        deps.log(`pod ${this.#describe()}: ${describeError(error)}`);
      });
    if (pod.metadata?.deletionTimestamp) void this.#beginStop("deleting");
  }

  get pod(): V1Pod {
    return this.#pod;
  }

  /** Process ids of the containers running now, by container name. */
  processIds(): Map<string, number> {
    return new Map([...this.#processes].map(([name, process]) => [name, process.pid]));
  }

  #describe(): string {
    return `${this.#ref.namespace}/${this.#ref.name} (${this.uid})`;
  }

  /** A newer version of the pod from the watch. Deletion (deletionTimestamp) starts the shutdown. */
  update(pod: V1Pod): void {
    if (isNewer(pod, this.#pod)) this.#pod = pod;
    if (pod.metadata?.deletionTimestamp && this.#mode === "running") this.#beginStop("deleting");
    if (pod.metadata?.deletionTimestamp && this.#mode === "deleting")
      this.#shortenGrace(this.#graceSeconds());
  }

  /** The pod object is gone from the API server (e.g. force-deleted): stop its processes and clean up. */
  removed(): Promise<void> {
    this.#gone = true;
    if (this.#mode === "running") return this.#beginStop("removed");
    return this.#stopping ?? Promise.resolve();
  }

  /**
   * The agent is stopping: processes get SIGTERM and at most `maxGraceSeconds` before SIGKILL; the pod is
   * reported not ready and left for the next agent run (a deletion already under way is completed).
   */
  agentStopping(maxGraceSeconds: number): Promise<void> {
    if (this.#mode === "running") return this.#beginStop("agent-stopping", maxGraceSeconds);
    this.#shortenGrace(maxGraceSeconds);
    return this.#stopping ?? Promise.resolve();
  }

  /** Sends SIGKILL to every process now (the agent's process is exiting). */
  killNow(): void {
    for (const process of this.#processes.values()) process.signalGroup("SIGKILL");
  }

  #graceSeconds(): number {
    const fromDeletion = this.#pod.metadata?.deletionGracePeriodSeconds;
    const grace = fromDeletion ?? this.#pod.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
    return Math.max(grace, MINIMUM_GRACE_SECONDS);
  }

  #shortenGrace(seconds: number): void {
    const deadline = Date.now() + seconds * 1000;
    if (deadline >= this.#killDeadline) return;
    this.#killDeadline = deadline;
    clearTimeout(this.#killTimer);
    this.#killTimer = setTimeout(() => this.killNow(), Math.max(0, deadline - Date.now()));
  }

  #beginStop(mode: Exclude<Mode, "running">, maxGraceSeconds?: number): Promise<void> {
    this.#mode = mode;
    for (const wake of this.#sleepers) wake();
    this.#stopping = this.#stop(maxGraceSeconds).catch((error) => {
      this.#deps.log(`pod ${this.#describe()}: stopping failed: ${describeError(error)}`);
    });
    return this.#stopping;
  }

  async #stop(maxGraceSeconds: number | undefined): Promise<void> {
    const grace = Math.min(this.#graceSeconds(), maxGraceSeconds ?? Number.POSITIVE_INFINITY);
    for (const record of [...this.#initRecords, ...this.#records]) {
      if (record.state.kind === "running") record.state.ready = false;
    }
    if (this.#processes.size > 0) {
      this.#deps.log(
        `pod ${this.#describe()}: SIGTERM to ${this.#processes.size} process group(s), grace ${grace}s`,
      );
    }
    for (const process of this.#processes.values()) process.signalGroup("SIGTERM");
    this.#shortenGrace(grace);
    this.#requestStatus();
    await this.#running;
    clearTimeout(this.#killTimer);
    await this.#flushStatus();
    if (this.#mode === "agent-stopping") return;
    if (this.#mode === "deleting" && !this.#gone) await this.#finishDeletion();
    this.#deps.files.remove(this.uid);
    this.#deps.addresses.release(this.uid);
  }

  /** Deletes the object (UID precondition), retrying a few times: a pod left Terminating blocks its owner. */
  async #finishDeletion(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#deps.api.finishPodDeletion(this.#ref.namespace, this.#ref.name, this.uid);
        this.#deps.log(`pod ${this.#describe()}: deleted`);
        return;
      } catch (error) {
        if (attempt >= 5) throw error;
        this.#deps.log(`pod ${this.#describe()}: deletion failed (retrying): ${describeError(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
      }
    }
  }

  /** The mode now, read through a call so that narrowing before an `await` does not stick. */
  #currentMode(): Mode {
    return this.#mode;
  }

  /** Sleeps unless the worker starts stopping meanwhile. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }

  async #run(): Promise<void> {
    if (this.#finishedBefore || this.#mode !== "running") return;
    const pod = this.#pod;
    const { addresses, hostIP } = this.#deps;
    if (pod.spec?.hostNetwork) {
      this.#podIP = hostIP;
    } else {
      const previousIP = pod.status?.podIP;
      this.#podIP =
        previousIP && addresses.claim(this.uid, previousIP) ? previousIP : addresses.allocate(this.uid);
    }
    this.#requestStatus();

    let volumeDirs: Map<string, string> | undefined;
    while (this.#mode === "running" && volumeDirs === undefined) {
      try {
        const objects = await this.#fetchObjects();
        const tokens = await this.#fetchTokens();
        if (this.#mode !== "running") return;
        const planned = planVolumes(this.#pod, objects, this.#addresses(), tokens);
        const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map(
          (c) => c.name,
        );
        volumeDirs = this.#deps.files.materialise(this.uid, planned, names);
      } catch (error) {
        const message = `MountVolume failed: ${describeError(error)}`;
        this.#logChange("volumes", message);
        this.#waitAll("ContainerCreating", message);
        await this.#sleep(RETRY_MS);
      }
    }
    if (volumeDirs === undefined) return;
    this.#sandboxReady = true;
    const initContainers = pod.spec?.initContainers ?? [];
    for (const record of this.#initRecords) record.state = { kind: "waiting", reason: "PodInitializing" };
    for (const record of this.#records) {
      const reason = initContainers.length > 0 ? "PodInitializing" : "ContainerCreating";
      record.state = { kind: "waiting", reason };
    }
    this.#requestStatus();

    for (const [index, container] of initContainers.entries()) {
      const record = this.#initRecords[index];
      if (!record) return;
      const succeeded = await this.#runContainer(container, record, volumeDirs, "init");
      if (!succeeded) return;
    }
    for (const record of this.#records) {
      if (record.state.kind === "waiting" && record.state.reason === "PodInitializing") {
        record.state = { kind: "waiting", reason: "ContainerCreating" };
      }
    }
    await Promise.all(
      (pod.spec?.containers ?? []).map((container, index) => {
        const record = this.#records[index];
        return record ? this.#runContainer(container, record, volumeDirs, "main") : undefined;
      }),
    );
  }

  /** Logs `line` unless it is what was last logged about `topic` (retries repeat the same problem). */
  #logChange(topic: string, line: string): void {
    if (this.#lastLogged.get(topic) === line) return;
    this.#lastLogged.set(topic, line);
    this.#deps.log(`pod ${this.#describe()}: ${line}`);
  }

  #addresses(): PodAddresses {
    return { podIP: this.#podIP ?? "", hostIP: this.#deps.hostIP };
  }

  #waitAll(reason: string, message: string): void {
    for (const record of [...this.#initRecords, ...this.#records]) {
      if (record.state.kind === "waiting") record.state = { kind: "waiting", reason, message };
    }
    this.#requestStatus();
  }

  async #fetchObjects(): Promise<ReferencedObjects> {
    const namespace = this.#ref.namespace;
    const names = referencedObjectNames(this.#pod);
    const { api } = this.#deps;
    const configMaps = new Map(
      await Promise.all(
        names.configMaps.map(async (name) => [name, await api.readConfigMap(namespace, name)] as const),
      ),
    );
    const secrets = new Map(
      await Promise.all(
        names.secrets.map(async (name) => [name, await api.readSecret(namespace, name)] as const),
      ),
    );
    return { configMaps, secrets };
  }

  async #fetchTokens(): Promise<Map<string, string>> {
    const tokens = new Map<string, string>();
    for (const volume of this.#pod.spec?.volumes ?? []) {
      for (const source of volume.projected?.sources ?? []) {
        const request = source.serviceAccountToken;
        if (!request) continue;
        tokens.set(request.path, await this.#deps.api.serviceAccountToken(this.#pod, request));
      }
    }
    return tokens;
  }

  /**
   * Runs one container until it is done for good (per the restart policy) or the worker stops. Returns
   * whether its last run succeeded (exit code 0): init containers gate the next step on it.
   */
  async #runContainer(
    container: V1Container,
    record: ContainerRecord,
    volumeDirs: Map<string, string>,
    kind: "init" | "main",
  ): Promise<boolean> {
    const restartPolicy = this.#pod.spec?.restartPolicy ?? "Always";
    let consecutiveFailures = 0;
    for (;;) {
      if (this.#mode !== "running") return false;
      let launch: ContainerLaunch;
      try {
        const objects = await this.#fetchObjects();
        launch = containerLaunch({
          pod: this.#pod,
          container,
          addresses: this.#addresses(),
          objects,
          volumeDirs,
          terminationMessageFile: this.#deps.files.terminationMessageFile(this.uid, container.name),
          imageCommands: this.#deps.imageCommands,
          baseEnv: this.#deps.baseEnv,
          defaultCwd: this.#deps.files.podDir(this.uid),
        });
      } catch (error) {
        const reason =
          error instanceof ImageNotMappedError
            ? "ErrImageNeverPull"
            : error instanceof ContainerConfigError
              ? "CreateContainerConfigError"
              : "CreateContainerError";
        record.state = { kind: "waiting", reason, message: describeError(error) };
        this.#logChange(
          container.name,
          `container ${container.name} waiting: ${reason}: ${describeError(error)}`,
        );
        this.#requestStatus();
        await this.#sleep(RETRY_MS);
        continue;
      }
      // Nothing awaited between this check and the spawn: a stop cannot slip in between.
      if (this.#mode !== "running") return false;
      const messageFile = this.#deps.files.resetTerminationMessage(this.uid, container.name);
      const logFile = this.#deps.files.logFile(this.#ref, container.name, record.restartCount);
      const process = startContainerProcess({
        argv: launch.argv,
        env: launch.env,
        cwd: launch.cwd,
        logFile,
        recordFile: this.#deps.files.processRecordFile(this.uid, container.name),
      });
      this.#processes.set(container.name, process);
      const startedAt = wholeSeconds(new Date());
      const containerID = `local://${process.pid}`;
      const startupProbe = kind === "main" ? container.startupProbe : undefined;
      const readinessProbe = kind === "main" ? container.readinessProbe : undefined;
      record.state = {
        kind: "running",
        startedAt,
        containerID,
        started: !startupProbe,
        ready: !startupProbe && !readinessProbe,
      };
      this.#deps.log(`pod ${this.#describe()}: container ${container.name} started (pid ${process.pid})`);
      this.#requestStatus();
      const stopProbes = kind === "main" ? this.#startProbes(container, record, process) : async () => {};

      const exit = await process.exited;
      await stopProbes();
      this.#processes.delete(container.name);
      const finishedAt = wholeSeconds(new Date());
      this.#deps.log(
        `pod ${this.#describe()}: container ${container.name} exited with code ${exit.exitCode}` +
          (exit.startError ? ` (${exit.startError})` : ""),
      );
      // The agent's own shutdown is not the container's doing: its status stays as it was.
      if (this.#currentMode() === "agent-stopping") return false;
      const message =
        exit.startError ??
        readTerminationMessage({
          messageFile,
          policy: container.terminationMessagePolicy,
          exitCode: exit.exitCode,
          logFile,
        });
      const terminated: TerminatedState = {
        kind: "terminated",
        exitCode: exit.exitCode,
        signal: exit.signal,
        reason: exit.startError ? "StartError" : exit.exitCode === 0 ? "Completed" : "Error",
        message,
        startedAt,
        finishedAt,
        containerID,
      };
      record.state = terminated;
      this.#requestStatus();

      const failed = exit.exitCode !== 0;
      const restarts =
        this.#currentMode() === "running" &&
        (kind === "init"
          ? failed && restartPolicy !== "Never"
          : restartPolicy === "Always" || (restartPolicy === "OnFailure" && failed));
      if (!restarts) return !failed;
      consecutiveFailures =
        finishedAt.getTime() - startedAt.getTime() >= BACKOFF_RESET_MS ? 0 : consecutiveFailures;
      const delay = Math.min(BACKOFF_INITIAL_MS * 2 ** consecutiveFailures, BACKOFF_MAX_MS);
      consecutiveFailures++;
      record.lastState = terminated;
      record.restartCount++;
      record.state = {
        kind: "waiting",
        reason: "CrashLoopBackOff",
        message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${container.name} pod=${this.#ref.name}_${this.#ref.namespace}(${this.uid})`,
      };
      this.#requestStatus();
      await this.#sleep(delay);
    }
  }

  /** Readiness, liveness and startup probes of a running container; returns a function stopping them. */
  #startProbes(
    container: V1Container,
    record: ContainerRecord,
    process: ContainerProcess,
  ): () => Promise<void> {
    const podIP = this.#podIP ?? "";
    const loops: Array<{ stop(): Promise<void> }> = [];
    const setRunning = (change: (state: Extract<ContainerRecord["state"], { kind: "running" }>) => void) => {
      if (record.state.kind !== "running") return;
      change(record.state);
      this.#requestStatus();
    };
    const kill = (probeName: string, probe: V1Probe, detail: string) => {
      const grace =
        probe.terminationGracePeriodSeconds ??
        this.#pod.spec?.terminationGracePeriodSeconds ??
        DEFAULT_GRACE_SECONDS;
      this.#deps.log(
        `pod ${this.#describe()}: container ${container.name} failed its ${probeName} probe (${detail}): killing it, grace ${grace}s`,
      );
      process.signalGroup("SIGTERM");
      const timer = setTimeout(() => process.signalGroup("SIGKILL"), grace * 1000);
      void process.exited.then(() => clearTimeout(timer));
    };
    const startMainProbes = () => {
      if (this.#mode !== "running") return;
      const { readinessProbe, livenessProbe } = container;
      if (readinessProbe) {
        loops.push(
          startProbeLoop({
            probe: readinessProbe,
            podIP,
            container,
            fastUntilFirstSuccessMs: READINESS_FAST_MS,
            onVerdict: (healthy) =>
              setRunning((state) => {
                state.ready = healthy && this.#mode === "running";
              }),
          }),
        );
      }
      if (livenessProbe) {
        loops.push(
          startProbeLoop({
            probe: livenessProbe,
            podIP,
            container,
            onVerdict: (healthy, detail) => {
              if (!healthy) kill("liveness", livenessProbe, detail);
            },
          }),
        );
      }
    };
    const { startupProbe } = container;
    if (startupProbe) {
      const startup = startProbeLoop({
        probe: startupProbe,
        podIP,
        container,
        onVerdict: (healthy, detail) => {
          if (!healthy) {
            kill("startup", startupProbe, detail);
            return;
          }
          setRunning((state) => {
            state.started = true;
            if (!container.readinessProbe) state.ready = this.#mode === "running";
          });
          void startup.stop();
          startMainProbes();
        },
      });
      loops.push(startup);
    } else {
      startMainProbes();
    }
    return async () => {
      await Promise.all(loops.map((loop) => loop.stop()));
    };
  }

  #requestStatus(): void {
    if (this.#finishedBefore) return;
    this.#statusDirty = true;
    this.#statusLoop ??= this.#writeStatusLoop().finally(() => {
      this.#statusLoop = undefined;
    });
  }

  async #flushStatus(): Promise<void> {
    while (this.#statusLoop) await this.#statusLoop;
  }

  async #writeStatusLoop(): Promise<void> {
    let failures = 0;
    while (this.#statusDirty && !this.#gone) {
      this.#statusDirty = false;
      try {
        await this.#writeStatus();
        failures = 0;
      } catch (error) {
        failures++;
        this.#deps.log(`pod ${this.#describe()}: status update failed (retrying): ${describeError(error)}`);
        if (failures >= 5) return;
        this.#statusDirty = true;
        await new Promise((resolve) => setTimeout(resolve, 500 * failures));
      }
    }
  }

  async #writeStatus(): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const status = buildPodStatus({
        pod: this.#pod,
        podIP: this.#podIP,
        hostIP: this.#deps.hostIP,
        startTime: this.#startTime,
        sandboxReady: this.#sandboxReady,
        initContainers: this.#initRecords,
        containers: this.#records,
        agentStopped: this.#mode === "agent-stopping",
        now: wholeSeconds(new Date()),
      });
      const serialized = JSON.stringify(status);
      if (serialized === this.#lastWrittenStatus) return;
      try {
        const updated = await this.#deps.api.replacePodStatus({ ...this.#pod, status });
        if (isNewer(updated, this.#pod)) this.#pod = updated;
        this.#lastWrittenStatus = serialized;
        return;
      } catch (error) {
        if (isNotFound(error)) {
          this.#gone = true;
          return;
        }
        if (!isConflict(error)) throw error;
        const fresh = await this.#deps.api.readPod(this.#ref.namespace, this.#ref.name);
        if (fresh.metadata?.uid !== this.uid) {
          this.#gone = true;
          return;
        }
        this.#pod = fresh;
      }
    }
    throw new Error("pod status kept conflicting with other writers");
  }
}
