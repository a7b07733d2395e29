import { describe, expect, it } from "vitest";
import {
  attemptTimeLimitMs,
  auditableErrorMessage,
  DEFAULT_STOP_RETRY_MS,
  FIRST_ATTEMPT_MIN_MS,
  nextStopStep,
  STOP_RECORD_MARGIN_MS,
  stopDeadline,
} from "./stop-retry.ts";

const began = Date.parse("2026-05-21T10:00:00Z");
const slowest = () => 1 - Number.EPSILON;
const fastest = () => 0;

/** The waits of a stop whose every attempt fails at once, until it gives up. */
function waitsUntilGivingUp(deadline: number, random: () => number): number[] {
  const waits: number[] = [];
  let now = began;
  for (let failed = 1; ; failed++) {
    const step = nextStopStep({ now, deadline, failedAttempts: failed, random });
    if (step.kind === "giveUp") return waits;
    waits.push(step.waitMs);
    now += step.waitMs;
  }
}

describe("a stop's deadline", () => {
  it("ends the margin before the pod's grace period runs out after the stop began", () => {
    expect(stopDeadline(began, 30)).toBe(began + 30_000 - STOP_RECORD_MARGIN_MS);
    expect(stopDeadline(began, 4)).toBe(began + 2_000);
  });

  it("is 25 s after the stop began when the config does not say the grace period", () => {
    expect(stopDeadline(began, undefined)).toBe(began + DEFAULT_STOP_RETRY_MS);
    expect(DEFAULT_STOP_RETRY_MS).toBe(25_000);
  });

  it("bounds each attempt by the time left, but awaits the first one a while even when the stop began late", () => {
    const deadline = began + 5_000;
    expect(attemptTimeLimitMs(began, deadline, 2)).toBe(5_000);
    expect(attemptTimeLimitMs(deadline + 300, deadline, 3)).toBe(0);
    expect(attemptTimeLimitMs(began, deadline, 1)).toBe(5_000);
    expect(attemptTimeLimitMs(deadline - 100, deadline, 1)).toBe(FIRST_ATTEMPT_MIN_MS);
    expect(FIRST_ATTEMPT_MIN_MS).toBeLessThan(STOP_RECORD_MARGIN_MS);
  });
});

describe("retrying a stop's cancels", () => {
  it("waits 250 ms doubling to 2 s", () => {
    expect(waitsUntilGivingUp(began + 9_000, slowest)).toEqual([250, 500, 1000, 2000, 2000, 2000]);
  });

  it("waits between half and all of the backoff, at random", () => {
    expect(waitsUntilGivingUp(began + 10_000, fastest).slice(0, 5)).toEqual([125, 250, 500, 1000, 1000]);
    const middle = nextStopStep({
      now: began,
      deadline: began + 10_000,
      failedAttempts: 3,
      random: () => 0.5,
    });
    expect(middle).toEqual({ kind: "retry", waitMs: 750 });
  });

  it("gives up at once when the exchange refuses the key, however much time is left", () => {
    const step = nextStopStep({
      now: began,
      deadline: began + 10_000,
      failedAttempts: 1,
      keyRefused: true,
      random: slowest,
    });
    expect(step).toEqual({ kind: "giveUp" });
  });

  it("waits at least as long as the exchange asked after a 429", () => {
    const step = nextStopStep({
      now: began,
      deadline: began + 10_000,
      failedAttempts: 1,
      retryAfterMs: 3_000,
      random: slowest,
    });
    expect(step).toEqual({ kind: "retry", waitMs: 3_000 });
  });

  it("gives up when the next attempt could not start before the deadline", () => {
    const deadline = began + 2_000;
    expect(nextStopStep({ now: began + 1_700, deadline, failedAttempts: 1, random: slowest })).toEqual({
      kind: "retry",
      waitMs: 250,
    });
    expect(nextStopStep({ now: began + 1_700, deadline, failedAttempts: 2, random: slowest })).toEqual({
      kind: "giveUp",
    });
    expect(
      nextStopStep({ now: began, deadline, failedAttempts: 1, retryAfterMs: 60_000, random: fastest }),
    ).toEqual({ kind: "giveUp" });
    expect(nextStopStep({ now: deadline + 1, deadline, failedAttempts: 1, random: fastest })).toEqual({
      kind: "giveUp",
    });
  });

  it("tries about 4 times within the 2 s a 4 s grace period leaves", () => {
    expect(waitsUntilGivingUp(stopDeadline(began, 4), slowest)).toEqual([250, 500, 1000]);
  });
});

describe("an error message in an audit row", () => {
  it("leaves out the query string of a signed request's URL", () => {
    const timeout = new Error(
      "binance GET http://127.0.0.1:43299/api/v3/openOrders?timestamp=1796696932450&symbol=BTCUSDT&recvWindow=5000&signature=b76d7028052be9bec35da467f805e959 request timed out (5000 ms)",
    );
    expect(auditableErrorMessage(timeout)).toBe(
      "binance GET http://127.0.0.1:43299/api/v3/openOrders request timed out (5000 ms)",
    );
  });

  it("keeps a message without URLs and cuts a long one at 500 characters", () => {
    expect(auditableErrorMessage(new Error("binance -1001 on GET /api/v3/openOrders: Internal error"))).toBe(
      "binance -1001 on GET /api/v3/openOrders: Internal error",
    );
    expect(auditableErrorMessage("x".repeat(600))).toHaveLength(500);
  });
});
