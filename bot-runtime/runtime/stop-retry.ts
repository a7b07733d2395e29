// When a stop (or a risk halt) retries its cancels, and when it gives up. The kubelet SIGKILLs the pod once
// its grace period has run out after the DELETE, which comes at or after the moment the runtime began to
// stop; the stop gives up a margin before that, so it can still record how it ended.

/** Time kept back from the grace period to record the outcome and exit before SIGKILL. */
export const STOP_RECORD_MARGIN_MS = 2_000;
/** How long a stop keeps retrying when the config does not say the pod's grace period (an older operator). */
export const DEFAULT_STOP_RETRY_MS = 25_000;
export const STOP_RETRY_FIRST_WAIT_MS = 250;
export const STOP_RETRY_MAX_WAIT_MS = 2_000;
/**
 * The first attempt is awaited this long even past the deadline: a stop that began late (a tick's request
 * held it up) still gets its cancels through, and half the margin is left to record the outcome.
 */
export const FIRST_ATTEMPT_MIN_MS = STOP_RECORD_MARGIN_MS / 2;

/** When a stop that began at `beganAt` must stop retrying (ms since the epoch). */
export function stopDeadline(beganAt: number, gracePeriodSeconds: number | undefined): number {
  return gracePeriodSeconds === undefined
    ? beganAt + DEFAULT_STOP_RETRY_MS
    : beganAt + gracePeriodSeconds * 1000 - STOP_RECORD_MARGIN_MS;
}

/** How long attempt number `attempt` (from 1) is awaited before the stop stops waiting for it. */
export function attemptTimeLimitMs(now: number, deadline: number, attempt: number): number {
  const left = Math.max(0, deadline - now);
  return attempt === 1 ? Math.max(left, FIRST_ATTEMPT_MIN_MS) : left;
}

export type StopRetryStep = { kind: "retry"; waitMs: number } | { kind: "giveUp" };

/**
 * After `failedAttempts` failed attempts: wait 250 ms doubling to 2 s, of which between half and all at
 * random (a fleet halted at once does not retry in step), and at least as long as the exchange asked
 * (`retryAfterMs` of a 429 or 418 pause, during which calls are refused without being sent). Gives up when
 * the next attempt could not start before the deadline, and at once when the exchange refuses the key
 * (`keyRefused`): no retry with it can cancel anything.
 */
export function nextStopStep(input: {
  now: number;
  deadline: number;
  failedAttempts: number;
  retryAfterMs?: number | undefined;
  keyRefused?: boolean;
  random: () => number;
}): StopRetryStep {
  if (input.keyRefused) return { kind: "giveUp" };
  const backoff = Math.min(
    STOP_RETRY_FIRST_WAIT_MS * 2 ** Math.max(0, input.failedAttempts - 1),
    STOP_RETRY_MAX_WAIT_MS,
  );
  const jittered = Math.round(backoff / 2 + (backoff / 2) * input.random());
  const waitMs = Math.max(jittered, input.retryAfterMs ?? 0);
  return input.now + waitMs >= input.deadline ? { kind: "giveUp" } : { kind: "retry", waitMs };
}

/**
 * An error's message as an audit row may hold it: without the query strings of request URLs (a timed-out
 * request's message quotes its signed URL), and not longer than 500 characters.
 */
export function auditableErrorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\?[^\s"']*/g, "").slice(0, 500);
}
