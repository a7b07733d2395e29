import type pg from "pg";
import { EMPTY_POSITION, type Position } from "../accounting/position.ts";
import type { ExchangeTrade, OrderSide, OrderType } from "../exchange/port.ts";
import { Decimal } from "../money/decimal.ts";
import type { LossBaseline } from "../risk/loss-tracking.ts";
import {
  type AuditEntry,
  auditRowHash,
  type BotIdentity,
  GENESIS_HASH,
  type JsonValue,
} from "./audit-chain.ts";
import { classifyDatabaseError, inTransaction, SCHEMA } from "./database.ts";

// The runtime's reads and writes, for one bot. Every change of state is written in one transaction with
// the audit row that records it, so the audit log and the tables never disagree. Connection failures
// surface as DatabaseUnavailable (the caller fails closed); anything else is a real error.

export type OrderStatus =
  | "pending"
  | "unknown"
  | "open"
  | "filled"
  | "canceled"
  | "rejected"
  | "expired"
  | "not_placed";
export const LIVE_ORDER_STATUSES: readonly OrderStatus[] = ["pending", "unknown", "open"];
export type OrderOrigin = "strategy" | "adopted" | "flatten";

export type OrderRecord = {
  clientOrderId: string;
  slot: string;
  slotSeq: number;
  side: OrderSide;
  type: OrderType;
  amount: Decimal;
  price?: Decimal;
  status: OrderStatus;
  exchangeOrderId?: string;
  filled: Decimal;
  origin: OrderOrigin;
  unknownSince?: Date;
  createdAt: Date;
};

export type BotState = {
  strategyMemory: unknown;
  position: Position;
  tradeCursor?: string;
  baseline?: LossBaseline;
};

export type AuditPayload = { [key: string]: JsonValue };
export type AuditRecord = { event: string; payload: AuditPayload; at?: string };

export type NewOrder = {
  slot: string;
  side: OrderSide;
  type: OrderType;
  amount: Decimal;
  price?: Decimal;
  reason: string;
  origin: OrderOrigin;
};

export type OrderChange = {
  status: OrderStatus;
  exchangeOrderId?: string;
  filled?: Decimal;
  detail?: string;
  unknownSince?: Date;
};

/** A trade of one of the bot's orders, with the order it belongs to. */
export type OwnTrade = ExchangeTrade & { clientOrderId: string; slot: string };

export type FillFold = (newTrades: readonly OwnTrade[]) => { strategyMemory: object; position: Position };

export type RiskEventRecord = {
  limit: string;
  halting: boolean;
  value: Decimal;
  threshold: Decimal;
  slot?: string;
  message: string;
};

/** A latched risk halt as the runtime records it for its own next start. */
export type RiskLatchRecord = {
  haltId: string;
  limit: string;
  value: Decimal;
  threshold: Decimal;
  message: string;
};

/** A latch read back: the same, with when it was taken. */
export type StoredRiskLatch = RiskLatchRecord & { latchedAt: Date };

export type Snapshot = {
  lastPrice: Decimal;
  position: Position;
  baseBalance?: Decimal;
  quoteBalance?: Decimal;
  equity?: Decimal;
  openOrders: number;
};

type OrderRow = {
  client_order_id: string;
  slot: string;
  slot_seq: number;
  side: OrderSide;
  type: OrderType;
  amount: string;
  price: string | null;
  status: OrderStatus;
  exchange_order_id: string | null;
  filled: string;
  origin: OrderOrigin;
  unknown_since: Date | null;
  created_at: Date;
};

function toOrderRecord(row: OrderRow): OrderRecord {
  return {
    clientOrderId: row.client_order_id,
    slot: row.slot,
    slotSeq: row.slot_seq,
    side: row.side,
    type: row.type,
    amount: Decimal.parse(row.amount),
    ...(row.price === null ? {} : { price: Decimal.parse(row.price) }),
    status: row.status,
    ...(row.exchange_order_id === null ? {} : { exchangeOrderId: row.exchange_order_id }),
    filled: Decimal.parse(row.filled),
    origin: row.origin,
    ...(row.unknown_since === null ? {} : { unknownSince: row.unknown_since }),
    createdAt: row.created_at,
  };
}

