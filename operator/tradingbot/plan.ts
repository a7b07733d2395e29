import {
  type BotKillSwitch,
  KILL_SWITCH_CHANGED_BY_ANNOTATION,
  type KillSwitchView,
  type PolicyViolation,
  rotationPeriodSeconds,
  type TradingBotSpec,
  type TradingBotStatus,
} from "../../api/v1alpha1/index.ts";
import type { NetworkEgress } from "../desired-state/bot-network-policy.ts";
import type { SecretVersions } from "../desired-state/bot-pod.ts";
import type { BotEvent } from "../kube/events.ts";
import { deepEqual, holdsDesiredFields } from "../kube/json-compare.ts";
import { timestampOf } from "../kube/time.ts";
import type { ConfigMap, KubeObject, NetworkPolicy, Pod, ServiceAccount } from "../kube/types.ts";
import { FINALIZER } from "../names.ts";
import type { TradingBotObject } from "../resources.ts";
import type { AuditAnchorCadence } from "./audit-anchor.ts";
import type { CredentialsCheck } from "./credentials.ts";
import {
  credentialsAge,
  credentialsRecord,
  type ObservedSecret,
  rotationDecision,
} from "./credentials-rotation.ts";
import { transitionEvents } from "./events.ts";
import { type BotTermination, decideHalt, type HaltDecision } from "./halt.ts";
import {
  botTermination,
  decidePodPlan,
  isPodReady,
  isTerminating,
  type PodPlan,
  podFailure,
  type RestartHistory,
} from "./pod-lifecycle.ts";
import type { ParsedSpec } from "./spec.ts";
import {
  computeBotStatus,
  computeTerminatingStatus,
  type RuntimeObservation,
  type StatusInput,
} from "./status.ts";

// The TradingBot reconcile's plan: from what the operator observed, the ordered list of writes. Pure;
// the reconciler (reconcile.ts) observes, asks this for the plan and performs it, and nothing else
// decides. The order is the safety contract, and each rule is a test in plan.test.ts:
//   a Spec or KillSwitch halt: the pod DELETE first (its cause is already on record in the API server),
//     then egress denied once the runtime no longer needs the exchange, then status;
//   a new risk latch: the latch in status first; the pod of a runtime that exited on a risk limit is
//     never deleted before the latch is on record;
//   a halt needs nothing else before its DELETE: no Secret lookup, no finalizer, no desired objects;
//   running: the finalizer, then the ServiceAccount, ConfigMap and NetworkPolicy, then the halt watch's
//     access, then the pod, then status;
//   deletion: the pod stopped, the halt watch's ClusterRoleBinding removed, then the finalizer.

/** What the reconcile builds from the spec, memoized by the reconciler; only called when needed. */
export interface DesiredObjects {
  serviceAccount(): ServiceAccount;
  configMap(spec: TradingBotSpec): ConfigMap;
  /** What the pod decisions compare (name, annotations with the hashes, image). */
  podSummary(spec: TradingBotSpec, versions: SecretVersions): Pod;
  pod(spec: TradingBotSpec, versions: SecretVersions): Pod;
  networkPolicy(egress: NetworkEgress): NetworkPolicy;
}

export interface PlanSettings {
  mirrorIntervalMs: number;
  /** When the audit chain head in status also goes into an AuditAnchor Event. */
  auditAnchor: AuditAnchorCadence;
  deletionMarginMs: number;
  /** No bot gets more time than this to stop: its DELETE's grace period is capped to it. */
  maxGracePeriodSeconds: number;
}

export type OwnedKind = "serviceAccounts" | "configMaps" | "networkPolicies";

/** The kind names of what a bot owns. */
export const OWNED_KINDS = {
  pods: "Pod",
  serviceAccounts: "ServiceAccount",
  configMaps: "ConfigMap",
  networkPolicies: "NetworkPolicy",
} as const;

/** What the bot's halt watch is granted through (created before each of its pods, never watched). */
export const HALT_WATCH_ACCESS_KINDS = ["Role", "RoleBinding", "ClusterRoleBinding"] as const;

