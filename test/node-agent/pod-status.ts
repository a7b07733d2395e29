import type {
  V1Container,
  V1ContainerState,
  V1ContainerStatus,
  V1Pod,
  V1PodCondition,
  V1PodStatus,
} from "@kubernetes/client-node";

// The pod status a kubelet would report, computed from what the agent knows about each container. Pure:
// the pod worker keeps the records, this decides phase, conditions and container statuses.

export interface TerminatedState {
  kind: "terminated";
  exitCode: number;
  /** Set when a signal ended the process; exitCode is then 128 + its number, as container runtimes report. */
  signal?: number;
  reason: string;
  message?: string;
  startedAt: Date;
  finishedAt: Date;
  containerID: string;
}

export type ContainerRunState =
  | { kind: "waiting"; reason: string; message?: string }
  | {
      kind: "running";
      startedAt: Date;
      /** The startup probe passed (or there is none). */
      started: boolean;
      ready: boolean;
      containerID: string;
    }
  | TerminatedState;

export interface ContainerRecord {
  name: string;
  state: ContainerRunState;
  lastState?: TerminatedState;
  restartCount: number;
}

export interface PodStatusInput {
  pod: V1Pod;
  podIP: string | undefined;
  hostIP: string;
  /** When the agent accepted the pod. */
  startTime: Date;
  /** Volumes materialised and address assigned. */
  sandboxReady: boolean;
  initContainers: readonly ContainerRecord[];
  containers: readonly ContainerRecord[];
  /** Set while the agent is stopped: its processes are gone, so nothing is ready. */
  agentStopped: boolean;
  now: Date;
}

/** Whole seconds, as the API server stores metav1.Time: keeps repeated writes byte-identical. */
export function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function containerState(state: ContainerRunState): V1ContainerState {
  switch (state.kind) {
    case "waiting":
      return { waiting: { reason: state.reason, message: state.message } };
    case "running":
      return { running: { startedAt: state.startedAt } };
    case "terminated":
      return { terminated: terminatedState(state) };
  }
}

function terminatedState(state: TerminatedState): NonNullable<V1ContainerState["terminated"]> {
  return {
    exitCode: state.exitCode,
    signal: state.signal,
    reason: state.reason,
    message: state.message,
    startedAt: state.startedAt,
    finishedAt: state.finishedAt,
    containerID: state.containerID,
  };
}

function containerStatus(
  spec: V1Container,
  record: ContainerRecord,
  agentStopped: boolean,
): V1ContainerStatus {
  const { state } = record;
  const containerID = state.kind === "waiting" ? record.lastState?.containerID : state.containerID;
  return {
    name: spec.name,
    image: spec.image ?? "",
    imageID: `local://${spec.image ?? ""}`,
    containerID,
    ready: state.kind === "running" && state.ready && !agentStopped,
    started: state.kind === "running" && state.started,
    restartCount: record.restartCount,
    state: containerState(state),
    lastState: record.lastState ? { terminated: terminatedState(record.lastState) } : {},
  };
}

const isTerminated = (record: ContainerRecord) => record.state.kind === "terminated";
const succeeded = (record: ContainerRecord) =>
  record.state.kind === "terminated" && record.state.exitCode === 0;

/**
 * The pod phase. Init containers must all succeed first; once every container has terminated the pod is
 * Succeeded (all exited 0) or Failed, when the restart policy will not run them again (Never, OnFailure
 * after success) or the pod is being deleted.
 */
export function podPhase(input: {
  restartPolicy: string;
  deleting: boolean;
  initContainers: readonly ContainerRecord[];
  containers: readonly ContainerRecord[];
}): "Pending" | "Running" | "Succeeded" | "Failed" {
  const { restartPolicy, deleting, initContainers, containers } = input;
  const initFailed = initContainers.some((r) => isTerminated(r) && !succeeded(r));
  if (initFailed && (restartPolicy === "Never" || deleting)) return "Failed";
  if (!initContainers.every(succeeded)) return "Pending";
  if (containers.length > 0 && containers.every(isTerminated)) {
    const allSucceeded = containers.every(succeeded);
    if (restartPolicy === "Never" || deleting) return allSucceeded ? "Succeeded" : "Failed";
    if (restartPolicy === "OnFailure" && allSucceeded) return "Succeeded";
    return "Running";
  }
  const anyStarted = containers.some(
    (r) => r.state.kind !== "waiting" || r.lastState !== undefined || r.restartCount > 0,
  );
  return anyStarted ? "Running" : "Pending";
}

