// What the browser is shown of a bot's record in PostgreSQL, and the pure functions that turn rows (as
// node-postgres returns them: numerics cast to text, timestamps as Date) into it. Money stays a decimal
// string; only the chart turns it into a number, to draw it.

export interface OrderView {
  clientOrderId: string;
  slot: string;
  side: string;
  type: string;
  amount: string;
  price: string | null;
  filled: string;
  status: string;
  exchangeOrderId: string | null;
  origin: string;
  reason: string;
  createdAt: string;
}

export interface FillView {
  tradeId: string;
  clientOrderId: string;
  side: string;
  price: string;
  amount: string;
  fee: string;
  feeCurrency: string;
  tradedAt: string;
}

export interface SnapshotPoint {
  at: string;
  lastPrice: string;
  /** Quote value of the bot's balances, when the exchange reported them. */
  equity: string | null;
  realizedPnl: string;
  /** Position at the snapshot's last price less what it cost. */
  unrealizedPnl: string;
  positionBase: string;
  openOrders: number;
}

export interface RiskEventView {
  at: string;
  limit: string;
  halting: boolean;
  value: string;
  threshold: string;
  slot: string | null;
  message: string;
}

export type AuditPayloadView = { [key: string]: unknown };

export interface AuditEntryView {
  id: string;
  seq: number;
  at: string;
  event: string;
  payload: AuditPayloadView;
  rowHash: string;
}

/**
 * The database's chain held to the head the API server anchored in the TradingBot's status.audit
 * (bot-runtime/store/audit-anchors.ts): a rewrite of the whole table, every hash recomputed, still passes
 * the chain check but no longer has the anchored hash at the anchored sequence.
 */
export type ChainAnchorCheck =
  /** The operator has not recorded a head yet (a new bot, or one whose runtime never reported). */
  | { result: "none" }
  /** status.audit is there but does not parse: not the same as no anchor. */
  | { result: "unreadable" }
  | { result: "matches"; sequence: number; hash: string; anchoredAt: string }
  | { result: "differs"; sequence: number; hash: string; anchoredAt: string; databaseHash: string }
  /** No row at the anchored sequence; `databaseEndsAt` below it means rows were cut off the end. */
  | { result: "missing"; sequence: number; hash: string; anchoredAt: string; databaseEndsAt: number }
  /** Audit retention pruned the anchored row: nothing left to compare with. */
  | { result: "pruned"; sequence: number; hash: string; anchoredAt: string; prunedThrough: number }
  /** The hash matches, but the chain is broken before it, so the row proves nothing. */
  | { result: "unverified"; sequence: number; hash: string; anchoredAt: string; brokenAt: number };

/** The result of checking a bot's whole audit chain (bot-runtime/store/audit-chain.ts), and its anchor. */
export type ChainCheck = (
  | { intact: true; rows: number }
  | { intact: false; rows: number; brokenRow: { id: string; seq: number }; reason: string }
) & { anchor: ChainAnchorCheck };

export interface AuditPage {
  items: AuditEntryView[];
  /** `before` for the next (older) page; null on the last page. */
  nextBefore: number | null;
  /** The chain's check, with the first page only (it reads the whole chain). */
  chain?: ChainCheck;
}

export interface HaltView {
  seq: number;
  at: string;
  /** `Spec`, `KillSwitch/<name>`, `Risk`, or what else the runtime recorded. */
  source: string;
  /** Who engaged the switch (the admission stamp), when known. */
  by: string | null;
  reason: string;
  /** A risk halt's id, the one an acknowledgement names. */
  haltId: string | null;
  /** How the runtime learned of it (`watch`, `signal`). */
  noticedBy: string | null;
  onEngage: string | null;
}

export type OrderRow = {
  client_order_id: string;
  slot: string;
  side: string;
  type: string;
  amount: string;
  price: string | null;
  filled: string;
  status: string;
  exchange_order_id: string | null;
  origin: string;
  reason: string;
  created_at: Date;
};

export function orderView(row: OrderRow): OrderView {
  return {
    clientOrderId: row.client_order_id,
    slot: row.slot,
    side: row.side,
    type: row.type,
    amount: row.amount,
    price: row.price,
    filled: row.filled,
    status: row.status,
    exchangeOrderId: row.exchange_order_id,
    origin: row.origin,
    reason: row.reason,
    createdAt: row.created_at.toISOString(),
  };
}

export type FillRow = {
  trade_id: string;
  client_order_id: string;
  side: string;
  price: string;
  amount: string;
  fee: string;
  fee_currency: string;
  traded_at: Date;
};

export function fillView(row: FillRow): FillView {
  return {
    tradeId: row.trade_id,
    clientOrderId: row.client_order_id,
    side: row.side,
    price: row.price,
    amount: row.amount,
    fee: row.fee,
    feeCurrency: row.fee_currency,
    tradedAt: row.traded_at.toISOString(),
  };
}

export type SnapshotRow = {
  taken_at: Date;
  last_price: string;
  equity: string | null;
  realized_pnl: string;
  unrealized_pnl: string;
  position_base: string;
  open_orders: number;
};

export function snapshotPoint(row: SnapshotRow): SnapshotPoint {
  return {
    at: row.taken_at.toISOString(),
    lastPrice: row.last_price,
    equity: row.equity,
    realizedPnl: row.realized_pnl,
    unrealizedPnl: row.unrealized_pnl,
    positionBase: row.position_base,
    openOrders: row.open_orders,
  };
}

export type RiskEventRow = {
  occurred_at: Date;
  limit_name: string;
  halting: boolean;
  value: string;
  threshold: string;
  slot: string | null;
  message: string;
};

export function riskEventView(row: RiskEventRow): RiskEventView {
  return {
    at: row.occurred_at.toISOString(),
    limit: row.limit_name,
    halting: row.halting,
    value: row.value,
    threshold: row.threshold,
    slot: row.slot,
    message: row.message,
  };
}

export type AuditRow = {
  id: string;
  seq: string;
  at: Date;
  event: string;
  payload: AuditPayloadView;
  row_hash: string;
};

export function auditEntryView(row: AuditRow): AuditEntryView {
  return {
    id: row.id,
    seq: Number(row.seq),
    at: row.at.toISOString(),
    event: row.event,
    payload: row.payload,
    rowHash: row.row_hash,
  };
}

/**
 * One page of the audit trail, newest first, from rows read with one more than `limit`: the extra row only
 * says that an older page exists.
 */
export function auditPage(rows: readonly AuditRow[], limit: number): Omit<AuditPage, "chain"> {
  const items = rows.slice(0, limit).map(auditEntryView);
  return { items, nextBefore: rows.length > limit ? (items.at(-1)?.seq ?? null) : null };
}

const textOrNull = (value: unknown): string | null =>
  typeof value === "string" && value !== "" ? value : null;

/**
 * A halt as its `halt` audit row tells it. A halt from a switch records source, reason and who engaged
 * it; a risk halt records its id, the breached limit and a message.
 */
export function haltView(row: Pick<AuditRow, "seq" | "at" | "payload">): HaltView {
  const payload = row.payload;
  const haltId = textOrNull(payload.haltId);
  return {
    seq: Number(row.seq),
    at: row.at.toISOString(),
    source: textOrNull(payload.source) ?? (haltId !== null ? "Risk" : "unknown"),
    by: textOrNull(payload.by),
    reason: textOrNull(payload.reason) ?? textOrNull(payload.message) ?? "",
    haltId,
    noticedBy: textOrNull(payload.noticedBy),
    onEngage: textOrNull(payload.onEngage),
  };
}