/** An object with one of the bot's derived names that the bot does not control: never written. */
export interface NameConflict {
  kind: (typeof OWNED_KINDS)[keyof typeof OWNED_KINDS] | (typeof HALT_WATCH_ACCESS_KINDS)[number];
  namespace: string;
  name: string;
}

export interface BotObservation {
  bot: TradingBotObject;
  spec: ParsedSpec;
  /** The bot's spec.killSwitch, read leniently. */
  killSwitch: BotKillSwitch;
  killSwitches: KillSwitchView[];
  pod: Pod | undefined;
  /**
   * How the bot's last pod ended, when that pod was deleted before a reconcile saw it ended: its
   * termination message (a risk halt, which path stopped trading) goes with the pod.
   */
  goneTermination: BotTermination | undefined;
  owned: {
    serviceAccount: ServiceAccount | undefined;
    configMap: ConfigMap | undefined;
    networkPolicy: NetworkPolicy | undefined;
  };
  /** What the referenced Secrets allow; undefined until looked up (the plan says when it needs them). */
  credentials: CredentialsCheck | undefined;
  /** The exchange Secret as the metadata watch has it (no request): the key-rotation clock's input. */
  exchangeSecret: ObservedSecret | undefined;
  /** Objects with the bot's derived names that it does not control (its pod among them: not `pod` then). */
  conflicts: NameConflict[];
  /** What the TradingPolicies refuse in a valid spec; the bot runs only when nothing. */
  policyViolations: readonly PolicyViolation[];
  restarts: RestartHistory | undefined;
  runtime: RuntimeObservation | undefined;
  desired: DesiredObjects;
  settings: PlanSettings;
  now: number;
}

export type DeleteCause = "halt" | "stop" | "replace" | "restart" | "deletion" | "forcedDeletion";

export type BotWrite =
  | {
      kind: "deletePod";
      pod: Pod;
      /** Undefined: the pod's own grace period. */
      gracePeriodSeconds: number | undefined;
      /** A stop of trading: not held back by the client's rate limit. */
      urgent: boolean;
      cause: DeleteCause;
    }
  | { kind: "apply"; resource: OwnedKind; object: KubeObject }
  | { kind: "createPod"; pod: Pod }
  | { kind: "writeStatus"; status: TradingBotStatus; ignoreGone?: boolean }
  /** Before a pod is created: the Role, RoleBinding and ClusterRoleBinding its halt watch reads with. */
  | { kind: "grantHaltWatch" }
  /** On deletion: the ClusterRoleBinding, which garbage collection cannot remove with the bot. */
  | { kind: "revokeHaltWatch" }
  | { kind: "addFinalizer" }
  | { kind: "removeFinalizer" }
  | { kind: "recordEvents"; events: BotEvent[]; haltSource: string | undefined }
  | { kind: "noteRestart" }
  | { kind: "forgetRestarts" };

export interface BotPlan {
  writes: BotWrite[];
  /** Look again after this long even if nothing changes (grace periods, backoffs). */
  requeueAfterMs?: number;
  /** The plan stops trading: its retries and its next look go ahead of other work. */
  urgent: boolean;
}

/** The plan, or what must be observed first (the Secrets, only for a bot that may run). */
export type PlanResult = BotPlan | { needs: "credentials" };

/** While waiting on something the watches will report anyway, look again at least this often. */
const SAFETY_REQUEUE_MS = 30_000;
/** A name conflict is looked at again this often (someone else's object is outside the watches). */
export const CONFLICT_RETRY_MS = 30_000;
/** How long the status of a bot whose pod was just created may wait for the pod's first events. */
const STARTING_STATUS_SETTLE_MS = 10_000;
const DEFAULT_GRACE_SECONDS = 30;
/** A rotation that falls due is looked at this long after it does, so the clock has surely passed it. */
const ROTATION_DUE_MARGIN_MS = 1000;
/** Longer waits than a timer can hold (about 24.8 days) are cut to this; the resync looks again anyway. */
const MAX_ROTATION_WAIT_MS = 86_400_000;

