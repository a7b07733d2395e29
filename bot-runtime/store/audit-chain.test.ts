import { describe, expect, it } from "vitest";
import {
  type AuditEntry,
  auditRowHash,
  canonicalJson,
  GENESIS_HASH,
  type StoredAuditRow,
  verifyChain,
} from "./audit-chain.ts";

const bot = { namespace: "trading", name: "grid-btc", uid: "6f1c0f7e-2a51-4f0e-b1f4-1d2a3b4c5d6e" };

function chain(entries: Omit<AuditEntry, "bot" | "seq">[]): StoredAuditRow[] {
  const rows: StoredAuditRow[] = [];
  let prev = GENESIS_HASH;
  for (const [index, entry] of entries.entries()) {
    const full: AuditEntry = { ...entry, bot, seq: index + 1 };
    const rowHash = auditRowHash(prev, full);
    rows.push({ ...full, id: String(100 + index), prevHash: prev, rowHash });
    prev = rowHash;
  }
  return rows;
}

function nth<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`no item ${index}`);
  return item;
}

const entries: Omit<AuditEntry, "bot" | "seq">[] = [
  { at: "2026-05-21T10:00:00.000Z", event: "started", payload: { version: "0.1.0" } },
  {
    at: "2026-05-21T10:00:01.250Z",
    event: "order_placed",
    payload: { clientOrderId: "tb0a-g3-1", price: "81000.5" },
  },
  { at: "2026-05-21T10:00:02.000Z", event: "fill", payload: { amount: "0.001", tradeId: "42" } },
];

describe("audit hash chain", () => {
  it("encodes objects canonically: sorted keys, no whitespace, independent of insertion order", () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null], c: "x" } })).toBe(
      '{"a":{"c":"x","d":[true,null]},"b":1}',
    );
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(canonicalJson({ s: 'quote " and \n newline' })).toBe('{"s":"quote \\" and \\n newline"}');
  });

  it("refuses floats, so money can only be recorded as decimal strings", () => {
    expect(() => canonicalJson({ price: 0.1 })).toThrow(/\$\.price is 0\.1/);
    expect(() => canonicalJson({ n: Number.MAX_SAFE_INTEGER + 1 })).toThrow(/safe integers/);
  });

  it("pins the hash of a known row, so the encoding cannot change unnoticed", () => {
    const [first] = chain(entries);
    expect(first?.rowHash).toBe(auditRowHash(GENESIS_HASH, { ...nth(entries, 0), bot, seq: 1 }));
    expect(first?.rowHash).toMatchInlineSnapshot(
      `"f9d698197378ed8099412da2ec64e1739dfd3659f0d325c687ce7968d7dcefb8"`,
    );
  });

  it("verifies an intact chain", () => {
    const rows = chain(entries);
    expect(verifyChain(rows)).toEqual({
      intact: true,
      rows: 3,
      end: { throughSeq: 3, hash: rows[2]?.rowHash },
    });
  });

  it("names the edited row when a payload is changed", () => {
    const rows = chain(entries);
    rows[1] = { ...nth(rows, 1), payload: { clientOrderId: "tb0a-g3-1", price: "91000.5" } };
    const verdict = verifyChain(rows);
    expect(verdict).toMatchObject({ intact: false, brokenRow: { id: "101", seq: 2 } });
    expect(verdict.intact || verdict.reason).toMatch(/edited/);
  });

  it("names the row after a deleted one", () => {
    const rows = chain(entries);
    rows.splice(1, 1);
    expect(verifyChain(rows)).toMatchObject({ intact: false, brokenRow: { id: "102", seq: 3 } });
  });

  it("detects a row rehashed after editing by its successor's prev_hash", () => {
    const rows = chain(entries);
    const edited = { ...nth(rows, 1), event: "order_cancelled" };
    rows[1] = { ...edited, rowHash: auditRowHash(edited.prevHash, edited) };
    expect(verifyChain(rows)).toMatchObject({ intact: false, brokenRow: { seq: 3 } });
  });

  it("verifies a chain page by page from each page's end", () => {
    const rows = chain(entries);
    const first = verifyChain(rows.slice(0, 2));
    expect(first.intact && verifyChain(rows.slice(2), first.end)).toMatchObject({ intact: true, rows: 1 });
  });

  it("accepts a chain pruned from its start when given the pruning anchor", () => {
    const rows = chain(entries);
    expect(verifyChain(rows.slice(1), { throughSeq: 1, hash: nth(rows, 0).rowHash })).toMatchObject({
      intact: true,
      rows: 2,
    });
    expect(verifyChain(rows.slice(1))).toMatchObject({ intact: false, brokenRow: { seq: 2 } });
  });
});
