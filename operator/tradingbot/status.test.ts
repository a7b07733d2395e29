import { describe, expect, it } from "vitest";
import { readKillSwitch, type TradingBotStatus } from "../../api/v1alpha1/index.ts";
import { timestampOf } from "../kube/time.ts";
import type { Pod } from "../kube/types.ts";
import type { CredentialsCheck } from "./credentials.ts";
import { decideHalt, type HaltDecision } from "./halt.ts";
import { computeBotStatus, type StatusInput } from "./status.ts";

const T0 = "2026-03-01T12:00:00Z";
const T1 = "2026-03-01T12:05:00Z";
const ok: CredentialsCheck = { ok: true, versions: { exchange: "1", database: "2" }, databasePort: 5432 };
const notHalted = decideHalt({
  bot: { namespace: "t", labels: {} },
  killSwitch: { engaged: false, onEngage: "CancelOrders" },
  current: undefined,
  killSwitches: [],
  termination: undefined,
  now: T0,
});
const halted: HaltDecision = decideHalt({
  bot: { namespace: "t", labels: {} },
  killSwitch: { engaged: true, reason: "test", onEngage: "CancelOrders" },
  current: undefined,
  killSwitches: [],
  termination: undefined,
  now: T0,
});

function readyPod(uid = "pod-1"): Pod {
  return {
    metadata: { name: "b-runtime", uid },
    status: { phase: "Running", podIP: "10.0.0.5", conditions: [{ type: "Ready", status: "True" }] },
  };
}

function input(overrides: Partial<StatusInput> = {}): StatusInput {
  return {
    generation: 3,
    deleting: false,
    current: undefined,
    invalidSpec: undefined,
    credentials: ok,
    halt: notHalted,
    pod: readyPod(),
    plan: { action: "keep" },
    restarts: 0,
    exchangeSecret: "t/keys",
    runtime: undefined,
    mirrorIntervalMs: 60_000,
    auditAnchor: { everyRows: 1000, everyMs: 600_000 },
    now: T0,
    ...overrides,
  };
}

const conditionOf = (status: TradingBotStatus, type: string) =>
  status.conditions?.find((c) => c.type === type);

