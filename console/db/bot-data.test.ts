import { describe, expect, it } from "vitest";
import type { ChainFacts } from "../../bot-runtime/store/audit-anchors.ts";
import {
  type AuditEntry,
  auditRowHash,
  GENESIS_HASH,
  type StoredAuditRow,
  verifyChain,
} from "../../bot-runtime/store/audit-chain.ts";
import {
  AUDIT_PAGE_MAX,
  anchorCheck,
  auditPageStatement,
  CHART_POINTS,
  chainCheck,
  openOrdersStatement,
  snapshotBucketSeconds,
  snapshotsStatement,
  statusAnchor,
} from "./queries.ts";
import { type AuditRow, auditPage, haltView } from "./views.ts";

const at = new Date("2026-03-01T12:00:00.000Z");
const auditRow = (seq: number): AuditRow => ({
  id: String(seq + 100),
  seq: String(seq),
  at,
  event: "order_placed",
  payload: { clientOrderId: `c${seq}` },
  row_hash: "a".repeat(64),
});

describe("a bot's data for the console", () => {
  it("selects every view's rows by the bot's uid alone", () => {
    const statement = openOrdersStatement("uid-1");
    expect(statement.values[0]).toBe("uid-1");
    expect(statement.text).toContain("WHERE bot_uid = $1");
    expect(statement.values[1]).toEqual(["pending", "unknown", "open"]);
  });

  it("draws at most CHART_POINTS points, and never buckets finer than a snapshot's minute", () => {
    const day = new Date(at.getTime() - 24 * 3_600_000);
    expect(snapshotBucketSeconds(day, at)).toBe(120);
    expect((24 * 3600) / snapshotBucketSeconds(day, at)).toBeLessThanOrEqual(CHART_POINTS);
    expect(snapshotBucketSeconds(new Date(at.getTime() - 60_000), at)).toBe(60);
    expect(snapshotBucketSeconds(new Date(at.getTime() + 60_000), at)).toBe(60);
    expect(snapshotsStatement("u", day, at).values).toEqual(["u", day.toISOString(), 120]);
  });

  it("pages the audit trail by seq, newest first, and says where the next page starts", () => {
    expect(auditPageStatement("u", 40, 10).values).toEqual(["u", 40, 11]);
    expect(auditPageStatement("u", undefined, AUDIT_PAGE_MAX).values).toEqual(["u", null, 201]);
    const full = auditPage([5, 4, 3].map(auditRow), 2);
    expect(full.items.map((item) => item.seq)).toEqual([5, 4]);
    expect(full.nextBefore).toBe(4);
    const last = auditPage([2, 1].map(auditRow), 2);
    expect(last.nextBefore).toBeNull();
    expect(last.items[0]).toMatchObject({ id: "102", seq: 2, at: at.toISOString(), event: "order_placed" });
  });

  it("tells a halt from its audit row: who engaged a switch and why, or a risk halt's id and limit", () => {
    expect(
      haltView({
        seq: "7",
        at,
        payload: {
          source: "KillSwitch/desk",
          reason: "exchange incident",
          by: "alice",
          noticedBy: "watch",
          onEngage: "CancelOrders",
        },
      }),
    ).toEqual({
      seq: 7,
      at: at.toISOString(),
      source: "KillSwitch/desk",
      by: "alice",
      reason: "exchange incident",
      haltId: null,
      noticedBy: "watch",
      onEngage: "CancelOrders",
    });
    expect(
      haltView({
        seq: "9",
        at,
        payload: {
          haltId: "risk-20260301T120000-0a1b2c3d",
          limit: "maxDailyLossQuote",
          message: "loss 60 > 50",
        },
      }),
    ).toMatchObject({
      source: "Risk",
      by: null,
      reason: "loss 60 > 50",
      haltId: "risk-20260301T120000-0a1b2c3d",
    });
  });

  it("reports a broken chain with the first broken row and why, an intact one with its length", () => {
    const intact = factsOf(chain(3), []);
    expect(chainCheck(intact, undefined)).toEqual({ intact: true, rows: 3, anchor: { result: "none" } });
    const broken: ChainFacts = {
      ...intact,
      verdict: { intact: false, rows: 1, brokenRow: { id: "12", seq: 2 }, reason: "edited" },
    };
    expect(chainCheck(broken, undefined)).toEqual({
      intact: false,
      rows: 1,
      brokenRow: { id: "12", seq: 2 },
      reason: "edited",
      anchor: { result: "none" },
    });
  });
});

