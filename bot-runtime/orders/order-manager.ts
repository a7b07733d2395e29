import { RECV_WINDOW_MS } from "../exchange/ccxt-binance.ts";
import {
  ExchangeFailure,
  type ExchangeOrder,
  type ExchangePort,
  isExchangeFailure,
} from "../exchange/port.ts";
import type { Decimal } from "../money/decimal.ts";
import type { Logger } from "../observability/logger.ts";
import type { RuntimeMetrics } from "../observability/metrics.ts";
import type { RoundedOrder } from "../risk/risk-verdict.ts";
import {
  type AuditRecord,
  LIVE_ORDER_STATUSES,
  type NewOrder,
  type OrderChange,
  type OrderRecord,
  type OrderStatus,
  type Store,
} from "../store/store.ts";
import type { LiveOrder } from "../strategies/intent.ts";
import { clientOrderIdFor, parseClientOrderId, botTag as tagOf } from "./client-order-id.ts";
import { planReconciliation } from "./reconciliation.ts";

// Places and cancels the bot's orders and keeps the database's view of them in step with the exchange.
//  - An order is written to the database (status pending) before it is sent.
//  - A lost answer (timeout, 5xx, dropped connection) makes it `unknown`; it is then looked up by its
//    client order id, never sent again. "Not found" only counts once the request can no longer arrive:
//    Binance rejects a request older than recvWindow, so after that window (plus a margin for clock skew)
//    an order the exchange does not know was never placed.

const LOOKUP_MARGIN_MS = 1_000;
const CANCEL_CONCURRENCY = 10;

const EXCHANGE_TO_RECORD_STATUS: Record<ExchangeOrder["status"], OrderStatus> = {
  open: "open",
  filled: "filled",
  canceled: "canceled",
  rejected: "rejected",
  expired: "expired",
};

const CLOSING_EVENTS: Partial<Record<OrderStatus, string>> = {
  filled: "order_filled",
  canceled: "order_cancelled",
  expired: "order_expired",
  rejected: "order_rejected",
};

export type PlaceOutcome = "placed" | "unknown" | "rejected" | "not_placed";

/**
 * cancelAllOwn could not cancel every order of the bot. Carries what it did cancel (to be recorded) and how
 * many of the bot's orders were still open as far as it knows (undefined: the open orders were never read).
 */
export class CancelIncomplete extends Error {
  readonly cancelled: readonly ExchangeOrder[];
  readonly stillOpen: number | undefined;

  constructor(cause: unknown, cancelled: readonly ExchangeOrder[], stillOpen: number | undefined) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "CancelIncomplete";
    this.cancelled = cancelled;
    this.stillOpen = stillOpen;
  }
}

type OrderUpdate = { record: OrderRecord; change: OrderChange; audit?: AuditRecord };

export type ReconciliationSummary = {
  kept: number;
  adopted: number;
  cancelled: number;
  foreign: number;
  resolved: number;
  unresolved: number;
};

function orderPayload(order: {
  clientOrderId: string;
  side: string;
  type: string;
  amount: Decimal;
  price?: Decimal;
}) {
  return {
    clientOrderId: order.clientOrderId,
    side: order.side,
    type: order.type,
    amount: order.amount.toString(),
    ...(order.price === undefined ? {} : { price: order.price.toString() }),
  };
}

export class OrderManager {
  readonly #exchange: ExchangePort;
  readonly #store: Store;
  readonly #symbol: string;
  readonly #tag: string;
  readonly #log: Logger;
  readonly #metrics: RuntimeMetrics;
  #live = new Map<string, OrderRecord>();
  /** Client ids whose placement request is being sent right now. */
  readonly #inFlight = new Set<string>();
  /**
   * When the live records were last loaded from the database. A pending record found then is not in
   * flight any more: whatever request it had was signed before this time.
   */
  #loadedAt = Date.now();

  constructor(deps: {
    exchange: ExchangePort;
    store: Store;
    symbol: string;
    botUid: string;
    log: Logger;
    metrics: RuntimeMetrics;
  }) {
    this.#exchange = deps.exchange;
    this.#store = deps.store;
    this.#symbol = deps.symbol;
    this.#tag = tagOf(deps.botUid);
    this.#log = deps.log;
    this.#metrics = deps.metrics;
  }

