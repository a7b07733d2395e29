import { AuditAnchorStatus } from "../../api/v1alpha1/index.ts";
import { type ChainFacts, checkAnchors } from "../../bot-runtime/store/audit-anchors.ts";
import { SCHEMA } from "../../bot-runtime/store/database.ts";
import { LIVE_ORDER_STATUSES } from "../../bot-runtime/store/store.ts";
import type { ChainAnchorCheck, ChainCheck } from "./views.ts";

// The statements behind a bot's page, and the pure choices around them (how many rows, how coarse a
// chart). Every statement is keyed by the bot's uid: the TradingBot the person was allowed to get, not
// an older bot that once had its name.

export type Statement = { text: string; values: unknown[] };

export const RECENT_ROWS = 100;
export const AUDIT_PAGE_DEFAULT = 50;
export const AUDIT_PAGE_MAX = 200;
/** At most this many points on the chart, whatever the time range. */
export const CHART_POINTS = 720;
export const DEFAULT_CHART_RANGE_MS = 24 * 3_600_000;

export function openOrdersStatement(botUid: string): Statement {
  return {
    text: `SELECT client_order_id, slot, side, type, amount::text, price::text, filled::text, status,
                  exchange_order_id, origin, reason, created_at
             FROM ${SCHEMA}.orders WHERE bot_uid = $1 AND status = ANY($2::text[])
            ORDER BY created_at DESC, id DESC LIMIT ${RECENT_ROWS}`,
    values: [botUid, [...LIVE_ORDER_STATUSES]],
  };
}

export function recentFillsStatement(botUid: string): Statement {
  return {
    text: `SELECT trade_id, client_order_id, side, price::text, amount::text, fee::text, fee_currency, traded_at
             FROM ${SCHEMA}.fills WHERE bot_uid = $1
            ORDER BY traded_at DESC, id DESC LIMIT ${RECENT_ROWS}`,
    values: [botUid],
  };
}

/** Seconds per chart point: the range split into at most CHART_POINTS buckets, never under a minute (a snapshot's interval). */
export function snapshotBucketSeconds(since: Date, now: Date): number {
  const rangeSeconds = Math.max(0, (now.getTime() - since.getTime()) / 1000);
  return Math.max(60, Math.ceil(rangeSeconds / CHART_POINTS));
}

/** The last snapshot of each bucket since `since`, oldest first. */
export function snapshotsStatement(botUid: string, since: Date, now: Date): Statement {
  const bucket = `floor(extract(epoch FROM taken_at) / $3)`;
  return {
    text: `SELECT taken_at, last_price::text, equity::text, realized_pnl::text,
                  (position_base * last_price - position_cost)::text AS unrealized_pnl,
                  position_base::text, open_orders
             FROM (SELECT DISTINCT ON (${bucket}) * FROM ${SCHEMA}.snapshots
                    WHERE bot_uid = $1 AND taken_at >= $2
                    ORDER BY ${bucket}, taken_at DESC) AS last_of_bucket
            ORDER BY taken_at`,
    values: [botUid, since.toISOString(), snapshotBucketSeconds(since, now)],
  };
}

export function riskEventsStatement(botUid: string): Statement {
  return {
    text: `SELECT occurred_at, limit_name, halting, value::text, threshold::text, slot, message
             FROM ${SCHEMA}.risk_events WHERE bot_uid = $1
            ORDER BY occurred_at DESC, id DESC LIMIT ${RECENT_ROWS}`,
    values: [botUid],
  };
}

/** Keyset pagination on the chain's seq, newest first; one row more than asked tells whether there is more. */
export function auditPageStatement(botUid: string, before: number | undefined, limit: number): Statement {
  return {
    text: `SELECT id, seq, at, event, payload, row_hash FROM ${SCHEMA}.audit_log
            WHERE bot_uid = $1 AND ($2::bigint IS NULL OR seq < $2::bigint)
            ORDER BY seq DESC LIMIT $3`,
    values: [botUid, before ?? null, limit + 1],
  };
}

export function haltsStatement(botUid: string): Statement {
  return {
    text: `SELECT seq, at, payload FROM ${SCHEMA}.audit_log WHERE bot_uid = $1 AND event = 'halt'
            ORDER BY seq DESC LIMIT ${RECENT_ROWS}`,
    values: [botUid],
  };
}

/** The head a TradingBot's status.audit anchors: undefined when it has none, "unreadable" when it does not parse. */
export type StatusAnchor = AuditAnchorStatus | undefined | "unreadable";

export function statusAnchor(audit: unknown): StatusAnchor {
  if (audit === undefined) return undefined;
  const parsed = AuditAnchorStatus.safeParse(audit);
  // Unreadable is not absent: a mangled status must not pass as a bot that was never anchored.
  return parsed.success ? parsed.data : "unreadable";
}

/** The anchor held to the database by the runtime's own check (`bot-runtime audit verify --anchors`). */
export function anchorCheck(facts: ChainFacts, anchor: StatusAnchor): ChainAnchorCheck {
  if (anchor === undefined) return { result: "none" };
  if (anchor === "unreadable") return { result: "unreadable" };
  const { sequence, hash, at: anchoredAt } = anchor;
  const [finding] = checkAnchors(facts, [{ sequence, hash, source: "status.audit" }]).findings;
  const anchored = { sequence, hash, anchoredAt };
  switch (finding?.result) {
    case "matches":
      return { result: "matches", ...anchored };
    case "differs":
      return { result: "differs", ...anchored, databaseHash: finding.databaseHash };
    case "pruned":
      return { result: "pruned", ...anchored, prunedThrough: finding.prunedThrough };
    case "unverified":
      return { result: "unverified", ...anchored, brokenAt: finding.brokenAt };
    default:
      return { result: "missing", ...anchored, databaseEndsAt: facts.lastSequence };
  }
}

export function chainCheck(facts: ChainFacts, anchor: StatusAnchor): ChainCheck {
  const { verdict } = facts;
  const chain = verdict.intact
    ? { intact: true as const, rows: verdict.rows }
    : { intact: false as const, rows: verdict.rows, brokenRow: verdict.brokenRow, reason: verdict.reason };
  return { ...chain, anchor: anchorCheck(facts, anchor) };
}