function condition(
  previous: readonly V1PodCondition[],
  type: string,
  ok: boolean,
  now: Date,
  reason?: string,
  message?: string,
): V1PodCondition {
  const status = ok ? "True" : "False";
  const before = previous.find((c) => c.type === type);
  return {
    type,
    status,
    reason: ok ? undefined : reason,
    message: ok ? undefined : message,
    lastProbeTime: undefined,
    lastTransitionTime:
      before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : now,
  };
}

const namesOf = (records: readonly ContainerRecord[]) => `[${records.map((r) => r.name).join(" ")}]`;

const OWN_CONDITIONS = ["PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"];

/**
 * The full pod status: phase, the conditions a kubelet owns (other conditions such as PodScheduled are
 * kept as they are), addresses and container statuses.
 */
export function buildPodStatus(input: PodStatusInput): V1PodStatus {
  const { pod, now } = input;
  const spec = pod.spec;
  const previousStatus = pod.status ?? {};
  const previous = previousStatus.conditions ?? [];
  const restartPolicy = spec?.restartPolicy ?? "Always";
  const deleting = pod.metadata?.deletionTimestamp !== undefined;
  const phase = podPhase({
    restartPolicy,
    deleting,
    initContainers: input.initContainers,
    containers: input.containers,
  });
  const terminal = phase === "Succeeded" || phase === "Failed";

  const incompleteInit = input.initContainers.filter((r) => !succeeded(r));
  const initialized = incompleteInit.length === 0;
  const unready = input.containers.filter(
    (r) => !(r.state.kind === "running" && r.state.ready) || input.agentStopped,
  );
  const containersReady = initialized && unready.length === 0;
  const gates = (spec?.readinessGates ?? []).map((g) => g.conditionType);
  const openGates = gates.filter((type) => previous.find((c) => c.type === type)?.status !== "True");
  const ready = containersReady && openGates.length === 0;

  let readyReason = "ContainersNotReady";
  let readyMessage = `containers with unready status: ${namesOf(unready)}`;
  if (terminal) {
    readyReason = "PodCompleted";
    readyMessage = "";
  } else if (input.agentStopped) {
    readyReason = "NodeAgentStopped";
    readyMessage = "the local node agent running this pod is stopped";
  } else if (!initialized) {
    readyReason = "ContainersNotInitialized";
    readyMessage = `containers with incomplete status: ${namesOf(incompleteInit)}`;
  } else if (containersReady && openGates.length > 0) {
    readyReason = "ReadinessGatesNotReady";
    readyMessage = `corresponding condition of pod readiness gate ${JSON.stringify(openGates[0])} does not exist or is not True`;
  }

  const conditions: V1PodCondition[] = [
    ...previous.filter((c) => !OWN_CONDITIONS.includes(c.type)),
    condition(previous, "PodReadyToStartContainers", input.sandboxReady && !terminal, now),
    condition(
      previous,
      "Initialized",
      initialized,
      now,
      "ContainersNotInitialized",
      `containers with incomplete status: ${namesOf(incompleteInit)}`,
    ),
    condition(
      previous,
      "ContainersReady",
      containersReady && !terminal,
      now,
      readyReason,
      readyMessage || undefined,
    ),
    condition(previous, "Ready", ready && !terminal, now, readyReason, readyMessage || undefined),
  ];

  const recordFor = (records: readonly ContainerRecord[], name: string): ContainerRecord =>
    records.find((r) => r.name === name) ?? {
      name,
      state: { kind: "waiting", reason: "PodInitializing" },
      restartCount: 0,
    };
  const podIPs = input.podIP ? [{ ip: input.podIP }] : undefined;
  return {
    ...previousStatus,
    phase,
    conditions,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    podIP: input.podIP,
    podIPs,
    startTime: previousStatus.startTime ?? input.startTime,
    observedGeneration: pod.metadata?.generation ?? previousStatus.observedGeneration,
    initContainerStatuses: spec?.initContainers?.length
      ? spec.initContainers.map((c) =>
          containerStatus(c, recordFor(input.initContainers, c.name), input.agentStopped),
        )
      : undefined,
    containerStatuses: (spec?.containers ?? []).map((c) =>
      containerStatus(c, recordFor(input.containers, c.name), input.agentStopped),
    ),
  };
}
