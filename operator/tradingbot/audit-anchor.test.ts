import { describe, expect, it } from "vitest";
import { auditAnchorNote, readAuditAnchorNote } from "../../api/v1alpha1/index.ts";
import { auditAnchorEventDue, newAuditAnchor, nextAuditStatus } from "./audit-anchor.ts";

const cadence = { everyRows: 1000, everyMs: 600_000 };
const T0 = "2026-03-01T12:00:00Z";
const hash = (digit: string) => digit.repeat(64);
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();

describe("whether an AuditAnchor Event is due", () => {
  const last = { sequence: 500, at: T0 };

  it("is due for the first head a bot reports", () => {
    expect(auditAnchorEventDue({ sequence: 1, hash: hash("a") }, undefined, Date.parse(T0), cadence)).toBe(
      true,
    );
  });

  it("is due once the head is the given number of rows past the last Event, however little time passed", () => {
    const now = Date.parse(at(1));
    expect(auditAnchorEventDue({ sequence: 1499, hash: hash("a") }, last, now, cadence)).toBe(false);
    expect(auditAnchorEventDue({ sequence: 1500, hash: hash("a") }, last, now, cadence)).toBe(true);
  });

  it("is due once the interval has passed since the last Event, however few rows were written", () => {
    const head = { sequence: 501, hash: hash("a") };
    expect(auditAnchorEventDue(head, last, Date.parse(at(9.9)), cadence)).toBe(false);
    expect(auditAnchorEventDue(head, last, Date.parse(at(10)), cadence)).toBe(true);
  });

  it("is never due for a head that has not moved past the last Event, however long ago it was", () => {
    const now = Date.parse(at(600));
    expect(auditAnchorEventDue({ sequence: 500, hash: hash("a") }, last, now, cadence)).toBe(false);
    expect(auditAnchorEventDue({ sequence: 400, hash: hash("a") }, last, now, cadence)).toBe(false);
  });
});

describe("status.audit from the reported head", () => {
  it("records the first head with the time and an Event", () => {
    expect(nextAuditStatus(undefined, { sequence: 7, hash: hash("a") }, T0, cadence)).toEqual({
      sequence: 7,
      hash: hash("a"),
      at: T0,
      lastEvent: { sequence: 7, at: T0 },
    });
  });

  it("moves forward, keeping the last Event until the next one is due", () => {
    const first = nextAuditStatus(undefined, { sequence: 7, hash: hash("a") }, T0, cadence);
    const moved = nextAuditStatus(first, { sequence: 9, hash: hash("b") }, at(1), cadence);
    expect(moved).toEqual({ sequence: 9, hash: hash("b"), at: at(1), lastEvent: { sequence: 7, at: T0 } });
    const due = nextAuditStatus(moved, { sequence: 12, hash: hash("c") }, at(10), cadence);
    expect(due?.lastEvent).toEqual({ sequence: 12, at: at(10) });
  });

  it("never moves back: a head behind the anchor (a database restored or rolled back) leaves it as it is", () => {
    const anchored = nextAuditStatus(undefined, { sequence: 900, hash: hash("a") }, T0, cadence);
    expect(nextAuditStatus(anchored, { sequence: 300, hash: hash("b") }, at(30), cadence)).toBe(anchored);
    expect(nextAuditStatus(anchored, { sequence: 900, hash: hash("c") }, at(30), cadence)).toBe(anchored);
  });

  it("keeps what it has when the runtime reports no head (it has written no row yet)", () => {
    const anchored = nextAuditStatus(undefined, { sequence: 900, hash: hash("a") }, T0, cadence);
    expect(nextAuditStatus(anchored, undefined, at(1), cadence)).toBe(anchored);
    expect(nextAuditStatus(undefined, undefined, at(1), cadence)).toBeUndefined();
  });
});

describe("the head an AuditAnchor Event records", () => {
  const anchored = { sequence: 12, hash: hash("c"), at: T0, lastEvent: { sequence: 12, at: T0 } };

  it("is the status head, in the status write that records the Event", () => {
    const before = { sequence: 9, hash: hash("b"), at: T0, lastEvent: { sequence: 7, at: T0 } };
    expect(newAuditAnchor(before, anchored)).toEqual({ sequence: 12, hash: hash("c") });
    expect(newAuditAnchor(undefined, anchored)).toEqual({ sequence: 12, hash: hash("c") });
  });

  it("is nothing when the Event is already recorded, or the head moved without one", () => {
    expect(newAuditAnchor(anchored, anchored)).toBeUndefined();
    expect(
      newAuditAnchor(anchored, { ...anchored, sequence: 13, hash: hash("d"), at: at(1) }),
    ).toBeUndefined();
    expect(newAuditAnchor(undefined, undefined)).toBeUndefined();
  });

  it("is written in a note the verifier reads back exactly, and no other note passes for one", () => {
    const head = { sequence: 1234, hash: hash("e") };
    expect(auditAnchorNote(head)).toBe(`Audit chain head anchored: sequence 1234, hash ${hash("e")}.`);
    expect(readAuditAnchorNote(auditAnchorNote(head))).toEqual(head);
    expect(
      readAuditAnchorNote(`Audit chain head anchored: sequence 1234, hash ${hash("E")}.`),
    ).toBeUndefined();
    expect(readAuditAnchorNote(`Audit chain head anchored: sequence 01, hash ${hash("e")}.`)).toBeUndefined();
    expect(readAuditAnchorNote("Halted by Spec: test.")).toBeUndefined();
  });
});