describe("computeBotStatus", () => {
  it("says Running and Ready=True when the pod is ready, following the pod rather than the runtime", () => {
    const status = computeBotStatus(
      input({ runtime: { podUid: "pod-1", reachable: false, error: "no answer", reachedBefore: false } }),
    );
    expect(status.phase).toBe("Running");
    expect(conditionOf(status, "Ready")).toMatchObject({
      status: "True",
      reason: "PodReady",
      observedGeneration: 3,
    });
    expect(conditionOf(status, "RuntimeReachable")).toMatchObject({
      status: "False",
      reason: "NotReporting",
    });
    expect(status.podName).toBe("b-runtime");
    expect(status.observedGeneration).toBe(3);
    expect(status.halt).toEqual({ engaged: false });
  });

  it("reports all four conditions with observedGeneration", () => {
    const status = computeBotStatus(input());
    expect(status.conditions?.map((c) => c.type)).toEqual([
      "Ready",
      "Halted",
      "CredentialsAvailable",
      "RuntimeReachable",
    ]);
    expect(status.conditions?.every((c) => c.observedGeneration === 3)).toBe(true);
  });

  it("says Halting while the pod still terminates and Halted once it is gone, with source and reason", () => {
    const halting = computeBotStatus(input({ halt: halted, plan: { action: "stop" } }));
    expect(halting.phase).toBe("Halting");
    expect(conditionOf(halting, "Halted")).toMatchObject({
      status: "True",
      reason: "Spec",
      message: "Spec: test",
    });
    expect(halting.halt).toMatchObject({ engaged: true, source: "Spec", reason: "test" });
    const done = computeBotStatus(input({ halt: halted, pod: undefined, plan: { action: "none" } }));
    expect(done.phase).toBe("Halted");
    expect(conditionOf(done, "Ready")).toMatchObject({ status: "False", reason: "Halted" });
    expect(done.podName).toBeUndefined();
  });

  it("names a KillSwitch halt by its kind in the reason and by its name in the message", () => {
    const decision = decideHalt({
      bot: { namespace: "t", labels: {} },
      killSwitch: { engaged: false, onEngage: "CancelOrders" },
      current: undefined,
      killSwitches: [readKillSwitch("fleet", { engaged: true, reason: "incident" })],
      termination: undefined,
      now: T0,
    });
    const status = computeBotStatus(input({ halt: decision, pod: undefined, plan: { action: "none" } }));
    expect(conditionOf(status, "Halted")).toMatchObject({
      reason: "KillSwitch",
      message: "KillSwitch/fleet: incident",
    });
  });

  it("reports missing credentials as Degraded with the check's message", () => {
    const credentials: CredentialsCheck = {
      ok: false,
      reason: "SecretNotFound",
      message: "Secret t/keys does not exist",
    };
    const status = computeBotStatus(input({ credentials, pod: undefined, plan: { action: "none" } }));
    expect(status.phase).toBe("Degraded");
    expect(conditionOf(status, "CredentialsAvailable")).toMatchObject({
      status: "False",
      reason: "SecretNotFound",
      message: "Secret t/keys does not exist",
    });
    expect(conditionOf(status, "Ready")).toMatchObject({ reason: "CredentialsUnavailable" });
  });

  it("reports an invalid spec with its issues", () => {
    const status = computeBotStatus(
      input({
        invalidSpec: "spec.risk.maxOrderQuote: Required",
        credentials: undefined,
        pod: undefined,
        plan: { action: "none" },
      }),
    );
    expect(status.phase).toBe("Degraded");
    expect(conditionOf(status, "Ready")).toMatchObject({
      reason: "InvalidSpec",
      message: "The spec is not valid: spec.risk.maxOrderQuote: Required",
    });
    expect(conditionOf(status, "CredentialsAvailable")).toMatchObject({ status: "Unknown" });
  });

  it("reports a failed pod waiting for its restart with a fixed restart time", () => {
    const failure = {
      podUid: "pod-1",
      container: "bot",
      exitCode: 1,
      reason: "Error",
      finishedAt: T0,
      startedAt: T0,
    };
    const status = computeBotStatus(
      input({ plan: { action: "awaitRetry", failure, retryAt: Date.parse(T1) }, restarts: 1 }),
    );
    expect(status.phase).toBe("Degraded");
    expect(conditionOf(status, "Ready")?.message).toBe(
      `The bot container exited with code 1 (Error); restart 2 at ${T1}.`,
    );
  });

  it("tells the user to replace a key the runtime refused, naming the Secret", () => {
    const failure = {
      podUid: "pod-1",
      container: "bot",
      exitCode: 4,
      reason: "Error",
      finishedAt: T0,
      startedAt: T0,
    };
    const status = computeBotStatus(input({ plan: { action: "blocked", failure } }));
    expect(status.phase).toBe("Degraded");
    expect(conditionOf(status, "Ready")).toMatchObject({ reason: "UnsafeCredentials" });
    expect(conditionOf(status, "Ready")?.message).toContain("Secret t/keys");
  });

  it("says Terminating while the TradingBot is deleted", () => {
    expect(computeBotStatus(input({ deleting: true })).phase).toBe("Terminating");
  });

  it("keeps lastTransitionTime while a condition's status stays, and moves it when it changes", () => {
    const first = computeBotStatus(input({ now: T0 }));
    const again = computeBotStatus(input({ current: first, now: T1 }));
    expect(conditionOf(again, "Ready")?.lastTransitionTime).toBe(T0);
    expect(again).toEqual(first);
    const haltedLater = computeBotStatus(
      input({ current: first, now: T1, halt: halted, plan: { action: "stop" } }),
    );
    expect(conditionOf(haltedLater, "Ready")?.lastTransitionTime).toBe(T1);
    expect(conditionOf(haltedLater, "CredentialsAvailable")?.lastTransitionTime).toBe(T0);
  });

  it("mirrors the runtime's report and sets RuntimeReachable", () => {
    const report = {
      heartbeat: T0,
      state: "Trading" as const,
      halted: false,
      openOrders: 4,
      position: "0.01",
      realizedPnl: "-1.5",
    };
    const status = computeBotStatus(input({ runtime: { podUid: "pod-1", reachable: true, report } }));
    expect(status.runtime).toEqual({
      heartbeat: T0,
      state: "Trading",
      openOrders: 4,
      position: "0.01",
      realizedPnl: "-1.5",
    });
    expect(conditionOf(status, "RuntimeReachable")).toMatchObject({ status: "True", reason: "Reporting" });
  });

  it("mirrors a heartbeat-only change at most once per interval, any other change at once", () => {
    const report = {
      heartbeat: T0,
      state: "Trading" as const,
      halted: false,
      openOrders: 4,
      position: "0.01",
      realizedPnl: "0",
    };
    const first = computeBotStatus(input({ runtime: { podUid: "pod-1", reachable: true, report } }));
    const soon = "2026-03-01T12:00:30Z";
    const beat = computeBotStatus(
      input({
        current: first,
        now: soon,
        runtime: { podUid: "pod-1", reachable: true, report: { ...report, heartbeat: soon } },
      }),
    );
    expect(beat.runtime?.heartbeat).toBe(T0);
    const filled = computeBotStatus(
      input({
        current: first,
        now: soon,
        runtime: { podUid: "pod-1", reachable: true, report: { ...report, heartbeat: soon, openOrders: 3 } },
      }),
    );
    expect(filled.runtime).toMatchObject({ heartbeat: soon, openOrders: 3 });
    const later = computeBotStatus(
      input({
        current: first,
        now: T1,
        runtime: { podUid: "pod-1", reachable: true, report: { ...report, heartbeat: T1 } },
      }),
    );
    expect(later.runtime?.heartbeat).toBe(T1);
  });

  it("says NotReporting, one stable value, from readiness until the runtime first answers", () => {
    const unpolled = computeBotStatus(input({ runtime: undefined }));
    const failed = computeBotStatus(
      input({
        current: unpolled,
        now: T1,
        runtime: { podUid: "pod-1", reachable: false, error: "timeout", reachedBefore: false },
      }),
    );
    expect(conditionOf(unpolled, "RuntimeReachable")).toMatchObject({
      status: "False",
      reason: "NotReporting",
    });
    expect(failed).toEqual(unpolled);
  });

  it("says Unreachable, with the failure, when a runtime that answered stops answering", () => {
    const status = computeBotStatus(
      input({
        runtime: { podUid: "pod-1", reachable: false, error: "connection refused", reachedBefore: true },
      }),
    );
    expect(conditionOf(status, "RuntimeReachable")).toMatchObject({
      status: "False",
      reason: "Unreachable",
      message: "connection refused",
    });
  });

  it("adds CredentialsRotationDue and the rotation clock only with a schedule, and drops the condition without one", () => {
    const record = { secretName: "keys", secretResourceVersion: "7", since: "2026-01-01T00:00:00Z" };
    const due = { status: "True" as const, reason: "SecretOlderThanSchedule", message: "Secret t/keys ..." };
    const scheduled = computeBotStatus(input({ credentialsRotation: { record, due } }));
    expect(conditionOf(scheduled, "CredentialsRotationDue")).toMatchObject({
      ...due,
      observedGeneration: 3,
      lastTransitionTime: T0,
    });
    expect(scheduled.credentials).toEqual(record);
    const unscheduled = computeBotStatus(
      input({ current: scheduled, credentialsRotation: { record, due: undefined } }),
    );
    expect(conditionOf(unscheduled, "CredentialsRotationDue")).toBeUndefined();
    expect(unscheduled.credentials).toEqual(record);
  });

  it("keeps the rotation clock and condition as they are when the spec cannot be read", () => {
    const record = { secretName: "keys", secretResourceVersion: "7", since: "2026-01-01T00:00:00Z" };
    const due = { status: "True" as const, reason: "SecretOlderThanSchedule", message: "Secret t/keys ..." };
    const before = computeBotStatus(input({ credentialsRotation: { record, due } }));
    const after = computeBotStatus(
      input({ current: before, invalidSpec: "spec.symbol: Required", credentials: undefined, now: T1 }),
    );
    expect(conditionOf(after, "CredentialsRotationDue")).toMatchObject({ ...due, lastTransitionTime: T0 });
    expect(after.credentials).toEqual(record);
  });

  it("keeps RuntimeReachable and the runtime fields as they are until the new pod is polled", () => {
    const report = {
      heartbeat: T0,
      state: "Trading" as const,
      halted: false,
      openOrders: 4,
      position: "0",
      realizedPnl: "0",
    };
    const first = computeBotStatus(input({ runtime: { podUid: "pod-1", reachable: true, report } }));
    const restarted = computeBotStatus(input({ current: first, now: T1, runtime: undefined }));
    expect(conditionOf(restarted, "RuntimeReachable")).toEqual(conditionOf(first, "RuntimeReachable"));
    expect(restarted.runtime).toEqual(first.runtime);
  });
});

