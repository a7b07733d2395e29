import { describe, expect, it } from "vitest";
import {
  DEFAULT_LOGIN_THROTTLE,
  isStale,
  LoginThrottle,
  throttleVerdict,
  withFailure,
} from "./login-throttle.ts";

const { perIp, perUsername } = DEFAULT_LOGIN_THROTTLE;

describe("login throttle decisions", () => {
  it("locks a key out on its fifth failure within a minute, for 15 minutes", () => {
    let record = undefined as ReturnType<typeof withFailure> | undefined;
    for (let i = 0; i < 4; i++) {
      record = withFailure(record, perIp, i * 1_000);
      expect(throttleVerdict(record, i * 1_000)).toEqual({ allowed: true });
    }
    record = withFailure(record, perIp, 4_000);
    expect(throttleVerdict(record, 4_000)).toEqual({ allowed: false, retryAfterSeconds: 900 });
    expect(throttleVerdict(record, 4_000 + 899_001)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(throttleVerdict(record, 4_000 + 900_000)).toEqual({ allowed: true });
  });

  it("forgets failures older than the window", () => {
    let record = undefined as ReturnType<typeof withFailure> | undefined;
    for (let i = 0; i < 10; i++) record = withFailure(record, perIp, i * 20_000);
    expect(throttleVerdict(record, 200_000)).toEqual({ allowed: true });
    expect(record?.failures.length).toBeLessThan(perIp.maxFailures);
    expect(isStale(record as NonNullable<typeof record>, perIp, 10 * 60_000)).toBe(true);
  });

  it("refuses a login while either its IP or its username is locked, naming the longer wait", () => {
    let now = 0;
    const throttle = new LoginThrottle(DEFAULT_LOGIN_THROTTLE, () => now);
    for (let i = 0; i < perUsername.maxFailures; i++) {
      throttle.recordFailure(`192.0.2.${i}`, "hal");
      now += 5 * 60_000;
    }
    expect(throttle.verdict("198.51.100.1", "hal")).toMatchObject({ allowed: false });
    expect(throttle.verdict("198.51.100.1", "vera")).toEqual({ allowed: true });
    now += perUsername.lockoutMs;
    expect(throttle.verdict("198.51.100.1", "hal")).toEqual({ allowed: true });
  });

  it("keeps its books bounded under a flood of names", () => {
    const throttle = new LoginThrottle(DEFAULT_LOGIN_THROTTLE, () => 0, 100);
    for (let i = 0; i < 1_000; i++) throttle.recordFailure("192.0.2.1", `name-${i}`);
    expect((throttle as unknown as { byUsername: Map<string, unknown> }).byUsername.size).toBeLessThanOrEqual(
      100,
    );
    expect(throttle.verdict("192.0.2.1", "anyone")).toMatchObject({ allowed: false });
  });
});
