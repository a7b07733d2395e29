import { describe, expect, it } from "vitest";
import type { TradingBotStatus } from "../../api/v1alpha1/index.ts";
import { transitionEvents } from "./events.ts";
import { decideHalt } from "./halt.ts";

const NOW = "2026-03-01T12:00:00Z";
const base = {
  bot: { namespace: "t", labels: {} },
  current: undefined,
  killSwitches: [],
  termination: undefined,
  now: NOW,
};
const halted = decideHalt({
  ...base,
  killSwitch: { engaged: true, reason: "test", onEngage: "CancelOrders" },
});
const running = decideHalt({ ...base, killSwitch: { engaged: false, onEngage: "CancelOrders" } });
const condition = (type: string, status: "True" | "False", reason: string, message = "") => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: NOW,
});

describe("transitionEvents", () => {
  it("records an AuditAnchor Event with the head's sequence and hash when status records a new one", () => {
    const hash = "c".repeat(64);
    const before: TradingBotStatus = {
      audit: { sequence: 9, hash: "b".repeat(64), at: NOW, lastEvent: { sequence: 7, at: NOW } },
    };
    const after: TradingBotStatus = {
      audit: { sequence: 1012, hash, at: NOW, lastEvent: { sequence: 1012, at: NOW } },
    };
    expect(transitionEvents(before, after, running, { action: "keep" })).toEqual([
      {
        type: "Normal",
        reason: "AuditAnchor",
        action: "AnchorAudit",
        note: `Audit chain head anchored: sequence 1012, hash ${hash}.`,
      },
    ]);
    expect(transitionEvents(after, after, running, { action: "keep" })).toEqual([]);
    const movedWithoutEvent: TradingBotStatus = {
      audit: { sequence: 1013, hash: "d".repeat(64), at: NOW, lastEvent: { sequence: 1012, at: NOW } },
    };
    expect(transitionEvents(after, movedWithoutEvent, running, { action: "keep" })).toEqual([]);
  });

  it("warns once when a key rotation falls due, and says so when the Secret has changed", () => {
    const due = condition(
      "CredentialsRotationDue",
      "True",
      "SecretOlderThanSchedule",
      "Secret t/keys ... due",
    );
    const fresh = condition("CredentialsRotationDue", "False", "WithinSchedule", "Secret t/keys ... due at");
    const falls = transitionEvents({ conditions: [fresh] }, { conditions: [due] }, running, {
      action: "keep",
    });
    expect(falls).toEqual([
      { type: "Warning", reason: "CredentialsRotationDue", action: "CheckCredentials", note: due.message },
    ]);
    expect(
      transitionEvents({ conditions: [due] }, { conditions: [due] }, running, { action: "keep" }),
    ).toEqual([]);
    const rotated = transitionEvents({ conditions: [due] }, { conditions: [fresh] }, running, {
      action: "keep",
    });
    expect(rotated.map((e) => [e.type, e.reason])).toEqual([["Normal", "CredentialsRotated"]]);
  });

  it("records a halt once, when it starts", () => {
    const before: TradingBotStatus = { halt: { engaged: false } };
    const after: TradingBotStatus = { halt: halted.halt };
    expect(transitionEvents(before, after, halted, { action: "stop" }).map((e) => e.reason)).toEqual([
      "Halted",
    ]);
    expect(transitionEvents(after, after, halted, { action: "none" })).toEqual([]);
  });

  it("records a resume", () => {
    const events = transitionEvents({ halt: halted.halt }, { halt: { engaged: false } }, running, {
      action: "create",
    });
    expect(events.map((e) => e.reason)).toEqual(["Resumed"]);
  });

  it("names who engaged a halt and who released it, from the kill switch's admission stamp", () => {
    const engagedByAlice = decideHalt({
      ...base,
      killSwitch: { engaged: true, reason: "test", onEngage: "CancelOrders" },
      killSwitchChangedBy: "alice",
    });
    const [halt] = transitionEvents(
      { halt: { engaged: false } },
      { halt: engagedByAlice.halt },
      engagedByAlice,
      {
        action: "stop",
      },
    );
    expect(halt?.note).toBe(
      "Halted by Spec (engaged by alice): test. Stopping the bot pod, then closing its egress.",
    );
    const releasedByBob = decideHalt({
      ...base,
      current: engagedByAlice.halt,
      killSwitch: { engaged: false, onEngage: "CancelOrders" },
      killSwitchChangedBy: "bob",
    });
    const [resume] = transitionEvents(
      { halt: engagedByAlice.halt },
      { halt: { engaged: false } },
      releasedByBob,
      {
        action: "create",
      },
    );
    expect(resume?.note).toBe("No halt holds the bot any more (Spec released by bob): starting it.");
  });

  it("records missing credentials when they go missing or the message changes, and their recovery", () => {
    const missing = {
      conditions: [condition("CredentialsAvailable", "False", "SecretNotFound", "Secret t/k does not exist")],
    };
    const ok = { conditions: [condition("CredentialsAvailable", "True", "SecretsFound")] };
    expect(
      transitionEvents(ok, missing, running, { action: "none" }).map((e) => [e.type, e.reason, e.note]),
    ).toEqual([["Warning", "SecretNotFound", "Secret t/k does not exist"]]);
    expect(transitionEvents(missing, missing, running, { action: "none" })).toEqual([]);
    expect(transitionEvents(missing, ok, running, { action: "create" }).map((e) => e.reason)).toEqual([
      "CredentialsAvailable",
    ]);
  });

  it("records a replacement with its cause", () => {
    const events = transitionEvents({}, {}, running, {
      action: "replace",
      cause: "SecretRotated",
      detail: "the database Secret changed",
    });
    expect(events).toEqual([
      {
        type: "Normal",
        reason: "Restarting",
        action: "Stop",
        note: "Replacing the bot pod: the database Secret changed.",
      },
    ]);
  });

  it("records nothing for a resync of an unchanged bot", () => {
    const status: TradingBotStatus = {
      phase: "Running",
      halt: { engaged: false },
      conditions: [condition("Ready", "True", "PodReady")],
    };
    expect(transitionEvents(status, status, running, { action: "keep" })).toEqual([]);
  });
});
