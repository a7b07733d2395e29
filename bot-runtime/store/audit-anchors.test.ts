import { describe, expect, it } from "vitest";
import {
  type Anchor,
  type ChainFacts,
  checkAnchors,
  describeFinding,
  distinctAnchors,
} from "./audit-anchors.ts";
import {
  type AuditEntry,
  auditRowHash,
  GENESIS_HASH,
  type StoredAuditRow,
  verifyChain,
} from "./audit-chain.ts";

const bot = { namespace: "trading", name: "grid-btc", uid: "6f1c0f7e-2a51-4f0e-b1f4-1d2a3b4c5d6e" };

/** A chain of `count` rows, built with the real chain function; `price` changes one row's content. */
function chain(count: number, price: (seq: number) => string = () => "81000.5"): StoredAuditRow[] {
  const rows: StoredAuditRow[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= count; seq++) {
    const entry: AuditEntry = {
      bot,
      seq,
      at: new Date(Date.UTC(2026, 4, 21, 10, 0, seq)).toISOString(),
      event: "order_placed",
      payload: { clientOrderId: `tb0a-g3-${seq}`, price: price(seq) },
    };
    const rowHash = auditRowHash(prev, entry);
    rows.push({ ...entry, id: String(100 + seq), prevHash: prev, rowHash });
    prev = rowHash;
  }
  return rows;
}

function factsOf(rows: StoredAuditRow[], anchors: readonly Anchor[]): ChainFacts {
  const bySeq = new Map(rows.map((row) => [row.seq, row.rowHash]));
  const hashes = new Map<number, string>();
  for (const anchor of anchors) {
    const stored = bySeq.get(anchor.sequence);
    if (stored !== undefined) hashes.set(anchor.sequence, stored);
  }
  return {
    verdict: verifyChain(rows, undefined),
    prunedThrough: undefined,
    lastSequence: rows.at(-1)?.seq ?? 0,
    hashes,
  };
}

const anchorAt = (rows: StoredAuditRow[], sequence: number, source: string): Anchor => ({
  sequence,
  hash: rows[sequence - 1]?.rowHash as string,
  source,
});

describe("checking a chain against the API server's anchors", () => {
  const original = chain(10);
  const anchors = [
    anchorAt(original, 3, "Event a"),
    anchorAt(original, 6, "Event b"),
    anchorAt(original, 9, "status.audit"),
  ];

  it("passes an untampered chain, with a finding per anchor", () => {
    const check = checkAnchors(factsOf(original, anchors), anchors);
    expect(check.failures).toEqual([]);
    expect(check.findings.map((f) => [f.anchor.sequence, f.result])).toEqual([
      [3, "matches"],
      [6, "matches"],
      [9, "matches"],
    ]);
    expect(describeFinding(check.findings[0] as never)).toBe("anchor sequence 3 (Event a): hash matches");
  });

  it("names the first anchored sequence a consistent rewrite changed, with both hashes", () => {
    // Row 5 edited and every hash after it recomputed: the chain verifies on its own.
    const rewritten = chain(10, (seq) => (seq === 5 ? "1.00" : "81000.5"));
    expect(verifyChain(rewritten)).toMatchObject({ intact: true });
    const check = checkAnchors(factsOf(rewritten, anchors), anchors);
    expect(check.findings.map((f) => f.result)).toEqual(["matches", "differs", "differs"]);
    expect(check.failures).toEqual([
      `sequence 6 no longer matches its anchor: the database has hash ${rewritten[5]?.rowHash}, the API server anchored ${original[5]?.rowHash} (Event b)`,
    ]);
  });

  it("says where a truncated chain ends and what the API server anchored", () => {
    const truncated = original.slice(0, 7);
    const check = checkAnchors(factsOf(truncated, anchors), anchors);
    expect(check.findings.map((f) => f.result)).toEqual(["matches", "matches", "missing"]);
    expect(check.failures).toEqual(["the database ends at 7 but the API server anchored 9 (status.audit)"]);
  });

  it("fails when the chain is broken before the newest anchor, even where the anchored hash is still there", () => {
    const edited = chain(10);
    edited[4] = { ...(edited[4] as StoredAuditRow), payload: { clientOrderId: "x", price: "1.00" } };
    const check = checkAnchors(factsOf(edited, anchors), anchors);
    expect(check.findings.map((f) => f.result)).toEqual(["matches", "unverified", "unverified"]);
    expect(check.failures).toEqual([
      "the chain is broken at sequence 5, so it does not verify up to the newest anchor (9)",
    ]);
  });

  it("compares an anchor at the pruning point with the recorded hash, and skips older ones", () => {
    const kept = original.slice(6);
    const facts: ChainFacts = {
      verdict: verifyChain(kept, { throughSeq: 6, hash: original[5]?.rowHash as string }),
      prunedThrough: { throughSeq: 6, hash: original[5]?.rowHash as string },
      lastSequence: 10,
      hashes: new Map([[9, original[8]?.rowHash as string]]),
    };
    const check = checkAnchors(facts, anchors);
    expect(check.findings.map((f) => f.result)).toEqual(["pruned", "matches", "matches"]);
    expect(check.failures).toEqual([]);
    const forged = checkAnchors(
      { ...facts, prunedThrough: { throughSeq: 6, hash: "f".repeat(64) } },
      anchors,
    );
    expect(forged.failures[0]).toMatch(/^sequence 6 no longer matches its anchor/);
  });

  it("counts the status head and an Event that recorded the same head once, under the first source", () => {
    const same = [
      anchorAt(original, 9, "status.audit"),
      anchorAt(original, 9, "Event c"),
      anchors[0] as Anchor,
    ];
    expect(distinctAnchors(same).map((a) => [a.sequence, a.source])).toEqual([
      [3, "Event a"],
      [9, "status.audit"],
    ]);
  });
});