export function planBot(o: BotObservation): PlanResult {
  if (o.bot.metadata.deletionTimestamp) return planDeletion(o);
  const halt = decideHalt({
    bot: { namespace: o.bot.metadata.namespace ?? "", labels: o.bot.metadata.labels },
    killSwitch: o.killSwitch,
    killSwitchChangedBy: o.bot.metadata.annotations?.[KILL_SWITCH_CHANGED_BY_ANNOTATION],
    current: o.bot.status?.halt,
    killSwitches: o.killSwitches,
    termination: botTermination(o.pod) ?? o.goneTermination,
    now: timestampOf(o.now),
  });
  if (halt.halted) return planHalt(o, halt);
  if (o.spec.ok && o.credentials === undefined) return { needs: "credentials" };
  return planRun(o, halt);
}

export function graceSecondsOf(pod: Pod | undefined): number {
  const grace = (pod?.spec as { terminationGracePeriodSeconds?: number } | undefined)
    ?.terminationGracePeriodSeconds;
  return typeof grace === "number" ? grace : DEFAULT_GRACE_SECONDS;
}

/** The grace period a stop gives the pod: its own, capped by the operator. */
function stopGraceSeconds(pod: Pod, settings: PlanSettings): number | undefined {
  const own = graceSecondsOf(pod);
  return own > settings.maxGracePeriodSeconds ? settings.maxGracePeriodSeconds : undefined;
}

/** The pod as the API server will have it once the DELETE is accepted: terminating, with its deadline. */
function afterDelete(pod: Pod, graceSeconds: number | undefined, now: number): Pod {
  const deadline = now + (graceSeconds ?? graceSecondsOf(pod)) * 1000;
  return { ...pod, metadata: { ...pod.metadata, deletionTimestamp: new Date(deadline).toISOString() } };
}

function deadlineOf(pod: Pod): number {
  return Date.parse(pod.metadata.deletionTimestamp as string);
}

/** The bot container has ended: nothing in the pod needs the exchange any more. */
function runtimeEnded(pod: Pod): boolean {
  return botTermination(pod) !== undefined || podFailure(pod) !== undefined;
}

function deleteWrite(pod: Pod, o: BotObservation, cause: DeleteCause, urgent: boolean): BotWrite {
  return { kind: "deletePod", pod, gracePeriodSeconds: stopGraceSeconds(pod, o.settings), urgent, cause };
}

/**
 * The key-rotation clock and CredentialsRotationDue (credentials-rotation.ts), with how long until the
 * condition turns True on its own: the bot is looked at again then, with no event to wake it.
 */
function credentialsRotation(o: BotObservation): {
  status: StatusInput["credentialsRotation"];
  recheckInMs: number | undefined;
} {
  if (!o.spec.ok) return { status: undefined, recheckInMs: undefined };
  const { exchange } = o.spec.spec;
  const record = credentialsRecord(o.bot.status?.credentials, o.exchangeSecret, o.now);
  if (exchange.rotateCredentialsEvery === undefined) {
    return { status: { record, due: undefined }, recheckInMs: undefined };
  }
  const schedule = {
    every: exchange.rotateCredentialsEvery,
    seconds: rotationPeriodSeconds(exchange.rotateCredentialsEvery),
  };
  const secret = `${o.bot.metadata.namespace ?? ""}/${exchange.credentialsSecretRef.name}`;
  const decision = rotationDecision(
    credentialsAge(o.bot.status?.credentials, o.exchangeSecret, o.now),
    schedule,
    secret,
  );
  return {
    status: { record, due: decision.condition },
    recheckInMs:
      decision.dueInMs === undefined
        ? undefined
        : Math.min(Math.ceil(decision.dueInMs) + ROTATION_DUE_MARGIN_MS, MAX_ROTATION_WAIT_MS),
  };
}

/** The sooner of two waits, either of which may be absent. */
function sooner(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined ? a : Math.min(a, b);
}

type CredentialsRotation = ReturnType<typeof credentialsRotation>;

