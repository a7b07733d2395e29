import type {
  BotConditionType,
  BotPhase,
  Condition,
  CredentialsStatus,
  RuntimeReport,
  RuntimeStatus,
  TradingBotStatus,
} from "../../api/v1alpha1/index.ts";
import { deepEqual } from "../kube/json-compare.ts";
import { timestampOf } from "../kube/time.ts";
import type { Pod } from "../kube/types.ts";
import { type AuditAnchorCadence, nextAuditStatus } from "./audit-anchor.ts";
import type { CredentialsCheck } from "./credentials.ts";
import type { RotationConditionValue } from "./credentials-rotation.ts";
import type { HaltDecision } from "./halt.ts";
import { isPodReady, isTerminating, type PodFailure, type PodPlan } from "./pod-lifecycle.ts";

// The TradingBot's status, computed from what the operator observed and decided. Pure, and stable: the
// same inputs give the same status, lastTransitionTime only moves when a condition's status does, and
// facts the operator has no fresh word on (the runtime's report) are carried over, so a resync of an
// unchanged bot computes exactly the status it already has and writes nothing.

/** What the last poll of the runtime's /status returned, for the pod with this uid. */
export type RuntimeObservation =
  | { podUid: string; reachable: true; report: RuntimeReport }
  | { podUid: string; reachable: false; error: string; reachedBefore: boolean };

export interface StatusInput {
  generation: number | undefined;
  deleting: boolean;
  current: TradingBotStatus | undefined;
  /** Objects with the bot's derived names that it does not control. */
  conflicts?: readonly { kind: string; namespace: string; name: string }[];
  /** What the TradingPolicies refuse in the spec. */
  policyViolations?: readonly { message: string }[];
  /** The zod issues of a spec that does not parse. */
  invalidSpec: string | undefined;
  /** What the referenced Secrets allow; undefined when they were not looked at (invalid spec, halted). */
  credentials: CredentialsCheck | undefined;
  halt: HaltDecision | undefined;
  /** The bot's pod as it is once the planned action is made (a deleted pod still terminates). */
  pod: Pod | undefined;
  plan: PodPlan;
  restarts: number;
  exchangeSecret: string | undefined;
  runtime: RuntimeObservation | undefined;
  /** A report that differs only in its heartbeat (and audit chain head) is mirrored at most this often. */
  mirrorIntervalMs: number;
  /** How often the audit chain head mirrored into status.audit also goes into an AuditAnchor Event. */
  auditAnchor: AuditAnchorCadence;
  /**
   * The key-rotation clock (status.credentials) and, with a schedule, CredentialsRotationDue (none
   * without one); undefined when the spec says nothing (it does not parse): what status says is kept.
   */
  credentialsRotation?: { record: CredentialsStatus | undefined; due: RotationConditionValue | undefined };
  now: string;
}