const bot = { namespace: "trading", name: "grid-btc", uid: "6f1c0f7e-2a51-4f0e-b1f4-1d2a3b4c5d6e" };
const anchoredAt = "2026-03-01T12:05:00Z";

/** A chain of `count` rows built with the runtime's chain function; `edited` changes that row's payload. */
function chain(count: number, edited?: number): StoredAuditRow[] {
  const rows: StoredAuditRow[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= count; seq++) {
    const entry: AuditEntry = {
      bot,
      seq,
      at: new Date(at.getTime() + seq * 1000).toISOString(),
      event: "order_placed",
      payload: { clientOrderId: seq === edited ? "forged" : `c${seq}` },
    };
    const rowHash = auditRowHash(prev, entry);
    rows.push({ ...entry, id: String(100 + seq), prevHash: prev, rowHash });
    prev = rowHash;
  }
  return rows;
}

/** What auditChainFacts reads from the database, for these rows and anchored sequences. */
function factsOf(rows: StoredAuditRow[], sequences: number[]): ChainFacts {
  return {
    verdict: verifyChain(rows),
    prunedThrough: undefined,
    lastSequence: rows.at(-1)?.seq ?? 0,
    hashes: new Map(
      rows.filter((row) => sequences.includes(row.seq)).map((row) => [row.seq, row.rowHash] as const),
    ),
  };
}

const headOf = (rows: StoredAuditRow[], sequence: number) => ({
  sequence,
  hash: rows[sequence - 1]?.rowHash as string,
  at: anchoredAt,
});

describe("the audit chain held to the head the API server anchored (status.audit)", () => {
  const original = chain(8);

  it("verifies an untampered chain against the anchor, the database having grown past it", () => {
    const head = headOf(original, 6);
    expect(anchorCheck(factsOf(original, [6]), statusAnchor(head))).toEqual({
      result: "matches",
      sequence: 6,
      hash: head.hash,
      anchoredAt,
    });
  });

  it("reports a consistent rewrite, which the chain check alone passes, as a mismatch naming both hashes", () => {
    const head = headOf(original, 6);
    const rewritten = chain(8, 4);
    const facts = factsOf(rewritten, [6]);
    expect(facts.verdict.intact).toBe(true);
    expect(chainCheck(facts, statusAnchor(head))).toEqual({
      intact: true,
      rows: 8,
      anchor: {
        result: "differs",
        sequence: 6,
        hash: head.hash,
        anchoredAt,
        databaseHash: rewritten[5]?.rowHash,
      },
    });
  });

  it("reports rows cut off the end, below the anchor, as missing, saying where the database ends", () => {
    const head = headOf(original, 6);
    const cut = original.slice(0, 4);
    expect(anchorCheck(factsOf(cut, [6]), statusAnchor(head))).toEqual({
      result: "missing",
      sequence: 6,
      hash: head.hash,
      anchoredAt,
      databaseEndsAt: 4,
    });
    expect(anchorCheck(factsOf([], [6]), statusAnchor(head))).toMatchObject({
      result: "missing",
      databaseEndsAt: 0,
    });
  });

  it("does not count a matching hash after a break in the chain as verified", () => {
    const head = headOf(original, 6);
    const edited = original.map((row) => (row.seq === 3 ? { ...row, payload: { clientOrderId: "x" } } : row));
    expect(anchorCheck(factsOf(edited, [6]), statusAnchor(head))).toMatchObject({
      result: "unverified",
      brokenAt: 3,
    });
  });

  it("says when audit retention pruned the anchored row, instead of calling it missing", () => {
    const head = headOf(original, 2);
    const facts: ChainFacts = {
      ...factsOf(original.slice(4), [2]),
      verdict: verifyChain(original.slice(4), { throughSeq: 4, hash: original[3]?.rowHash as string }),
      prunedThrough: { throughSeq: 4, hash: original[3]?.rowHash as string },
    };
    expect(anchorCheck(facts, statusAnchor(head))).toMatchObject({ result: "pruned", prunedThrough: 4 });
  });

  it("tells a bot never anchored from one whose status.audit does not parse", () => {
    const facts = factsOf(original, []);
    expect(anchorCheck(facts, statusAnchor(undefined))).toEqual({ result: "none" });
    expect(statusAnchor({ sequence: 6, hash: "not-a-hash", at: anchoredAt })).toBe("unreadable");
    expect(anchorCheck(facts, statusAnchor({ sequence: 0, hash: "a".repeat(64), at: anchoredAt }))).toEqual({
      result: "unreadable",
    });
  });
});
