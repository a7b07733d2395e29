import { describe, expect, it } from "vitest";
import { auditAnchorNote } from "../../api/v1alpha1/audit-anchor.ts";
import { eventAnchors, statusAnchor } from "./read-anchors.ts";

const owner = { namespace: "trading", name: "grid-btc", uid: "uid-1" };
const hash = (digit: string) => digit.repeat(64);
const audit = { sequence: 120, hash: hash("a"), at: "2026-03-01T12:00:00Z" };

function event(name: string, sequence: number, overrides: Record<string, unknown> = {}) {
  return {
    metadata: { name },
    reason: "AuditAnchor",
    note: auditAnchorNote({ sequence, hash: hash("b") }),
    eventTime: "2026-03-01T11:50:00.000000Z",
    regarding: { kind: "TradingBot", name: owner.name, uid: owner.uid },
    ...overrides,
  };
}

describe("the anchors in the API server", () => {
  it("takes status.audit of the chain's own TradingBot", () => {
    expect(statusAnchor({ metadata: { uid: "uid-1" }, status: { audit } }, owner)).toEqual({
      anchors: [{ sequence: 120, hash: hash("a"), source: "status.audit, 2026-03-01T12:00:00Z" }],
      notes: [],
      problems: [],
      botExists: true,
    });
  });

  it("takes nothing from a TradingBot of the same name created later, and says why", () => {
    const later = statusAnchor({ metadata: { uid: "uid-2" }, status: { audit } }, owner);
    expect(later).toMatchObject({ anchors: [], botExists: false });
    expect(later.notes).toEqual([
      "TradingBot trading/grid-btc is another object now (uid uid-2): its status anchors another chain",
    ]);
    expect(statusAnchor(undefined, owner).notes).toEqual(["TradingBot trading/grid-btc no longer exists"]);
  });

  it("counts a status.audit that does not parse as a problem, not as no anchor", () => {
    const mangled = statusAnchor({ metadata: { uid: "uid-1" }, status: { audit: { sequence: "x" } } }, owner);
    expect(mangled.problems).toEqual(["TradingBot trading/grid-btc has a status.audit that does not parse"]);
  });

  it("reads the AuditAnchor Events about the chain's TradingBot, and no other Event", () => {
    const anchors = eventAnchors(
      [
        event("grid-btc.1", 40),
        event("grid-btc.2", 90),
        event("grid-btc.3", 41, { regarding: { kind: "TradingBot", name: owner.name, uid: "uid-2" } }),
        event("grid-btc.4", 42, { reason: "Halted" }),
        event("grid-btc.5", 43, { note: "Audit chain head anchored: somewhere" }),
      ],
      owner,
    );
    expect(anchors).toEqual([
      { sequence: 40, hash: hash("b"), source: "Event grid-btc.1, 2026-03-01T11:50:00.000000Z" },
      { sequence: 90, hash: hash("b"), source: "Event grid-btc.2, 2026-03-01T11:50:00.000000Z" },
    ]);
  });
});