describe("status.audit, the audit chain head", () => {
  const hash = (digit: string) => digit.repeat(64);
  const report = (heartbeat: string, sequence: number, digit: string) => ({
    heartbeat,
    state: "Trading" as const,
    halted: false,
    openOrders: 4,
    position: "0.01",
    realizedPnl: "0",
    audit: { sequence, hash: hash(digit) },
  });
  const polled = (r: ReturnType<typeof report>) => ({ podUid: "pod-1", reachable: true as const, report: r });

  it("is mirrored with the runtime's report, and the first one goes into an Event", () => {
    const status = computeBotStatus(input({ runtime: polled(report(T0, 7, "a")) }));
    expect(status.audit).toEqual({
      sequence: 7,
      hash: hash("a"),
      at: T0,
      lastEvent: { sequence: 7, at: T0 },
    });
  });

  it("rides along with a write the report makes anyway, and never makes one of its own", () => {
    const first = computeBotStatus(input({ runtime: polled(report(T0, 7, "a")) }));
    const soon = "2026-03-01T12:00:30Z";
    // Only the heartbeat and the head moved, within the mirror interval: nothing is written.
    const quiet = computeBotStatus(
      input({ current: first, now: soon, runtime: polled(report(soon, 9, "b")) }),
    );
    expect(quiet).toEqual(first);
    // Once the interval has passed, the head goes with the heartbeat.
    const later = computeBotStatus(input({ current: first, now: T1, runtime: polled(report(T1, 9, "b")) }));
    expect(later.audit).toMatchObject({ sequence: 9, hash: hash("b"), at: T1 });
    // Any other change of the report is written at once, and takes the head with it.
    const filled = computeBotStatus(
      input({ current: first, now: soon, runtime: polled({ ...report(soon, 9, "b"), openOrders: 3 }) }),
    );
    expect(filled.audit).toMatchObject({ sequence: 9, hash: hash("b"), at: soon });
  });

  it("stays as it is while the runtime is not reporting, and when the bot is halted", () => {
    const first = computeBotStatus(input({ runtime: polled(report(T0, 7, "a")) }));
    const unreachable = computeBotStatus(
      input({
        current: first,
        now: T1,
        runtime: { podUid: "pod-1", reachable: false, error: "timeout", reachedBefore: true },
      }),
    );
    expect(unreachable.audit).toEqual(first.audit);
    const haltedBot = computeBotStatus(
      input({ current: first, now: T1, halt: halted, pod: undefined, plan: { action: "none" } }),
    );
    expect(haltedBot.audit).toEqual(first.audit);
  });
});

describe("timestampOf", () => {
  it("writes RFC 3339 with second precision", () => {
    expect(timestampOf(Date.parse("2026-03-01T12:00:00.999Z"))).toBe("2026-03-01T12:00:00Z");
  });
});