  liveRecords(): OrderRecord[] {
    return [...this.#live.values()];
  }

  /** The bot's live orders as strategies see them (unknown ones included: their slot is taken). */
  liveOrders(): LiveOrder[] {
    return this.liveRecords().map((record) => ({
      clientOrderId: record.clientOrderId,
      slot: record.slot,
      side: record.side,
      type: record.type,
      amount: record.amount,
      filled: record.filled,
      ...(record.price === undefined ? {} : { price: record.price }),
    }));
  }

  async load(): Promise<void> {
    this.#live = new Map((await this.#store.liveOrders()).map((record) => [record.clientOrderId, record]));
    this.#loadedAt = Date.now();
  }

  /** Writes the changes (with their audit rows), then mirrors them: finished orders leave the live set. */
  async #apply(changes: readonly OrderUpdate[]) {
    await this.#store.updateOrders(
      changes.map(({ record, change, audit }) => ({
        clientOrderId: record.clientOrderId,
        change,
        ...(audit === undefined ? {} : { audit }),
      })),
    );
    for (const { record, change } of changes) {
      if (!LIVE_ORDER_STATUSES.includes(change.status)) {
        this.#live.delete(record.clientOrderId);
        continue;
      }
      this.#live.set(record.clientOrderId, {
        ...record,
        status: change.status,
        filled: change.filled ?? record.filled,
        ...(change.exchangeOrderId === undefined ? {} : { exchangeOrderId: change.exchangeOrderId }),
        ...(change.unknownSince === undefined ? {} : { unknownSince: change.unknownSince }),
      });
    }
  }

  /** The change and audit row that bring a record in line with what the exchange says about it. */
  #changeFrom(record: OrderRecord, order: ExchangeOrder, how: string): OrderUpdate & { audit: AuditRecord } {
    const status = EXCHANGE_TO_RECORD_STATUS[order.status];
    const event = CLOSING_EVENTS[status] ?? "order_placed";
    return {
      record,
      change: { status, exchangeOrderId: order.id, filled: order.filled },
      audit: {
        event,
        payload: {
          ...orderPayload(record),
          exchangeOrderId: order.id,
          filled: order.filled.toString(),
          status,
          how,
        },
      },
    };
  }

  /**
   * Sends one order that has passed rounding and the risk gate. The database write comes first: if it
   * fails (database unreachable) nothing is sent.
   */
  async place(
    order: RoundedOrder & { slot: string; reason: string; origin: NewOrder["origin"] },
  ): Promise<PlaceOutcome> {
    const record = await this.#store.recordOrder(
      { ...order },
      (slotSeq) => clientOrderIdFor(this.#tag, order.slot, slotSeq),
      (clientOrderId) => ({
        event: "order_submitted",
        payload: { ...orderPayload({ ...order, clientOrderId }), slot: order.slot, reason: order.reason },
      }),
    );
    this.#live.set(record.clientOrderId, record);
    const labels = { side: order.side, type: order.type };
    const started = performance.now();
    this.#inFlight.add(record.clientOrderId);
    try {
      const placed = await this.#exchange.createOrder(this.#symbol, {
        clientOrderId: record.clientOrderId,
        side: order.side,
        type: order.type,
        amount: order.amount,
        ...(order.price === undefined ? {} : { price: order.price }),
      });
      this.#metrics.orderRoundTrip.observe((performance.now() - started) / 1000);
      const change = this.#changeFrom(record, placed, "placed");
      change.audit.event = "order_placed";
      await this.#apply([change]);
      this.#metrics.orders.inc({ ...labels, result: "placed" });
      this.#log.info(
        {
          event: "order_placed",
          ...orderPayload(record),
          exchangeOrderId: placed.id,
          status: placed.status,
          slot: order.slot,
        },
        `placed ${order.type} ${order.side} ${order.amount}${order.price === undefined ? "" : ` @ ${order.price}`}`,
      );
      return "placed";
    } catch (error) {
      if (!(error instanceof ExchangeFailure)) throw error;
      return this.#afterFailedPlacement(record, error, labels);
    } finally {
      this.#inFlight.delete(record.clientOrderId);
    }
  }

  async #afterFailedPlacement(
    record: OrderRecord,
    error: ExchangeFailure,
    labels: { side: string; type: string },
  ): Promise<PlaceOutcome> {
    const duplicate = error.code === "-2010" && /duplicate/i.test(error.message);
    if (error.kind === "unavailable" || duplicate) {
      // The exchange may have the order: find out by its client id, never by sending it again.
      await this.#apply([
        {
          record,
          change: { status: "unknown", unknownSince: new Date(), detail: `${error.code}: answer lost` },
          audit: { event: "order_unknown", payload: { ...orderPayload(record), code: error.code } },
        },
      ]);
      this.#metrics.orders.inc({ ...labels, result: "unknown" });
      this.#log.warn(
        { event: "order_unknown", clientOrderId: record.clientOrderId, code: error.code, err: error },
        "order answer lost; it will be looked up by its client order id",
      );
      return "unknown";
    }
    // Refused by the exchange (filters, balance), or not sent at all (rate-limit pause, ban, bad key).
    const refusedByExchange = error.kind === "rejected";
    const status: OrderStatus = refusedByExchange ? "rejected" : "not_placed";
    await this.#apply([
      {
        record,
        change: { status, detail: `${error.code}: ${error.message}`.slice(0, 500) },
        audit: {
          event: refusedByExchange ? "order_rejected" : "order_not_placed",
          payload: { ...orderPayload(record), code: error.code },
        },
      },
    ]);
    this.#metrics.orders.inc({ ...labels, result: status });
    this.#log.warn(
      {
        event: refusedByExchange ? "order_rejected" : "order_not_placed",
        clientOrderId: record.clientOrderId,
        code: error.code,
        err: error,
      },
      refusedByExchange ? "the exchange rejected the order" : "the order was not sent",
    );
    if (error.kind === "authentication" || error.kind === "banned" || error.kind === "rateLimited")
      throw error;
    return status === "rejected" ? "rejected" : "not_placed";
  }

  /** Looks up orders whose answer was lost (and pending ones from before a restart). */
  async resolveUnknown(): Promise<void> {
    const now = Date.now();
    for (const record of this.liveRecords()) {
      if (record.status !== "unknown" && record.status !== "pending") continue;
      if (this.#inFlight.has(record.clientOrderId)) continue;
      const found = await this.#exchange.fetchOrderByClientId(this.#symbol, record.clientOrderId);
      if (found !== undefined) {
        await this.#apply([this.#changeFrom(record, found, "looked up after a lost answer")]);
        this.#log.info(
          {
            event: "order_placed",
            clientOrderId: record.clientOrderId,
            exchangeOrderId: found.id,
            status: found.status,
          },
          "order with a lost answer found at the exchange",
        );
        continue;
      }
      const since = Math.max(
        record.unknownSince?.getTime() ?? 0,
        record.status === "pending" ? this.#loadedAt : 0,
      );
      if (now < since + RECV_WINDOW_MS + LOOKUP_MARGIN_MS) continue;
      await this.#apply([
        {
          record,
          change: { status: "not_placed", detail: "not at the exchange after recvWindow: never placed" },
          audit: {
            event: "order_not_placed",
            payload: { ...orderPayload(record), how: "looked up after recvWindow" },
          },
        },
      ]);
      this.#log.info(
        { event: "order_not_placed", clientOrderId: record.clientOrderId },
        "order with a lost answer was never placed",
      );
    }
  }

  /**
   * Brings the live records in line with the exchange's open orders. Returns the client ids whose
   * filled amount or state changed, so their trades can be fetched.
   */
  async syncWithExchange(openAtExchange: readonly ExchangeOrder[]): Promise<string[]> {
    const open = new Map(openAtExchange.map((order) => [order.clientOrderId, order]));
    const changed: string[] = [];
    const updates: OrderUpdate[] = [];
    for (const record of this.liveRecords()) {
      if (record.status !== "open") continue;
      const current = open.get(record.clientOrderId);
      if (current !== undefined) {
        if (!current.filled.eq(record.filled)) {
          // A partial fill: the fill's own audit row records it when its trade is fetched.
          updates.push({ record, change: { status: "open", filled: current.filled } });
          changed.push(record.clientOrderId);
        }
        continue;
      }
      const final = await this.#exchange.fetchOrderByClientId(this.#symbol, record.clientOrderId);
      changed.push(record.clientOrderId);
      if (final === undefined) {
        updates.push({
          record,
          change: { status: "expired", detail: "no longer known to the exchange" },
          audit: {
            event: "order_expired",
            payload: { ...orderPayload(record), how: "unknown to the exchange" },
          },
        });
        continue;
      }
      updates.push(this.#changeFrom(record, final, "closed at the exchange"));
      if (final.status === "canceled") {
        this.#log.info(
          { event: "order_cancelled", clientOrderId: record.clientOrderId },
          "order cancelled at the exchange",
        );
      }
    }
    await this.#apply(updates);
    return changed;
  }

  /** Reconciles the exchange's open orders with the database at start (see reconciliation.ts). */
  async reconcile(strategyOwnsSlot: (slot: string) => boolean): Promise<ReconciliationSummary> {
    const open = await this.#exchange.openOrders(this.#symbol);
    const plan = planReconciliation(this.liveRecords(), open, this.#tag, strategyOwnsSlot);
    const keepUpdates = plan.keep
      .filter(({ record, open }) => record.status !== "open" || !open.filled.eq(record.filled))
      .map(({ record, open }) => this.#changeFrom(record, open, "open at the exchange at start"));
    await this.#apply(keepUpdates);
    for (const { open: order, slot, slotSeq } of plan.adopt) {
      const existing = await this.#store.orderByClientId(order.clientOrderId);
      if (existing !== undefined) {
        await this.#apply([this.#changeFrom(existing, order, "adopted at start")]);
        continue;
      }
      const record = await this.#store.recordOrder(
        {
          slot,
          side: order.side,
          type: order.type,
          amount: order.amount,
          ...(order.price === undefined ? {} : { price: order.price }),
          reason: "adopted: open at the exchange under this bot's id but not in the database",
          origin: "adopted",
        },
        () => order.clientOrderId,
        (clientOrderId) => ({
          event: "order_adopted",
          payload: { ...orderPayload({ ...order, clientOrderId }), exchangeOrderId: order.id },
        }),
        { clientOrderId: order.clientOrderId, slotSeq, exchangeOrderId: order.id, filled: order.filled },
      );
      this.#live.set(record.clientOrderId, record);
    }
    let cancelled = 0;
    for (const order of plan.cancel) {
      await this.#exchange.cancelOrder(this.#symbol, order.clientOrderId);
      cancelled += 1;
      await this.#store.appendAudit([
        {
          event: "order_cancelled",
          payload: {
            ...orderPayload(order),
            exchangeOrderId: order.id,
            how: "own order on a slot the strategy no longer uses",
          },
        },
      ]);
    }
    for (const order of plan.foreign) {
      this.#log.warn(
        { event: "foreign_order", clientOrderId: order.clientOrderId, exchangeOrderId: order.id },
        "an open order on this market was not placed by this bot; leaving it alone",
      );
    }
    let resolved = 0;
    let unresolved = 0;
    for (const record of plan.lookUp) {
      if (record.status === "pending" || record.status === "unknown") {
        unresolved += 1;
        continue; // resolveUnknown handles them, waiting out recvWindow where needed
      }
      const final = await this.#exchange.fetchOrderByClientId(this.#symbol, record.clientOrderId);
      if (final === undefined) {
        await this.#apply([
          {
            record,
            change: { status: "expired", detail: "no longer known to the exchange" },
            audit: {
              event: "order_expired",
              payload: { ...orderPayload(record), how: "unknown to the exchange at start" },
            },
          },
        ]);
      } else {
        await this.#apply([this.#changeFrom(record, final, "closed while the bot was down")]);
      }
      resolved += 1;
    }
    const summary: ReconciliationSummary = {
      kept: plan.keep.length,
      adopted: plan.adopt.length,
      cancelled,
      foreign: plan.foreign.length,
      resolved,
      unresolved,
    };
    await this.#store.appendAudit([
      {
        event: "reconciled",
        payload: {
          ...summary,
          foreignOrders: plan.foreign.map((order) => order.clientOrderId),
        },
      },
    ]);
    this.#log.info(
      { event: "reconciled", ...summary },
      "reconciled the exchange's open orders with the database",
    );
    return summary;
  }

  /** Cancels one of the bot's orders; an order already gone (filled meanwhile) is refreshed instead. */
  async cancel(clientOrderId: string, reason: string): Promise<void> {
    const record = this.#live.get(clientOrderId);
    if (record === undefined) return;
    const cancelled = await this.#exchange.cancelOrder(this.#symbol, clientOrderId);
    const final = cancelled ?? (await this.#exchange.fetchOrderByClientId(this.#symbol, clientOrderId));
    if (final === undefined) return;
    await this.#apply([this.#changeFrom(record, final, reason)]);
    if (final.status !== "canceled") {
      this.#log.info(
        { event: "order_closed", clientOrderId, status: final.status },
        `order to cancel was already ${final.status}`,
      );
      return;
    }
    this.#metrics.orders.inc({ side: record.side, type: record.type, result: "cancelled" });
    this.#log.info(
      { event: "order_cancelled", clientOrderId, reason },
      `cancelled ${record.side} ${record.amount}`,
    );
  }

  /**
   * Cancels every open order of this bot at the exchange: in one request when all open orders on the
   * market are the bot's, otherwise one by one (other orders on the account are not the bot's to cancel).
   * Returns the cancelled orders for the caller to record (recordCancellations), which may not be possible
   * when stopping during a database outage; throws CancelIncomplete when some could not be cancelled. Its
   * exchange calls are `halt` calls: they do not queue behind the trading loop's.
   */
  async cancelAllOwn(reason: string): Promise<ExchangeOrder[]> {
    const isOwn = (order: ExchangeOrder) => parseClientOrderId(order.clientOrderId)?.botTag === this.#tag;
    const cancelled: ExchangeOrder[] = [];
    /** The bot's orders open at the last read, less those cancelled since. */
    let knownOpen: Set<string> | undefined;
    const readOpen = async () => {
      const open = await this.#exchange.openOrders(this.#symbol, "halt");
      knownOpen = new Set(open.filter(isOwn).map((order) => order.clientOrderId));
      return open;
    };
    const noteCancelled = (orders: readonly ExchangeOrder[]) => {
      cancelled.push(...orders);
      for (const order of orders) knownOpen?.delete(order.clientOrderId);
    };
    const cancelEachOwn = (orders: readonly ExchangeOrder[]) =>
      cancelEach(
        orders,
        (order) => this.#exchange.cancelOrder(this.#symbol, order.clientOrderId, "halt"),
        noteCancelled,
      );
    try {
      const open = await readOpen();
      const own = open.filter(isOwn);
      if (own.length > 0 && own.length === open.length) {
        noteCancelled((await this.#exchange.cancelAll(this.#symbol)).filter(isOwn));
      } else {
        await cancelEachOwn(own);
      }
      // An order whose placement was still travelling when the list was read shows up now: cancel it too.
      for (let attempt = 0; attempt < 2; attempt++) {
        const stillOpen = (await readOpen()).filter(isOwn);
        if (stillOpen.length === 0) break;
        if (attempt === 1) {
          throw new Error(
            `${stillOpen.length} of the bot's orders are still open after cancelling: ${stillOpen.map((o) => o.clientOrderId).join(", ")}`,
          );
        }
        await cancelEachOwn(stillOpen);
      }
    } catch (error) {
      this.#reportCancelled(cancelled, reason);
      throw new CancelIncomplete(error, cancelled, knownOpen?.size);
    }
    this.#reportCancelled(cancelled, reason);
    return cancelled;
  }

  #reportCancelled(cancelled: readonly ExchangeOrder[], reason: string) {
    for (const order of cancelled) {
      this.#metrics.orders.inc({ side: order.side, type: order.type, result: "cancelled" });
      this.#log.info(
        { event: "order_cancelled", clientOrderId: order.clientOrderId, reason },
        "order cancelled",
      );
    }
  }

  /** Records cancellations done at the exchange; orders the database does not know are audited only. */
  async recordCancellations(cancelled: readonly ExchangeOrder[], reason: string): Promise<void> {
    // Partitioned before applying: #apply takes the known orders out of #live.
    const known = cancelled.filter((order) => this.#live.has(order.clientOrderId));
    const unknown = cancelled.filter((order) => !this.#live.has(order.clientOrderId));
    await this.#apply(
      known.map((order) =>
        this.#changeFrom(
          this.#live.get(order.clientOrderId) as OrderRecord,
          { ...order, status: "canceled" },
          reason,
        ),
      ),
    );
    await this.#store.appendAudit(
      unknown.map((order) => ({
        event: "order_cancelled",
        payload: {
          ...orderPayload(order),
          exchangeOrderId: order.id,
          filled: order.filled.toString(),
          how: reason,
        },
      })),
    );
  }
}

/** Cancels 10 at a time; each batch's cancellations are noted before a failure of the batch is thrown. */
async function cancelEach(
  orders: readonly ExchangeOrder[],
  cancelOne: (order: ExchangeOrder) => Promise<ExchangeOrder | undefined>,
  noteCancelled: (orders: readonly ExchangeOrder[]) => void,
): Promise<void> {
  for (let index = 0; index < orders.length; index += CANCEL_CONCURRENCY) {
    const batch = orders.slice(index, index + CANCEL_CONCURRENCY);
    const results = await Promise.allSettled(batch.map(cancelOne));
    noteCancelled(
      results.flatMap((result) =>
        result.status === "fulfilled" && result.value !== undefined ? [result.value] : [],
      ),
    );
    const failure = results.find(
      (result) => result.status === "rejected" && !isExchangeFailure(result.reason, "orderNotFound"),
    );
    if (failure?.status === "rejected") throw failure.reason;
  }
}