interface ConditionValue {
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

const UNSUPERVISED_TEXT =
  "The runtime halted itself and cancelled its orders: it could not confirm its TradingBot and the KillSwitches " +
  "with the API server for spec.killSwitch.haltIfUnsupervisedFor.";

function failureText(failure: PodFailure): string {
  const code = failure.exitCode >= 0 ? `exited with code ${failure.exitCode}` : "ended";
  return `the ${failure.container} container ${code} (${failure.reason})`;
}

function capitalized(text: string) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function readiness(input: StatusInput): { phase: BotPhase; ready: ConditionValue } {
  const { halt, credentials, plan, pod } = input;
  const notReady = (reason: string, message: string): ConditionValue => ({
    status: "False",
    reason,
    message,
  });
  if (input.deleting) {
    return {
      phase: "Terminating",
      ready: notReady("Deleting", "The TradingBot is being deleted: its pod is stopping."),
    };
  }
  if (halt?.halted) {
    const [primary] = halt.sources;
    return {
      phase: pod ? "Halting" : "Halted",
      ready: notReady("Halted", `Halted by ${primary?.source}: ${primary?.reason}`),
    };
  }
  if (input.invalidSpec !== undefined) {
    return {
      phase: "Degraded",
      ready: notReady("InvalidSpec", `The spec is not valid: ${input.invalidSpec}`),
    };
  }
  const [violation, ...moreViolations] = input.policyViolations ?? [];
  if (violation) {
    const more =
      moreViolations.length > 0
        ? ` (and ${moreViolations.length} more: ${moreViolations.map((v) => v.message).join("; ")})`
        : "";
    return {
      phase: "Degraded",
      ready: notReady(
        "PolicyViolation",
        `${violation.message}${more}. The bot does not run until its spec or the TradingPolicy allows it.`,
      ),
    };
  }
  const [conflict, ...more] = input.conflicts ?? [];
  if (conflict) {
    const others = more.map((c) => `${c.kind} ${c.namespace}/${c.name}`);
    return {
      phase: "Degraded",
      ready: notReady(
        "NameConflict",
        `A ${conflict.kind} named ${conflict.namespace}/${conflict.name} exists and is not controlled by this ` +
          `TradingBot${others.length > 0 ? ` (nor ${others.join(", ")})` : ""}; the operator never writes over ` +
          "an object it does not control. Delete or rename it, or give the TradingBot another name.",
      ),
    };
  }
  if (credentials && !credentials.ok) {
    return { phase: "Degraded", ready: notReady("CredentialsUnavailable", credentials.message) };
  }
  switch (plan.action) {
    case "blocked":
      return {
        phase: "Degraded",
        ready: notReady(
          "UnsafeCredentials",
          `The runtime refused the exchange credentials (exit code ${plan.failure.exitCode}): the key can withdraw funds ` +
            `or is unusable. Put a trade-only key in Secret ${input.exchangeSecret}; the bot restarts when the Secret changes.`,
        ),
      };
    case "awaitRetry": {
      const when = timestampOf(plan.retryAt);
      if (plan.failure?.unsupervised)
        return {
          phase: "Pending",
          ready: notReady("Unsupervised", `${UNSUPERVISED_TEXT} Restart at ${when}.`),
        };
      return plan.failure
        ? {
            phase: "Degraded",
            ready: notReady(
              "PodFailed",
              `${capitalized(failureText(plan.failure))}; restart ${input.restarts + 1} at ${when}.`,
            ),
          }
        : { phase: "Pending", ready: notReady("BackingOff", `Restart ${input.restarts} at ${when}.`) };
    }
    case "restartAfterFailure":
      if (plan.failure.unsupervised)
        return { phase: "Pending", ready: notReady("Unsupervised", `${UNSUPERVISED_TEXT} Restarting it.`) };
      return { phase: "Pending", ready: notReady("Restarting", `Restarting: ${failureText(plan.failure)}.`) };
    case "replace":
      return { phase: "Pending", ready: notReady("Restarting", `Replacing the pod: ${plan.detail}.`) };
    case "awaitDeletion":
      return {
        phase: "Pending",
        ready: notReady("Restarting", "Waiting for the previous pod to terminate."),
      };
    default:
      if (plan.action !== "create" && pod && !isTerminating(pod) && isPodReady(pod)) {
        return {
          phase: "Running",
          ready: { status: "True", reason: "PodReady", message: "The bot pod is ready." },
        };
      }
      // One message from creation to readiness (scheduled, started, running): no status write per step.
      return { phase: "Pending", ready: notReady("PodStarting", "Waiting for the bot pod to become ready.") };
  }
}

function haltedCondition(input: StatusInput): ConditionValue {
  const halt = input.halt;
  if (!halt?.halted) return { status: "False", reason: "NotHalted", message: "" };
  const [primary] = halt.sources;
  const kind = primary?.source.startsWith("KillSwitch/") ? "KillSwitch" : (primary?.source ?? "Spec");
  return { status: "True", reason: kind, message: `${primary?.source}: ${primary?.reason}` };
}

/** A halted bot's Secrets are not looked at (a halt needs nothing): what the condition said stays. */
function credentialsCondition(input: StatusInput, current: Condition | undefined): ConditionValue {
  const check = input.credentials;
  if (!check && input.invalidSpec !== undefined) {
    return { status: "Unknown", reason: "NotChecked", message: "The spec is not valid." };
  }
  if (!check) {
    return current
      ? { status: current.status, reason: current.reason, message: current.message }
      : { status: "Unknown", reason: "NotChecked", message: "Not checked while the bot is halted." };
  }
  if (check.ok) return { status: "True", reason: "SecretsFound", message: "" };
  return { status: "False", reason: check.reason, message: check.message };
}

const NOT_REPORTING: ConditionValue = {
  status: "False",
  reason: "NotReporting",
  message: "The runtime has not answered GET /status on its pod's address yet.",
};

/**
 * A runtime that never answered is NotReporting, one stable value from the moment its pod is ready
 * (so an unreachable pod costs no extra status write); one that answered and then stopped is
 * Unreachable, with the failure. With no poll yet for this pod, what the status says is kept unless it
 * speaks of no pod at all (after an operator restart the runtime is still what it was).
 */
function runtimeReachableCondition(input: StatusInput, current: Condition | undefined): ConditionValue {
  const { pod, runtime } = input;
  if (!pod || isTerminating(pod) || !isPodReady(pod)) {
    return { status: "False", reason: "NoReadyPod", message: "No ready bot pod to ask." };
  }
  if (!runtime || runtime.podUid !== pod.metadata.uid) {
    return current && current.reason !== "NoReadyPod"
      ? { status: current.status, reason: current.reason, message: current.message }
      : NOT_REPORTING;
  }
  if (runtime.reachable) return { status: "True", reason: "Reporting", message: "" };
  if (!runtime.reachedBefore) return NOT_REPORTING;
  return { status: "False", reason: "Unreachable", message: runtime.error };
}

/**
 * status.runtime from the runtime's report, and whether this report is being mirrored now (`fresh`): the
 * audit chain head rides along with such a write and never causes one of its own, so anchoring adds no
 * status write (a head that moved waits at most --runtime-mirror-interval, like the heartbeat).
 */
function mirroredRuntime(input: StatusInput): { runtime: RuntimeStatus | undefined; fresh: boolean } {
  const current = input.current?.runtime;
  const observation = input.runtime;
  if (!observation?.reachable || observation.podUid !== input.pod?.metadata.uid) {
    return { runtime: current, fresh: false };
  }
  const report = observation.report;
  const next: RuntimeStatus = {
    heartbeat: report.heartbeat,
    state: report.state,
    openOrders: report.openOrders,
    position: report.position,
    realizedPnl: report.realizedPnl,
  };
  if (report.equity !== undefined) next.equity = report.equity;
  if (current) {
    const { heartbeat: _a, ...restNext } = next;
    const { heartbeat: _b, ...restCurrent } = current;
    const onlyHeartbeat = deepEqual(restNext, restCurrent);
    const age = current.heartbeat
      ? Date.parse(input.now) - Date.parse(current.heartbeat)
      : Number.POSITIVE_INFINITY;
    if (onlyHeartbeat && age < input.mirrorIntervalMs) return { runtime: current, fresh: false };
  }
  return { runtime: next, fresh: !deepEqual(next, current) };
}

function mirroredAudit(input: StatusInput, fresh: boolean) {
  const current = input.current?.audit;
  if (!fresh || !input.runtime?.reachable) return current;
  return nextAuditStatus(current, input.runtime.report.audit, input.now, input.auditAnchor);
}

function condition(
  type: BotConditionType,
  value: ConditionValue,
  previous: Condition | undefined,
  generation: number | undefined,
  now: string,
): Condition {
  const result: Condition = {
    type,
    status: value.status,
    lastTransitionTime: previous && previous.status === value.status ? previous.lastTransitionTime : now,
    reason: value.reason,
    message: value.message.slice(0, 32768),
  };
  if (generation !== undefined) result.observedGeneration = generation;
  return result;
}

export function computeBotStatus(input: StatusInput): TradingBotStatus {
  const previous = (type: BotConditionType) => input.current?.conditions?.find((c) => c.type === type);
  const { phase, ready } = readiness(input);
  const g = input.generation;
  const conditions = [
    condition("Ready", ready, previous("Ready"), g, input.now),
    condition("Halted", haltedCondition(input), previous("Halted"), g, input.now),
    condition(
      "CredentialsAvailable",
      credentialsCondition(input, previous("CredentialsAvailable")),
      previous("CredentialsAvailable"),
      g,
      input.now,
    ),
    condition(
      "RuntimeReachable",
      runtimeReachableCondition(input, previous("RuntimeReachable")),
      previous("RuntimeReachable"),
      g,
      input.now,
    ),
  ];
  const rotation = input.credentialsRotation;
  const dueBefore = previous("CredentialsRotationDue");
  const due = rotation ? rotation.due : dueBefore;
  if (due) conditions.push(condition("CredentialsRotationDue", due, dueBefore, g, input.now));
  const status: TradingBotStatus = { phase, conditions };
  if (g !== undefined) status.observedGeneration = g;
  if (input.pod) status.podName = input.pod.metadata.name;
  status.halt = input.halt ? input.halt.halt : (input.current?.halt ?? { engaged: false });
  const { runtime, fresh } = mirroredRuntime(input);
  if (runtime) status.runtime = runtime;
  const record = rotation ? rotation.record : input.current?.credentials;
  if (record) status.credentials = record;
  const audit = mirroredAudit(input, fresh);
  if (audit) status.audit = audit;
  return status;
}

/**
 * The status of a TradingBot being deleted: phase Terminating and Ready=False; everything else keeps
 * what it said, since the operator no longer acts on the spec.
 */
export function computeTerminatingStatus(
  current: TradingBotStatus | undefined,
  generation: number | undefined,
  pod: Pod | undefined,
  now: string,
): TradingBotStatus {
  const previousReady = current?.conditions?.find((c) => c.type === "Ready");
  const ready = condition(
    "Ready",
    { status: "False", reason: "Deleting", message: "The TradingBot is being deleted: its pod is stopping." },
    previousReady,
    generation,
    now,
  );
  const status: TradingBotStatus = {
    ...current,
    phase: "Terminating",
    conditions: [ready, ...(current?.conditions ?? []).filter((c) => c.type !== "Ready")],
  };
  if (pod) status.podName = pod.metadata.name;
  else delete status.podName;
  return status;
}
