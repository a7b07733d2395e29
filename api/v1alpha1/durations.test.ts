import { describe, expect, it } from "vitest";
import { durationSeconds } from "./scalars.ts";
import { BotKillSwitch, ExchangeSpec, rotationPeriodSeconds, unsupervisedHaltSeconds } from "./tradingbot.ts";

const exchange = (rotateCredentialsEvery: unknown) =>
  ExchangeSpec.safeParse({
    name: "binance",
    mode: "paper",
    endpoint: "http://exchange-sim.trading:8080",
    credentialsSecretRef: { name: "keys" },
    rotateCredentialsEvery,
  });

describe("durations", () => {
  it("read as one whole number and one unit, in seconds", () => {
    expect(durationSeconds("90s", "f")).toBe(90);
    expect(durationSeconds("15m", "f")).toBe(900);
    expect(durationSeconds("4h", "f")).toBe(14_400);
    expect(durationSeconds("30d", "f")).toBe(2_592_000);
    expect(unsupervisedHaltSeconds("5m")).toBe(300);
    expect(rotationPeriodSeconds("90d")).toBe(7_776_000);
  });

  it("refuse anything else, naming the field", () => {
    expect(() => durationSeconds("1w", "spec.x")).toThrow(/^spec\.x: "1w" is not a duration/);
    expect(() => rotationPeriodSeconds("0d")).toThrow(/spec\.exchange\.rotateCredentialsEvery/);
  });
});

describe("spec.exchange.rotateCredentialsEvery", () => {
  it("is optional, and takes minutes, hours or days of at least an hour", () => {
    for (const every of [undefined, "60m", "90m", "1h", "12h", "30d", "99999d"]) {
      expect(exchange(every).success, String(every)).toBe(true);
    }
  });

  it("refuses less than an hour with a message that names the field and the least allowed", () => {
    for (const every of ["1m", "59m", "5m"]) {
      const result = exchange(every);
      expect(result.success, every).toBe(false);
      expect(result.error?.issues).toMatchObject([
        {
          path: ["rotateCredentialsEvery"],
          message: "spec.exchange.rotateCredentialsEvery must be at least 1h (60m), such as 12h, 30d or 90d",
        },
      ]);
    }
  });

  it("refuses what is not a duration in minutes, hours or days", () => {
    for (const every of ["30", "1w", "3600s", "0d", "1.5d", "100000d", "30 d", "", 30]) {
      const result = exchange(every);
      expect(result.success, String(every)).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual(["rotateCredentialsEvery"]);
    }
    expect(exchange("1w").error?.issues[0]?.message).toBe(
      "must be a duration in minutes, hours or days, such as 90m, 12h or 30d",
    );
  });
});

describe("spec.killSwitch.haltIfUnsupervisedFor", () => {
  const killSwitch = (haltIfUnsupervisedFor: unknown) => BotKillSwitch.safeParse({ haltIfUnsupervisedFor });

  it("is optional, and takes seconds, minutes or hours of at least a minute", () => {
    for (const period of [undefined, "60s", "90s", "1m", "5m", "1h"]) {
      expect(killSwitch(period).success, String(period)).toBe(true);
    }
  });

  it("refuses less than a minute, which would halt supervised bots, naming the field and the least allowed", () => {
    for (const period of ["1s", "5s", "40s", "59s"]) {
      const result = killSwitch(period);
      expect(result.success, period).toBe(false);
      expect(result.error?.issues).toMatchObject([
        {
          path: ["haltIfUnsupervisedFor"],
          message:
            "spec.killSwitch.haltIfUnsupervisedFor must be at least 60s: a healthy halt watch is confirmed only about every 40 s; such as 2m or 5m",
        },
      ]);
    }
  });
});
