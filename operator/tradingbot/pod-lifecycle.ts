import { RUNTIME_EXIT_CODES } from "../../api/v1alpha1/index.ts";
import { BOT_CONTAINER_NAME, MIGRATE_CONTAINER_NAME } from "../desired-state/bot-pod.ts";
import type { Pod } from "../kube/types.ts";
import { ANNOTATIONS } from "../names.ts";
import { type BotTermination, runtimeHaltOf } from "./halt.ts";

// What to do with the bot's one pod. Pure: from the pod wanted (undefined when the bot must not run),
// the pod observed, and the bot's restart history. The singleton rule lives here: a pod is created only
// when none is observed, and a pod is replaced by deleting it first and creating again once it is gone.

export interface PodFailure {
  podUid: string;
  container: string;
  exitCode: number;
  reason: string;
  finishedAt: string | undefined;
  startedAt: string | undefined;
  /**
   * The runtime halted itself because its halt watch went unconfirmed for spec.killSwitch's
   * haltIfUnsupervisedFor (its dead man's switch), not because it failed.
   */
  unsupervised?: true;
}

export interface RestartHistory {
  /** Consecutive failed runs. */
  restarts: number;
  /** No new pod before this instant (ms since the epoch). */
  notBefore: number;
}

export type ReplaceCause = "ConfigChanged" | "SecretRotated" | "ImageChanged" | "PodChanged";

export type PodPlan =
  | { action: "none" }
  | { action: "keep" }
  | { action: "create" }
  | { action: "awaitDeletion" }
  | { action: "stop" }
  | { action: "replace"; cause: ReplaceCause; detail: string }
  | { action: "restartAfterFailure"; failure: PodFailure }
  | { action: "awaitRetry"; failure: PodFailure | undefined; retryAt: number }
  | { action: "blocked"; failure: PodFailure };

const RESTART_BASE_MS = 10_000;
const RESTART_MAX_MS = 5 * 60_000;

/** Delay before the (restarts+1)-th attempt after consecutive failures: 10 s, 20 s, ... up to 5 min. */
export function restartBackoffMs(restarts: number): number {
  return Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** Math.max(0, restarts));
}

export function isPodReady(pod: Pod | undefined): boolean {
  return pod?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

export function isTerminating(pod: Pod | undefined): boolean {
  return pod?.metadata.deletionTimestamp !== undefined;
}

/** How the pod's bot container ended, if it has. */
export function botTermination(pod: Pod | undefined): BotTermination | undefined {
  const terminated = pod?.status?.containerStatuses?.find((s) => s.name === BOT_CONTAINER_NAME)?.state
    ?.terminated;
  if (!pod || !terminated) return undefined;
  return { podUid: pod.metadata.uid ?? "", exitCode: terminated.exitCode, message: terminated.message };
}

/** How the pod ended, when it has: its bot container's termination, else a failed init or the pod. */
export function podFailure(pod: Pod | undefined): PodFailure | undefined {
  if (!pod) return undefined;
  const uid = pod.metadata.uid ?? "";
  const init = pod.status?.initContainerStatuses?.find((s) => s.name === MIGRATE_CONTAINER_NAME)?.state
    ?.terminated;
  if (init && init.exitCode !== 0) {
    return {
      podUid: uid,
      container: MIGRATE_CONTAINER_NAME,
      exitCode: init.exitCode,
      reason: init.reason ?? "Error",
      finishedAt: init.finishedAt,
      startedAt: init.startedAt,
    };
  }
  const bot = pod.status?.containerStatuses?.find((s) => s.name === BOT_CONTAINER_NAME)?.state?.terminated;
  if (bot) {
    return {
      podUid: uid,
      container: BOT_CONTAINER_NAME,
      exitCode: bot.exitCode,
      reason: bot.reason ?? (bot.exitCode === 0 ? "Completed" : "Error"),
      finishedAt: bot.finishedAt,
      startedAt: bot.startedAt,
      ...(runtimeHaltOf(bot)?.source === "Unsupervised" ? { unsupervised: true as const } : {}),
    };
  }
  const phase = pod.status?.phase;
  if (phase === "Failed" || phase === "Succeeded") {
    return {
      podUid: uid,
      container: BOT_CONTAINER_NAME,
      exitCode: -1,
      reason: pod.status?.reason ?? phase,
      finishedAt: undefined,
      startedAt: undefined,
    };
  }
  return undefined;
}

/** Why an observed pod is not the wanted one, or undefined when it is. */
export function replaceCause(
  observed: Pod,
  wanted: Pod,
): { cause: ReplaceCause; detail: string } | undefined {
  const have = observed.metadata.annotations ?? {};
  const want = wanted.metadata.annotations ?? {};
  if (have[ANNOTATIONS.podSpecHash] === want[ANNOTATIONS.podSpecHash]) {
    const image = observed.spec?.containers?.find((c) => c.name === BOT_CONTAINER_NAME)?.image;
    const wantedImage = wanted.spec?.containers?.find((c) => c.name === BOT_CONTAINER_NAME)?.image;
    if (image === wantedImage) return undefined;
    return { cause: "PodChanged", detail: `the pod's image was changed to ${image ?? "nothing"}` };
  }
  if (have[ANNOTATIONS.configHash] !== want[ANNOTATIONS.configHash]) {
    return { cause: "ConfigChanged", detail: "the runtime configuration changed" };
  }
  for (const [annotation, label] of [
    [ANNOTATIONS.exchangeSecretVersion, "exchange credentials Secret"],
    [ANNOTATIONS.databaseSecretVersion, "database Secret"],
    [ANNOTATIONS.migrationSecretVersion, "migration Secret"],
  ] as const) {
    if (have[annotation] !== want[annotation])
      return { cause: "SecretRotated", detail: `the ${label} changed` };
  }
  const image = observed.spec?.containers?.find((c) => c.name === BOT_CONTAINER_NAME)?.image;
  const wantedImage = wanted.spec?.containers?.find((c) => c.name === BOT_CONTAINER_NAME)?.image;
  if (image !== wantedImage) return { cause: "ImageChanged", detail: `the image changed to ${wantedImage}` };
  return { cause: "PodChanged", detail: "the pod specification changed" };
}

export interface PodPlanInput {
  /** The pod the bot should have; undefined when it must not run (halted, invalid, no credentials). */
  wanted: Pod | undefined;
  observed: Pod | undefined;
  history: RestartHistory | undefined;
  now: number;
}

export function decidePodPlan({ wanted, observed, history, now }: PodPlanInput): PodPlan {
  if (observed && isTerminating(observed)) return { action: "awaitDeletion" };
  if (!wanted) return observed ? { action: "stop" } : { action: "none" };
  if (!observed) {
    if (history && now < history.notBefore)
      return { action: "awaitRetry", failure: undefined, retryAt: history.notBefore };
    return { action: "create" };
  }
  const change = replaceCause(observed, wanted);
  const failure = podFailure(observed);
  if (failure) {
    // A pod that ended is replaced at once when the wanted pod differs (new credentials, new config),
    // otherwise only after a backoff; refused credentials wait for a change.
    if (change) return { action: "replace", ...change };
    if (failure.exitCode === RUNTIME_EXIT_CODES.unsafeCredentials) return { action: "blocked", failure };
    const finished = failure.finishedAt ? Date.parse(failure.finishedAt) : now;
    const retryAt = finished + restartBackoffMs(history?.restarts ?? 0);
    if (now < retryAt) return { action: "awaitRetry", failure, retryAt };
    return { action: "restartAfterFailure", failure };
  }
  if (change) return { action: "replace", ...change };
  return { action: "keep" };
}