const ORDER_COLUMNS =
  "client_order_id, slot, slot_seq, side, type, amount::text, price::text, status, exchange_order_id, filled::text, origin, unknown_since, created_at";

export class Store {
  readonly #pool: pg.Pool;
  readonly #bot: BotIdentity;
  readonly #symbol: string;
  /** Seq and hash of the last audit row this runtime committed; undefined until read. */
  #chainHead: { seq: number; hash: string } | undefined;
  /** The same, kept when #chainHead is dropped after a failed transaction: what /status reports. */
  #committedHead: { seq: number; hash: string } | undefined;

  constructor(pool: pg.Pool, bot: BotIdentity, symbol: string) {
    this.#pool = pool;
    this.#bot = bot;
    this.#symbol = symbol;
  }

  /**
   * Runs `work` in one transaction. `append` adds audit rows to the bot's chain, each linked to the one
   * before it. The chain head is kept between transactions (one runtime writes a bot's chain); the unique
   * (bot_uid, seq) constraint catches a head that went stale (another writer): the transaction is then
   * run again once, from the head read under the chain's lock.
   */
  async #transaction<T>(
    work: (client: pg.PoolClient, append: (record: AuditRecord) => Promise<void>) => Promise<T>,
  ): Promise<T> {
    try {
      return await this.#attempt(work);
    } catch (error) {
      if ((error as { constraint?: string }).constraint !== "audit_log_bot_uid_seq_key") throw error;
      return await this.#attempt(work);
    }
  }

  async #attempt<T>(
    work: (client: pg.PoolClient, append: (record: AuditRecord) => Promise<void>) => Promise<T>,
  ): Promise<T> {
    let head = this.#chainHead;
    try {
      const result = await inTransaction(this.#pool, (client) =>
        work(client, async (record: AuditRecord) => {
          head ??= await this.#lockChainHead(client);
          head = await this.#insertAudit(client, head, record);
        }),
      );
      this.#chainHead = head;
      if (head !== undefined) this.#committedHead = head;
      return result;
    } catch (error) {
      this.#chainHead = undefined;
      throw classifyDatabaseError(error);
    }
  }

  async #query<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(text, values);
    } catch (error) {
      throw classifyDatabaseError(error);
    }
  }

  /**
   * The newest audit row this runtime committed (undefined before its first): the head the operator
   * anchors in the API server. Rows committed by an earlier runtime of the bot are covered by it.
   */
  get auditHead(): { seq: number; hash: string } | undefined {
    return this.#committedHead;
  }

  async ping(): Promise<void> {
    await this.#query("SELECT 1");
  }

  /** Locks the bot's chain for this transaction and reads its last seq and hash (or the pruning anchor). */
  async #lockChainHead(client: pg.PoolClient): Promise<{ seq: number; hash: string }> {
    const bot = this.#bot;
    // One writer per chain at a time, even if two processes ever ran for one bot. (bigint columns arrive
    // as strings from pg; ordering must be on the column itself, never on a text cast of it.)
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`audit:${bot.uid}`]);
    const last = await client.query<{ seq: string; row_hash: string }>(
      `SELECT seq, row_hash FROM ${SCHEMA}.audit_log WHERE bot_uid = $1 ORDER BY seq DESC LIMIT 1`,
      [bot.uid],
    );
    let previous = last.rows[0];
    if (previous === undefined) {
      const anchor = await client.query<{ seq: string; row_hash: string }>(
        `SELECT through_seq AS seq, through_hash AS row_hash FROM ${SCHEMA}.audit_prune
          WHERE bot_uid = $1 ORDER BY through_seq DESC LIMIT 1`,
        [bot.uid],
      );
      previous = anchor.rows[0];
    }
    return { seq: Number(previous?.seq ?? 0), hash: previous?.row_hash ?? GENESIS_HASH };
  }

  async #insertAudit(
    client: pg.PoolClient,
    head: { seq: number; hash: string },
    record: AuditRecord,
  ): Promise<{ seq: number; hash: string }> {
    const bot = this.#bot;
    const entry: AuditEntry = {
      bot,
      seq: head.seq + 1,
      at: record.at ?? new Date().toISOString(),
      event: record.event,
      payload: record.payload,
    };
    const rowHash = auditRowHash(head.hash, entry);
    await client.query(
      `INSERT INTO ${SCHEMA}.audit_log (bot_namespace, bot_name, bot_uid, seq, at, event, payload, prev_hash, row_hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        bot.namespace,
        bot.name,
        bot.uid,
        entry.seq,
        entry.at,
        entry.event,
        JSON.stringify(entry.payload),
        head.hash,
        rowHash,
      ],
    );
    return { seq: entry.seq, hash: rowHash };
  }

  async appendAudit(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.#transaction(async (_client, append) => {
      for (const record of records) await append(record);
    });
  }

  async loadState(): Promise<BotState | undefined> {
    const { rows } = await this.#query<{
      strategy_memory: unknown;
      position_base: string;
      position_cost: string;
      realized_pnl: string;
      trade_cursor: string | null;
      loss_day: string | null;
      day_start_pnl: string | null;
      peak_equity: string | null;
    }>(
      `SELECT strategy_memory, position_base::text, position_cost::text, realized_pnl::text, trade_cursor,
              loss_day, day_start_pnl::text, peak_equity::text
         FROM ${SCHEMA}.bot_state WHERE bot_uid = $1`,
      [this.#bot.uid],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      strategyMemory: row.strategy_memory,
      position: {
        base: Decimal.parse(row.position_base),
        cost: Decimal.parse(row.position_cost),
        realizedPnl: Decimal.parse(row.realized_pnl),
      },
      ...(row.trade_cursor === null ? {} : { tradeCursor: row.trade_cursor }),
      ...(row.loss_day === null || row.day_start_pnl === null || row.peak_equity === null
        ? {}
        : {
            baseline: {
              day: row.loss_day,
              dayStartPnl: Decimal.parse(row.day_start_pnl),
              peakEquity: Decimal.parse(row.peak_equity),
            },
          }),
    };
  }

  /** Creates the bot's state on its first start; a later start finds it and changes nothing. */
  async initState(strategyType: string, memory: object, audit: AuditRecord): Promise<BotState> {
    await this.#transaction(async (client, append) => {
      const inserted = await client.query(
        `INSERT INTO ${SCHEMA}.bot_state (bot_uid, bot_namespace, bot_name, symbol, strategy_type, strategy_memory)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (bot_uid) DO NOTHING`,
        [
          this.#bot.uid,
          this.#bot.namespace,
          this.#bot.name,
          this.#symbol,
          strategyType,
          JSON.stringify(memory),
        ],
      );
      if (inserted.rowCount === 1) await append(audit);
    });
    return (await this.loadState()) ?? { strategyMemory: memory, position: EMPTY_POSITION };
  }

  async liveOrders(): Promise<OrderRecord[]> {
    const { rows } = await this.#query<OrderRow>(
      `SELECT ${ORDER_COLUMNS} FROM ${SCHEMA}.orders
        WHERE bot_uid = $1 AND status IN ('pending', 'unknown', 'open') ORDER BY id`,
      [this.#bot.uid],
    );
    return rows.map(toOrderRecord);
  }

  async orderByClientId(clientOrderId: string): Promise<OrderRecord | undefined> {
    const { rows } = await this.#query<OrderRow>(
      `SELECT ${ORDER_COLUMNS} FROM ${SCHEMA}.orders WHERE bot_uid = $1 AND client_order_id = $2`,
      [this.#bot.uid, clientOrderId],
    );
    return rows[0] === undefined ? undefined : toOrderRecord(rows[0]);
  }

  /** Client ids of the bot's orders with these exchange order ids. */
  async clientIdsByExchangeId(
    exchangeOrderIds: readonly string[],
  ): Promise<Map<string, { clientOrderId: string; slot: string }>> {
    if (exchangeOrderIds.length === 0) return new Map();
    const { rows } = await this.#query<{ exchange_order_id: string; client_order_id: string; slot: string }>(
      `SELECT exchange_order_id, client_order_id, slot FROM ${SCHEMA}.orders
        WHERE bot_uid = $1 AND exchange_order_id = ANY($2::text[])`,
      [this.#bot.uid, exchangeOrderIds],
    );
    return new Map(
      rows.map((row) => [row.exchange_order_id, { clientOrderId: row.client_order_id, slot: row.slot }]),
    );
  }

  /**
   * Records an order before it is sent: the next sequence number of its slot gives its client order id.
   * With an exchange order already known (adoption), the order is recorded as open instead of pending.
   */
  async recordOrder(
    order: NewOrder,
    clientOrderIdFor: (slotSeq: number) => string,
    audit: (clientOrderId: string) => AuditRecord,
    adopted?: { clientOrderId: string; slotSeq: number; exchangeOrderId: string; filled: Decimal },
  ): Promise<OrderRecord> {
    return this.#transaction(async (client, append) => {
      let slotSeq: number;
      let clientOrderId: string;
      if (adopted === undefined) {
        const { rows } = await client.query<{ next: number }>(
          `SELECT coalesce(max(slot_seq) + 1, 0) AS next FROM ${SCHEMA}.orders WHERE bot_uid = $1 AND slot = $2`,
          [this.#bot.uid, order.slot],
        );
        slotSeq = rows[0]?.next ?? 0;
        clientOrderId = clientOrderIdFor(slotSeq);
      } else {
        slotSeq = adopted.slotSeq;
        clientOrderId = adopted.clientOrderId;
      }
      const { rows } = await client.query<OrderRow>(
        `INSERT INTO ${SCHEMA}.orders (bot_namespace, bot_name, bot_uid, client_order_id, slot, slot_seq, symbol, side,
                                      type, amount, price, status, exchange_order_id, filled, reason, origin)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         RETURNING ${ORDER_COLUMNS}`,
        [
          this.#bot.namespace,
          this.#bot.name,
          this.#bot.uid,
          clientOrderId,
          order.slot,
          slotSeq,
          this.#symbol,
          order.side,
          order.type,
          order.amount.toString(),
          order.price?.toString() ?? null,
          adopted === undefined ? "pending" : "open",
          adopted?.exchangeOrderId ?? null,
          (adopted?.filled ?? Decimal.ZERO).toString(),
          order.reason,
          order.origin,
        ],
      );
      await append(audit(clientOrderId));
      return toOrderRecord(rows[0] as OrderRow);
    });
  }

  /** Applies order changes, each with its audit row, in one transaction. */
  async updateOrders(
    changes: readonly { clientOrderId: string; change: OrderChange; audit?: AuditRecord }[],
  ): Promise<void> {
    if (changes.length === 0) return;
    await this.#transaction(async (client, append) => {
      for (const { clientOrderId, change, audit } of changes) {
        await client.query(
          `UPDATE ${SCHEMA}.orders
              SET status = $3,
                  exchange_order_id = coalesce($4, exchange_order_id),
                  filled = coalesce($5::numeric, filled),
                  detail = coalesce($6, detail),
                  unknown_since = $7,
                  updated_at = now()
            WHERE bot_uid = $1 AND client_order_id = $2`,
          [
            this.#bot.uid,
            clientOrderId,
            change.status,
            change.exchangeOrderId ?? null,
            change.filled?.toString() ?? null,
            change.detail ?? null,
            change.unknownSince ?? null,
          ],
        );
        if (audit !== undefined) await append(audit);
      }
    });
  }

  /**
   * Records the trades not recorded yet, folds them into strategy memory and position, and moves the
   * trade cursor, atomically: a trade is applied exactly once however often it is fetched.
   */
  async recordTrades(
    trades: readonly OwnTrade[],
    tradeCursor: string | undefined,
    fold: FillFold,
    audit: (trade: OwnTrade) => AuditRecord,
  ): Promise<OwnTrade[]> {
    return this.#transaction(async (client, append) => {
      await client.query(`SELECT 1 FROM ${SCHEMA}.bot_state WHERE bot_uid = $1 FOR UPDATE`, [this.#bot.uid]);
      const known = await client.query<{ trade_id: string }>(
        `SELECT trade_id FROM ${SCHEMA}.fills WHERE bot_uid = $1 AND trade_id = ANY($2::text[])`,
        [this.#bot.uid, trades.map((trade) => trade.id)],
      );
      const knownIds = new Set(known.rows.map((row) => row.trade_id));
      const fresh = trades.filter((trade) => !knownIds.has(trade.id));
      for (const trade of fresh) {
        await client.query(
          `INSERT INTO ${SCHEMA}.fills (bot_namespace, bot_name, bot_uid, trade_id, client_order_id, exchange_order_id,
                                       side, price, amount, fee, fee_currency, traded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          [
            this.#bot.namespace,
            this.#bot.name,
            this.#bot.uid,
            trade.id,
            trade.clientOrderId,
            trade.orderId,
            trade.side,
            trade.price.toString(),
            trade.amount.toString(),
            trade.fee.toString(),
            trade.feeCurrency,
            new Date(trade.timestamp).toISOString(),
          ],
        );
        await append(audit(trade));
      }
      const folded = fresh.length > 0 ? fold(fresh) : undefined;
      await client.query(
        `UPDATE ${SCHEMA}.bot_state
            SET trade_cursor = coalesce($2, trade_cursor),
                strategy_memory = coalesce($3::jsonb, strategy_memory),
                position_base = coalesce($4::numeric, position_base),
                position_cost = coalesce($5::numeric, position_cost),
                realized_pnl = coalesce($6::numeric, realized_pnl),
                updated_at = now()
          WHERE bot_uid = $1`,
        [
          this.#bot.uid,
          tradeCursor ?? null,
          folded === undefined ? null : JSON.stringify(folded.strategyMemory),
          folded?.position.base.toString() ?? null,
          folded?.position.cost.toString() ?? null,
          folded?.position.realizedPnl.toString() ?? null,
        ],
      );
      return fresh;
    });
  }

  /** Sum of recorded fills per order, to tell when every trade of an order has been seen. */
  async recordedFillTotals(clientOrderIds: readonly string[]): Promise<Map<string, Decimal>> {
    if (clientOrderIds.length === 0) return new Map();
    const { rows } = await this.#query<{ client_order_id: string; total: string }>(
      `SELECT client_order_id, sum(amount)::text AS total FROM ${SCHEMA}.fills
        WHERE bot_uid = $1 AND client_order_id = ANY($2::text[]) GROUP BY client_order_id`,
      [this.#bot.uid, clientOrderIds],
    );
    return new Map(rows.map((row) => [row.client_order_id, Decimal.parse(row.total)]));
  }

  async saveBaseline(baseline: LossBaseline): Promise<void> {
    await this.#query(
      `UPDATE ${SCHEMA}.bot_state SET loss_day = $2, day_start_pnl = $3, peak_equity = $4, updated_at = now()
        WHERE bot_uid = $1`,
      [this.#bot.uid, baseline.day, baseline.dayStartPnl.toString(), baseline.peakEquity.toString()],
    );
  }

  async recordRiskEvent(event: RiskEventRecord, audit: AuditRecord): Promise<void> {
    await this.#transaction(async (client, append) => {
      await client.query(
        `INSERT INTO ${SCHEMA}.risk_events (bot_namespace, bot_name, bot_uid, limit_name, halting, value, threshold, slot, message)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          this.#bot.namespace,
          this.#bot.name,
          this.#bot.uid,
          event.limit,
          event.halting,
          event.value.toString(),
          event.threshold.toString(),
          event.slot ?? null,
          event.message,
        ],
      );
      await append(audit);
    });
  }

  /** Records a latched risk halt; recording the same one twice is a no-op. */
  async recordRiskLatch(latch: RiskLatchRecord): Promise<void> {
    await this.#query(
      `INSERT INTO ${SCHEMA}.risk_latches (bot_namespace, bot_name, bot_uid, halt_id, limit_name, value, threshold, message)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (bot_uid, halt_id) DO NOTHING`,
      [
        this.#bot.namespace,
        this.#bot.name,
        this.#bot.uid,
        latch.haltId,
        latch.limit,
        latch.value.toString(),
        latch.threshold.toString(),
        latch.message,
      ],
    );
  }

  /** The bot's most recent latched risk halt, if it ever had one. */
  async latestRiskLatch(): Promise<StoredRiskLatch | undefined> {
    const { rows } = await this.#query<{
      halt_id: string;
      limit_name: string;
      value: string;
      threshold: string;
      message: string;
      latched_at: Date;
    }>(
      `SELECT halt_id, limit_name, value::text, threshold::text, message, latched_at FROM ${SCHEMA}.risk_latches
        WHERE bot_uid = $1 ORDER BY id DESC LIMIT 1`,
      [this.#bot.uid],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      haltId: row.halt_id,
      limit: row.limit_name,
      value: Decimal.parse(row.value),
      threshold: Decimal.parse(row.threshold),
      message: row.message,
      latchedAt: row.latched_at,
    };
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    await this.#query(
      `INSERT INTO ${SCHEMA}.snapshots (bot_namespace, bot_name, bot_uid, last_price, position_base, position_cost,
                                       realized_pnl, base_balance, quote_balance, equity, open_orders)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        this.#bot.namespace,
        this.#bot.name,
        this.#bot.uid,
        snapshot.lastPrice.toString(),
        snapshot.position.base.toString(),
        snapshot.position.cost.toString(),
        snapshot.position.realizedPnl.toString(),
        snapshot.baseBalance?.toString() ?? null,
        snapshot.quoteBalance?.toString() ?? null,
        snapshot.equity?.toString() ?? null,
        snapshot.openOrders,
      ],
    );
  }

  /** Orders sent (recorded for sending) since the given time: the orders-per-minute window after a restart. */
  async orderTimesSince(since: Date): Promise<number[]> {
    const { rows } = await this.#query<{ created_at: Date }>(
      `SELECT created_at FROM ${SCHEMA}.orders WHERE bot_uid = $1 AND origin <> 'adopted' AND created_at >= $2`,
      [this.#bot.uid, since.toISOString()],
    );
    return rows.map((row) => row.created_at.getTime());
  }

  /**
   * Retention: orders (finished ones only), fills, snapshots and risk events older than retentionDays; the
   * audit log only when auditRetentionDays is set, through the database's own pruning function.
   */
  async prune(
    retentionDays: number,
    auditRetentionDays: number | undefined,
  ): Promise<Record<string, number>> {
    return this.#transaction(async (client) => {
      const removed: Record<string, number> = {};
      const cutoff = `now() - make_interval(days => $2)`;
      const statements: [string, string][] = [
        [
          "orders",
          // The newest order of each slot stays: its sequence number is where the slot's next id continues,
          // and a reused client order id could be mistaken for an old order when a response is lost.
          `DELETE FROM ${SCHEMA}.orders o WHERE bot_uid = $1 AND updated_at < ${cutoff}
             AND status NOT IN ('pending', 'unknown', 'open')
             AND slot_seq < (SELECT max(slot_seq) FROM ${SCHEMA}.orders n WHERE n.bot_uid = o.bot_uid AND n.slot = o.slot)`,
        ],
        ["fills", `DELETE FROM ${SCHEMA}.fills WHERE bot_uid = $1 AND recorded_at < ${cutoff}`],
        ["snapshots", `DELETE FROM ${SCHEMA}.snapshots WHERE bot_uid = $1 AND taken_at < ${cutoff}`],
        ["risk_events", `DELETE FROM ${SCHEMA}.risk_events WHERE bot_uid = $1 AND occurred_at < ${cutoff}`],
      ];
      for (const [table, statement] of statements) {
        removed[table] = (await client.query(statement, [this.#bot.uid, retentionDays])).rowCount ?? 0;
      }
      if (auditRetentionDays !== undefined) {
        const { rows } = await client.query<{ removed: string }>(
          `SELECT ${SCHEMA}.prune_audit_log($1, $2)::text AS removed`,
          [this.#bot.uid, auditRetentionDays],
        );
        removed.audit_log = Number(rows[0]?.removed ?? 0);
      }
      return removed;
    });
  }
}