function statusInput(
  o: BotObservation,
  halt: HaltDecision,
  podPlan: PodPlan,
  pod: Pod | undefined,
  rotation: CredentialsRotation,
): StatusInput {
  const { spec } = o;
  return {
    generation: o.bot.metadata.generation,
    deleting: false,
    current: o.bot.status,
    invalidSpec: spec.ok ? undefined : spec.issues,
    credentials: o.credentials,
    halt,
    plan: podPlan,
    restarts: o.restarts?.restarts ?? 0,
    exchangeSecret: spec.ok
      ? `${o.bot.metadata.namespace ?? ""}/${spec.spec.exchange.credentialsSecretRef.name}`
      : undefined,
    runtime: o.runtime,
    conflicts: o.conflicts,
    policyViolations: o.policyViolations,
    mirrorIntervalMs: o.settings.mirrorIntervalMs,
    auditAnchor: o.settings.auditAnchor,
    credentialsRotation: rotation.status,
    pod,
    now: timestampOf(o.now),
  };
}

const conflicting = (o: BotObservation, kind: NameConflict["kind"]) =>
  o.conflicts.some((conflict) => conflict.kind === kind);

function eventsWrite(o: BotObservation, status: TradingBotStatus, halt: HaltDecision, podPlan: PodPlan) {
  const events = transitionEvents(o.bot.status, status, halt, podPlan);
  return events.length > 0
    ? [{ kind: "recordEvents" as const, events, haltSource: halt.sources[0]?.source }]
    : [];
}

function statusWrite(current: TradingBotStatus | undefined, next: TradingBotStatus): BotWrite[] {
  return deepEqual(current ?? {}, next) ? [] : [{ kind: "writeStatus", status: next }];
}

function hasFinalizer(bot: TradingBotObject) {
  return (bot.metadata.finalizers ?? []).includes(FINALIZER);
}

/** An owned object, written only when it differs and only when no one else's object has its name. */
function applyIfChanged(
  o: BotObservation,
  resource: OwnedKind,
  desired: KubeObject,
  cached: KubeObject | undefined,
): BotWrite[] {
  if (conflicting(o, OWNED_KINDS[resource])) return [];
  return cached && holdsDesiredFields(desired, cached) ? [] : [{ kind: "apply", resource, object: desired }];
}

/**
 * Halted (by its own switch, a KillSwitch or a latched risk halt). The pod goes first; egress closes
 * once the runtime no longer needs the exchange (its pod gone, its container ended, its grace period
 * over, or at once for Freeze, which leaves orders as they are); then status. A new risk latch is the
 * exception: it is recorded before anything else, and nothing else happens if that write fails.
 */
function planHalt(o: BotObservation, halt: HaltDecision): BotPlan {
  const writes: BotWrite[] = [];
  const { pod } = o;
  const podPlan = decidePodPlan({ wanted: undefined, observed: pod, history: o.restarts, now: o.now });
  const rotation = credentialsRotation(o);
  let statusSoFar = o.bot.status;

  if (halt.newRiskLatch) {
    const latched = computeBotStatus(statusInput(o, halt, podPlan, pod, rotation));
    writes.push({ kind: "writeStatus", status: latched });
    statusSoFar = latched;
  }

  let podAfter = pod;
  const deleting = pod !== undefined && !isTerminating(pod);
  if (pod && deleting) {
    const write = deleteWrite(pod, o, "halt", true);
    writes.push(write);
    podAfter = afterDelete(pod, write.kind === "deletePod" ? write.gracePeriodSeconds : undefined, o.now);
  }

  const egressClosed =
    !podAfter ||
    runtimeEnded(podAfter) ||
    o.killSwitch.onEngage === "Freeze" ||
    deadlineOf(podAfter) <= o.now;
  if (egressClosed) {
    writes.push(
      ...applyIfChanged(
        o,
        "networkPolicies",
        o.desired.networkPolicy({ allowed: false }),
        o.owned.networkPolicy,
      ),
    );
  }

  // The record of a halt whose cause is already on record follows in the normal lane, at once: a fleet
  // halt's DELETEs then all go before any of its status writes, which cost the API server several times
  // as much. A runtime that has already ended (its own watch stopped it) needs no such haste, and its
  // termination message, which says which path stopped it, goes with its pod: status follows at once.
  const endedBefore = pod !== undefined && runtimeEnded(pod);
  if (deleting && !halt.newRiskLatch && !endedBefore) return { writes, requeueAfterMs: 0, urgent: false };

  const status = computeBotStatus(statusInput(o, halt, podPlan, podAfter, rotation));
  writes.push(...statusWrite(statusSoFar, status));
  writes.push(...eventsWrite(o, status, halt, podPlan));
  if (!hasFinalizer(o.bot)) writes.push({ kind: "addFinalizer" });

  let requeueAfterMs: number | undefined;
  if (podAfter) {
    const untilDeadline = deadlineOf(podAfter) - o.now;
    requeueAfterMs =
      !egressClosed && untilDeadline > 0
        ? Math.min(untilDeadline + 50, SAFETY_REQUEUE_MS)
        : SAFETY_REQUEUE_MS;
  }
  return { writes, requeueAfterMs: sooner(requeueAfterMs, rotation.recheckInMs), urgent: true };
}

