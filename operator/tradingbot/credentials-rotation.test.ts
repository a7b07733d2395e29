import { describe, expect, it } from "vitest";
import { rotationPeriodSeconds } from "../../api/v1alpha1/index.ts";
import {
  credentialsAge,
  credentialsRecord,
  type ObservedSecret,
  rotationDecision,
} from "./credentials-rotation.ts";

const DAY = 86_400_000;
const CREATED = "2026-01-01T00:00:00Z";
const T0 = Date.parse("2026-03-01T12:00:00Z");

function secret(resourceVersion: string, creationTimestamp = CREATED): ObservedSecret {
  return { namespace: "trading", name: "binance-keys", resourceVersion, creationTimestamp };
}

const thirtyDays = { every: "30d", seconds: rotationPeriodSeconds("30d") };

describe("the key-rotation clock (status.credentials)", () => {
  it("starts a Secret it has no record of from its creationTimestamp", () => {
    expect(credentialsRecord(undefined, secret("7"), T0)).toEqual({
      secretName: "binance-keys",
      secretResourceVersion: "7",
      since: CREATED,
    });
  });

  it("keeps the record while the Secret's version is the one recorded", () => {
    const record = { secretName: "binance-keys", secretResourceVersion: "7", since: "2026-02-01T00:00:00Z" };
    expect(credentialsRecord(record, secret("7"), T0)).toBe(record);
  });

  it("restarts at the moment a new version is first seen, whatever the creationTimestamp says", () => {
    const record = { secretName: "binance-keys", secretResourceVersion: "7", since: "2026-02-01T00:00:00Z" };
    expect(credentialsRecord(record, secret("8"), T0)).toEqual({
      secretName: "binance-keys",
      secretResourceVersion: "8",
      since: "2026-03-01T12:00:00Z",
    });
  });

  it("keeps a record newer than the watch (written by another replica whose watch was ahead)", () => {
    const record = { secretName: "binance-keys", secretResourceVersion: "9", since: "2026-02-01T00:00:00Z" };
    expect(credentialsRecord(record, secret("8"), T0)).toBe(record);
  });

  it("starts again from the creationTimestamp when the spec names another Secret", () => {
    const record = { secretName: "old-keys", secretResourceVersion: "7", since: "2026-02-20T00:00:00Z" };
    expect(credentialsRecord(record, secret("3"), T0)?.since).toBe(CREATED);
  });

  it("keeps the record while the Secret cannot be seen, but knows no age then", () => {
    const record = { secretName: "binance-keys", secretResourceVersion: "7", since: CREATED };
    expect(credentialsRecord(record, undefined, T0)).toBe(record);
    expect(credentialsAge(record, undefined, T0)).toBeUndefined();
  });

  it("counts the age in seconds from the record, and from now for a version just seen", () => {
    const record = { secretName: "binance-keys", secretResourceVersion: "7", since: "2026-02-28T12:00:00Z" };
    expect(credentialsAge(record, secret("7"), T0)).toEqual({ since: record.since, seconds: 86_400 });
    expect(credentialsAge(record, secret("8"), T0 + 500)).toEqual({
      since: "2026-03-01T12:00:00Z",
      seconds: 0.5,
    });
  });
});

describe("CredentialsRotationDue", () => {
  it("is True once the Secret's data is older than the schedule, naming the Secret, the time and the schedule", () => {
    const age = { since: "2026-01-01T00:00:00Z", seconds: 31 * 86_400 };
    const decision = rotationDecision(age, thirtyDays, "trading/binance-keys");
    expect(decision.condition).toMatchObject({ status: "True", reason: "SecretOlderThanSchedule" });
    expect(decision.condition.message).toContain("Secret trading/binance-keys");
    expect(decision.condition.message).toContain("since 2026-01-01T00:00:00Z");
    expect(decision.condition.message).toContain("spec.exchange.rotateCredentialsEvery is 30d");
    expect(decision.condition.message).toContain("due since 2026-01-31T00:00:00Z");
    expect(decision.dueInMs).toBeUndefined();
  });

  it("is False within the schedule, says when it falls due, and how long until then", () => {
    const age = { since: "2026-01-01T00:00:00Z", seconds: 29 * 86_400 };
    const decision = rotationDecision(age, thirtyDays, "trading/binance-keys");
    expect(decision.condition).toMatchObject({ status: "False", reason: "WithinSchedule" });
    expect(decision.condition.message).toContain("due at 2026-01-31T00:00:00Z");
    expect(decision.dueInMs).toBe(DAY);
  });

  it("turns True only past the schedule, not on it", () => {
    const on = rotationDecision({ since: CREATED, seconds: 3600 }, { every: "1h", seconds: 3600 }, "t/k");
    expect(on.condition.status).toBe("False");
    expect(on.dueInMs).toBe(0);
    const past = rotationDecision(
      { since: CREATED, seconds: 3600.001 },
      { every: "1h", seconds: 3600 },
      "t/k",
    );
    expect(past.condition.status).toBe("True");
  });

  it("is Unknown when the Secret cannot be seen", () => {
    const decision = rotationDecision(undefined, thirtyDays, "trading/binance-keys");
    expect(decision.condition).toMatchObject({ status: "Unknown", reason: "SecretNotFound" });
    expect(decision.dueInMs).toBeUndefined();
  });

  it("flips from False to True as the injected clock passes the due time, with no other change", () => {
    const record = { secretName: "binance-keys", secretResourceVersion: "7", since: CREATED };
    const at = (now: number) =>
      rotationDecision(credentialsAge(record, secret("7"), now), thirtyDays, "trading/binance-keys");
    const before = at(Date.parse(CREATED) + 30 * DAY - 1000);
    expect(before.condition.status).toBe("False");
    expect(before.dueInMs).toBe(1000);
    expect(at(Date.parse(CREATED) + 30 * DAY + 1).condition.status).toBe("True");
  });

  it("says the same thing on every look while nothing changes, so an unchanged bot's status is not rewritten", () => {
    const record = { secretName: "binance-keys", secretResourceVersion: "7", since: CREATED };
    const at = (now: number) =>
      rotationDecision(credentialsAge(record, secret("7"), now), thirtyDays, "trading/binance-keys")
        .condition;
    expect(at(T0)).toEqual(at(T0 + 7 * DAY));
    expect(at(Date.parse(CREATED) + DAY)).toEqual(at(Date.parse(CREATED) + 2 * DAY));
  });
});
