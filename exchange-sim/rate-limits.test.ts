import { describe, expect, it } from "vitest";
import { defaultRateLimits, RateLimiter } from "./rate-limits.ts";

const MINUTE_START = 1_700_000_040_000;

describe("request weight", () => {
  it("accumulates per IP within the clock minute and resets with the next", () => {
    const limiter = new RateLimiter({ ...defaultRateLimits, requestWeightPerMinute: 50 });
    expect(limiter.chargeWeight("1.1.1.1", 20, MINUTE_START)).toEqual({ kind: "allowed", usedWeight: 20 });
    expect(limiter.chargeWeight("1.1.1.1", 20, MINUTE_START + 59_000)).toEqual({
      kind: "allowed",
      usedWeight: 40,
    });
    expect(limiter.chargeWeight("2.2.2.2", 20, MINUTE_START + 59_000)).toEqual({
      kind: "allowed",
      usedWeight: 20,
    });
    expect(limiter.chargeWeight("1.1.1.1", 20, MINUTE_START + 60_000)).toEqual({
      kind: "allowed",
      usedWeight: 20,
    });
  });

  it("over the limit is refused with the seconds until the window ends", () => {
    const limiter = new RateLimiter({ ...defaultRateLimits, requestWeightPerMinute: 10 });
    limiter.chargeWeight("ip", 10, MINUTE_START);
    expect(limiter.chargeWeight("ip", 1, MINUTE_START + 45_500)).toEqual({
      kind: "limited",
      usedWeight: 11,
      retryAfterSeconds: 15,
    });
  });

  it("bans an IP that keeps sending after 429s, longer at every repeat", () => {
    const limiter = new RateLimiter({ ...defaultRateLimits, requestWeightPerMinute: 1, bannedAfter429s: 2 });
    limiter.chargeWeight("ip", 1, MINUTE_START);
    expect(limiter.chargeWeight("ip", 1, MINUTE_START).kind).toBe("limited");
    expect(limiter.chargeWeight("ip", 1, MINUTE_START).kind).toBe("limited");
    const ban = limiter.chargeWeight("ip", 1, MINUTE_START);
    expect(ban).toMatchObject({ kind: "banned", untilMs: MINUTE_START + 120_000, retryAfterSeconds: 120 });
    expect(limiter.chargeWeight("ip", 1, MINUTE_START + 119_000).kind).toBe("banned");
    const later = MINUTE_START + 180_000;
    limiter.chargeWeight("ip", 1, later);
    limiter.chargeWeight("ip", 1, later);
    limiter.chargeWeight("ip", 1, later);
    expect(limiter.chargeWeight("ip", 1, later)).toMatchObject({ kind: "banned", retryAfterSeconds: 240 });
  });
});

describe("order counts", () => {
  it("limit accepted orders per account per 10 seconds and per day", () => {
    const limiter = new RateLimiter({ ...defaultRateLimits, ordersPer10Seconds: 2, ordersPerDay: 3 });
    const t = Date.UTC(2025, 0, 1, 12);
    expect(limiter.orderAllowance("a", t)).toEqual({ kind: "allowed", count10s: 0, count1d: 0 });
    expect(limiter.recordOrder("a", t)).toEqual({ count10s: 1, count1d: 1 });
    expect(limiter.recordOrder("a", t + 1)).toEqual({ count10s: 2, count1d: 2 });
    expect(limiter.orderAllowance("a", t + 2)).toMatchObject({
      kind: "limited",
      limit: 2,
      interval: "10 SECOND",
    });
    expect(limiter.orderAllowance("b", t + 2).kind).toBe("allowed");
    expect(limiter.orderAllowance("a", t + 10_000)).toEqual({ kind: "allowed", count10s: 0, count1d: 2 });
    limiter.recordOrder("a", t + 10_000);
    expect(limiter.orderAllowance("a", t + 20_000)).toMatchObject({
      kind: "limited",
      limit: 3,
      interval: "1 DAY",
    });
    expect(limiter.orderAllowance("a", Date.UTC(2025, 0, 2)).kind).toBe("allowed");
  });
});