/** Not halted: the bot runs if its spec is valid and its Secrets are complete, else its pod stops. */
function planRun(o: BotObservation, halt: HaltDecision): BotPlan {
  const { spec, credentials, pod, desired } = o;
  const mayRun =
    spec.ok && credentials?.ok === true && o.conflicts.length === 0 && o.policyViolations.length === 0;
  const versions = credentials?.ok ? credentials.versions : undefined;
  const writes: BotWrite[] = [];

  if (!hasFinalizer(o.bot)) writes.push({ kind: "addFinalizer" });

  let history = o.restarts;
  if (pod && !isTerminating(pod) && isPodReady(pod) && history) {
    writes.push({ kind: "forgetRestarts" });
    history = undefined;
  }
  const wanted = mayRun && versions ? desired.podSummary(spec.spec, versions) : undefined;
  const podPlan = decidePodPlan({ wanted, observed: pod, history, now: o.now });

  // The stopping half.
  let podAfter = pod;
  if (
    pod &&
    (podPlan.action === "stop" || podPlan.action === "replace" || podPlan.action === "restartAfterFailure")
  ) {
    const cause = podPlan.action === "restartAfterFailure" ? "restart" : podPlan.action;
    const write = deleteWrite(pod, o, cause, false);
    if (podPlan.action === "restartAfterFailure") writes.push({ kind: "noteRestart" });
    writes.push(write);
    podAfter = afterDelete(pod, write.kind === "deletePod" ? write.gracePeriodSeconds : undefined, o.now);
  }

  // Owned objects. Egress stays open while the bot may run, and while its pod stops within its grace
  // period (cancelling orders needs the exchange).
  writes.push(...applyIfChanged(o, "serviceAccounts", desired.serviceAccount(), o.owned.serviceAccount));
  if (spec.ok)
    writes.push(...applyIfChanged(o, "configMaps", desired.configMap(spec.spec), o.owned.configMap));
  const stoppingInGrace =
    podAfter !== undefined &&
    !runtimeEnded(podAfter) &&
    (!isTerminating(podAfter) || deadlineOf(podAfter) > o.now);
  const egress: NetworkEgress | undefined = !(mayRun || stoppingInGrace)
    ? { allowed: false }
    : spec.ok && credentials?.ok
      ? { allowed: true, spec: spec.spec, databasePort: credentials.databasePort }
      : undefined;
  if (egress) {
    writes.push(
      ...applyIfChanged(o, "networkPolicies", desired.networkPolicy(egress), o.owned.networkPolicy),
    );
  }

  // The starting half: after the ServiceAccount, ConfigMap and NetworkPolicy exist.
  if (podPlan.action === "create" && spec.ok && versions) {
    const created = desired.pod(spec.spec, versions);
    writes.push({ kind: "grantHaltWatch" }, { kind: "createPod", pod: created });
    podAfter = {
      ...created,
      metadata: { ...created.metadata, creationTimestamp: new Date(o.now).toISOString() },
    };
  }

  const rotation = credentialsRotation(o);
  const status = computeBotStatus(statusInput(o, halt, podPlan, podAfter, rotation));
  const settling = startingQuietly(o.bot.status, status, podAfter, o.now);
  if (settling !== undefined) return { writes, requeueAfterMs: settling, urgent: false };
  writes.push(...statusWrite(o.bot.status, status));
  writes.push(...eventsWrite(o, status, halt, podPlan));
  const next = nextLook(podPlan, podAfter, o.now, !mayRun);
  const requeueAfterMs =
    o.conflicts.length > 0 ? Math.min(next ?? CONFLICT_RETRY_MS, CONFLICT_RETRY_MS) : next;
  return { writes, requeueAfterMs: sooner(requeueAfterMs, rotation.recheckInMs), urgent: false };
}

