import { createHash } from "node:crypto";

// The audit log is a hash chain per bot. Row n stores the hash of row n-1 (prev_hash) and its own hash
// over a canonical encoding of everything it records, so editing, deleting or reordering any row breaks
// the chain at that row, and `bot-runtime audit verify` names it.
//
// Canonical encoding (version 1): JSON with object keys sorted by UTF-16 code unit, no whitespace,
// strings escaped as JSON.stringify escapes them; only strings, booleans, null, safe integers, arrays
// and objects are allowed (money is always a decimal string, so no float formatting is involved).
//   row_hash = hex(sha256(canonical({v: 1, prevHash, bot: {namespace, name, uid}, seq, at, event, payload})))
// `at` is the ISO 8601 UTC time with milliseconds (what PostgreSQL's timestamptz round-trips exactly).
// The first row of a bot has prev_hash = 64 zeros.

export const AUDIT_ENCODING_VERSION = 1;
export const GENESIS_HASH = "0".repeat(64);

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export function canonicalJson(value: unknown, path = "$"): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isSafeInteger(value)) {
        throw new TypeError(
          `${path} is ${value}: only safe integers may be numbers; write decimals as strings`,
        );
      }
      return String(value);
    case "object": {
      if (Array.isArray(value)) {
        return `[${value.map((item, index) => canonicalJson(item, `${path}[${index}]`)).join(",")}]`;
      }
      const entries = Object.entries(value as Record<string, unknown>).filter(
        ([, item]) => item !== undefined,
      );
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item, `${path}.${key}`)}`).join(",")}}`;
    }
    default:
      throw new TypeError(`${path} is a ${typeof value}, which the audit encoding does not allow`);
  }
}

export type BotIdentity = { namespace: string; name: string; uid: string };

export type AuditEntry = {
  bot: BotIdentity;
  /** Position of the row in its bot's chain, from 1. */
  seq: number;
  /** ISO 8601 UTC with milliseconds. */
  at: string;
  event: string;
  payload: { [key: string]: JsonValue };
};

export function auditRowHash(prevHash: string, entry: AuditEntry): string {
  const encoded = canonicalJson({
    v: AUDIT_ENCODING_VERSION,
    prevHash,
    bot: { namespace: entry.bot.namespace, name: entry.bot.name, uid: entry.bot.uid },
    seq: entry.seq,
    at: entry.at,
    event: entry.event,
    payload: entry.payload,
  });
  return createHash("sha256").update(encoded).digest("hex");
}

export type StoredAuditRow = AuditEntry & { id: string; prevHash: string; rowHash: string };

/** Where a pruned chain now starts: the last pruned row's seq and hash (see the audit_prune table). */
export type ChainAnchor = { throughSeq: number; hash: string };

export type ChainVerdict =
  | { intact: true; rows: number; end: ChainAnchor }
  | { intact: false; rows: number; brokenRow: { id: string; seq: number }; reason: string };

/**
 * Checks one bot's rows, in seq order, from the genesis or from the anchor left by pruning; a long chain
 * can be checked in pages by passing each page's `end` as the next page's anchor.
 */
export function verifyChain(rows: readonly StoredAuditRow[], anchor?: ChainAnchor): ChainVerdict {
  let expectedPrev = anchor?.hash ?? GENESIS_HASH;
  let expectedSeq = (anchor?.throughSeq ?? 0) + 1;
  for (const [index, row] of rows.entries()) {
    const broken = (reason: string): ChainVerdict => ({
      intact: false,
      rows: index,
      brokenRow: { id: row.id, seq: row.seq },
      reason,
    });
    if (row.seq !== expectedSeq) {
      return broken(`expected seq ${expectedSeq}, found ${row.seq}: a row is missing or out of order`);
    }
    if (row.prevHash !== expectedPrev) {
      return broken(
        "prev_hash does not match the previous row's hash: a row before it was removed or replaced",
      );
    }
    const recomputed = auditRowHash(row.prevHash, row);
    if (recomputed !== row.rowHash) {
      return broken("row_hash does not match the row's content: the row was edited");
    }
    expectedPrev = row.rowHash;
    expectedSeq += 1;
  }
  return { intact: true, rows: rows.length, end: { throughSeq: expectedSeq - 1, hash: expectedPrev } };
}