/**
 * A new bot whose pod was created moments ago: its status waits (up to the settle time) for the pod to
 * become ready, so that it goes from nothing straight to Running — one write instead of two or three
 * while a fleet arrives. Returns how long to wait, or undefined to write now.
 */
function startingQuietly(
  current: TradingBotStatus | undefined,
  next: TradingBotStatus,
  pod: Pod | undefined,
  now: number,
): number | undefined {
  if (next.phase !== "Pending" || (current?.phase ?? "Pending") !== "Pending") return undefined;
  if (next.conditions?.find((c) => c.type === "Ready")?.reason !== "PodStarting") return undefined;
  const created = pod?.metadata.creationTimestamp ? Date.parse(pod.metadata.creationTimestamp) : now;
  const left = created + STARTING_STATUS_SETTLE_MS - now;
  return left > 0 ? left + 50 : undefined;
}

/** When to look again without being told: backoffs, and the end of a stopping pod's grace period. */
function nextLook(podPlan: PodPlan, podAfter: Pod | undefined, now: number, closing: boolean) {
  if (podPlan.action === "awaitRetry") return Math.max(0, podPlan.retryAt - now) + 50;
  if (podAfter && isTerminating(podAfter)) {
    const untilDeadline = deadlineOf(podAfter) - now;
    if (closing && untilDeadline > 0) return Math.min(untilDeadline + 50, SAFETY_REQUEUE_MS);
    return SAFETY_REQUEUE_MS;
  }
  return undefined;
}

/**
 * Deletion: stop the pod with its grace period (the runtime cancels its orders), then let the
 * TradingBot go. A pod still there after its grace period plus a margin is force-deleted (recorded in
 * an Event): deletion never blocks forever.
 */
function planDeletion(o: BotObservation): BotPlan {
  if (!hasFinalizer(o.bot)) return { writes: [], urgent: true };
  const writes: BotWrite[] = [];
  let pod = o.pod;
  if (pod && !isTerminating(pod)) {
    const write = deleteWrite(pod, o, "deletion", true);
    writes.push(write);
    pod = afterDelete(pod, write.kind === "deletePod" ? write.gracePeriodSeconds : undefined, o.now);
  }
  if (pod) {
    const status = computeTerminatingStatus(o.bot.status, o.bot.metadata.generation, pod, timestampOf(o.now));
    writes.push({ kind: "writeStatus", status, ignoreGone: true });
    const allowedMs =
      Math.min(graceSecondsOf(pod), o.settings.maxGracePeriodSeconds) * 1000 + o.settings.deletionMarginMs;
    const deadline = Date.parse(o.bot.metadata.deletionTimestamp as string) + allowedMs;
    if (o.now < deadline) {
      return { writes, requeueAfterMs: Math.min(deadline - o.now + 50, SAFETY_REQUEUE_MS), urgent: true };
    }
    writes.push({ kind: "deletePod", pod, gracePeriodSeconds: 0, urgent: true, cause: "forcedDeletion" });
    writes.push({
      kind: "recordEvents",
      haltSource: undefined,
      events: [
        {
          type: "Warning",
          reason: "ForcedDeletion",
          action: "Delete",
          note: `The bot pod ${pod.metadata.name} was still there ${Math.round(allowedMs / 1000)} s after deletion began (its grace period plus the deletion margin): force-deleted it. Check the exchange for orders it may have left open.`,
        },
      ],
    });
  }
  writes.push({ kind: "revokeHaltWatch" }, { kind: "removeFinalizer" }, { kind: "forgetRestarts" });
  return { writes, urgent: true };
}
