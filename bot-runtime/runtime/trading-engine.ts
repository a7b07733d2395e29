import { randomBytes } from "node:crypto";
import type { RUNTIME_STATES, RuntimeConfig, RuntimeReport } from "../../api/v1alpha1/runtime-config.ts";
import type { OnEngageAction } from "../../api/v1alpha1/tradingbot.ts";
import { applyFill, EMPTY_POSITION, fillEffect, type Position, totalPnl } from "../accounting/position.ts";
import {
  ExchangeFailure,
  type ExchangeOrder,
  type ExchangePort,
  isExchangeFailure,
  type MarketRules,
} from "../exchange/port.ts";
import { Decimal } from "../money/decimal.ts";
import type { Logger } from "../observability/logger.ts";
import type { RuntimeMetrics } from "../observability/metrics.ts";
import { CancelIncomplete, type OrderManager } from "../orders/order-manager.ts";
import { roundToMarket } from "../orders/round-to-market.ts";
import { advanceBaseline, type LossBaseline, lossMeasures } from "../risk/loss-tracking.ts";
import {
  type Breach,
  type HaltingLimit,
  haltingBreach,
  type ParsedRiskLimits,
  type RiskState,
  riskVerdict,
} from "../risk/risk-verdict.ts";
import { DatabaseUnavailable, isConnectionError } from "../store/database.ts";
import type { AuditRecord, OwnTrade, Store } from "../store/store.ts";
import type { Intent } from "../strategies/intent.ts";
import { FLATTEN_SLOT, type StrategyMemory, type StrategyRunner } from "../strategies/strategy-for.ts";
import { attemptTimeLimitMs, auditableErrorMessage, nextStopStep, stopDeadline } from "./stop-retry.ts";

// The trading loop of one bot: each tick reads the market and the bot's orders, records fills, checks the
// halting limits, asks the strategy for intents and passes each through rounding and the risk gate to the
// order manager. Decisions are made by the pure modules it calls; this file only sequences I/O.

export type RuntimeState = (typeof RUNTIME_STATES)[number];

export type LoopOutcome =
  | { kind: "stopRequested" }
  | { kind: "riskHalt"; breach: Breach<HaltingLimit> }
  | { kind: "credentialsRefused"; error: ExchangeFailure };

const TRADE_SYNC_EVERY_MS = 30_000;
const BALANCE_REFRESH_EVERY_MS = 30_000;
const SNAPSHOT_EVERY_MS = 60_000;
const PRUNE_EVERY_MS = 6 * 3_600_000;
const REFUSAL_RECORD_EVERY_MS = 60_000;
const DATABASE_RETRY_MAX_MS = 30_000;
const AUTH_FAILURES_BEFORE_EXIT = 3;

export type EngineDeps = {
  config: RuntimeConfig;
  exchange: ExchangePort;
  store: Store;
  orders: OrderManager;
  strategy: StrategyRunner;
  rules: MarketRules;
  limits: ParsedRiskLimits;
  log: Logger;
  metrics: RuntimeMetrics;
  tickIntervalMs: number;
  version: string;
};

/** Audit rows that could not be written (database unreachable), kept in order until they can. */
class AuditOutbox {
  #pending: AuditRecord[] = [];

  add(record: AuditRecord) {
    this.#pending.push({ ...record, at: record.at ?? new Date().toISOString() });
  }

  get size() {
    return this.#pending.length;
  }

  async flush(store: Store) {
    if (this.#pending.length === 0) return;
    await store.appendAudit(this.#pending);
    this.#pending = [];
  }

  /** What could never be written goes to the log in full, so it is not lost without a trace. */
  logUnrecorded(log: Logger) {
    for (const record of this.#pending) {
      log.error(
        { event: "audit_unrecorded", audit: record },
        "audit row could not be written to the database",
      );
    }
  }
}

/** A halt the runtime stops for: what the audit row records, and what to do with the orders. */
export interface StopForHalt {
  source: string;
  reason: string;
  by: string | undefined;
  /** `watch`: the runtime's own watch saw it first; `signal`: the pod's deletion reached it first. */
  noticedBy: "watch" | "signal";
  onEngage: OnEngageAction;
}

/**
 * A stop gave up on its cancels at its deadline: the exchange kept failing, or some of the bot's orders
 * stayed open. `stillOpen`: how many of them were open as far as it knows (undefined: never read).
 */
export class StopDeadlinePassed extends Error {
  readonly attempts: number;
  readonly stillOpen: number | undefined;

  // The last attempt's error is in the message, not a `cause`: the log would print it twice.
  constructor(attempts: number, stillOpen: number | undefined, lastError: unknown) {
    super(
      `the bot's orders could not all be cancelled before the stop's deadline (${attempts} attempts): ${auditableErrorMessage(lastError)}`,
    );
    this.name = "StopDeadlinePassed";
    this.attempts = attempts;
    this.stillOpen = stillOpen;
  }
}

/** What a failed stop records: the error (signed URLs cut) and, when known, how many orders stay open. */
function stopFailedRecord(error: unknown, cancelled: number): AuditRecord {
  return {
    event: "stop_failed",
    payload: {
      error: auditableErrorMessage(error),
      cancelled,
      ...(error instanceof StopDeadlinePassed
        ? {
            attempts: error.attempts,
            ...(error.stillOpen === undefined ? {} : { stillOpen: error.stillOpen }),
          }
        : {}),
    },
  };
}

type CancelOutcome = {
  cancelled: ExchangeOrder[];
  attempts: number;
  /** Set when the deadline came first. */
  gaveUp?: StopDeadlinePassed;
};

class AttemptTimedOut extends Error {
  constructor(ms: number) {
    super(`the exchange did not answer within the ${ms} ms the stop's deadline left`);
    this.name = "AttemptTimedOut";
  }
}

/** Waits for `work` at most `ms`; work still running then is left to finish on its own, unobserved. */
async function withinMs<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  work.catch(() => {});
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new AttemptTimedOut(ms)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export class TradingEngine {
  readonly #deps: EngineDeps;
  #state: RuntimeState = "Starting";
  #halted = false;
  #memory: StrategyMemory;
  #position: Position = EMPTY_POSITION;
  #tradeCursor: string | undefined;
  #baseline: LossBaseline | undefined;
  #last: Decimal | undefined;
  #quoteBalance: Decimal | undefined;
  #heartbeat: Date | undefined;
  #orderTimes: number[] = [];
  #refusals = new Map<string, number>();
  #unsettled = new Set<string>();
  #lastTradeSync = 0;
  #lastBalance = 0;
  #lastSnapshot = 0;
  #lastPrune = 0;
  #tradesDue = true;
  #authFailures = 0;
  #stopRequested = false;
  /** In the trading loop, where orders are placed. */
  #ticking = false;
  #wake: (() => void) | undefined;
  readonly outbox = new AuditOutbox();

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    this.#memory = deps.strategy.initialMemory();
  }

  get state(): RuntimeState {
    return this.#state;
  }

  /** What GET /status reports. */
  report(): RuntimeReport {
    const live = this.#deps.orders.liveRecords().length;
    const equity = this.#equity();
    const head = this.#deps.store.auditHead;
    return {
      heartbeat: (this.#heartbeat ?? new Date()).toISOString(),
      state: this.#state,
      halted: this.#halted,
      openOrders: live,
      position: Decimal.max(this.#position.base, Decimal.ZERO).toString(),
      realizedPnl: this.#position.realizedPnl.toPlaces(8, "halfEven").toString(),
      ...(equity === undefined || equity.isNegative()
        ? {}
        : { equity: equity.toPlaces(8, "halfEven").toString() }),
      ...(head === undefined ? {} : { audit: { sequence: head.seq, hash: head.hash } }),
    };
  }

  requestStop() {
    this.#stopRequested = true;
    // The tick in flight ends without sending what still waits its turn, and the stop's cancels follow.
    // Only ticks place orders: a start (load, reconcile, catch up on fills) runs to its end as before.
    if (this.#ticking) this.#deps.exchange.withdrawQueued();
    this.#wake?.();
  }

  get stopRequested(): boolean {
    return this.#stopRequested;
  }

  #equity(): Decimal | undefined {
    if (this.#quoteBalance === undefined || this.#last === undefined) return undefined;
    return this.#quoteBalance.plus(this.#position.base.times(this.#last));
  }

  async #sleep(ms: number) {
    if (this.#stopRequested) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }

  /** Loads or creates the bot's state, reconciles orders and catches up on fills. */
  async start(): Promise<void> {
    const { store, strategy, orders, config, log } = this.#deps;
    await this.outbox.flush(store);
    const state =
      (await store.loadState()) ??
      (await store.initState(strategy.type, strategy.initialMemory(), {
        event: "bot_registered",
        payload: { symbol: config.symbol, strategy: strategy.type, mode: config.exchange.mode },
      }));
    this.#memory = strategy.parseMemory(state.strategyMemory);
    this.#position = state.position;
    this.#tradeCursor = state.tradeCursor;
    this.#baseline = state.baseline;
    this.#orderTimes = await store.orderTimesSince(new Date(Date.now() - 60_000));
    await orders.load();
    await store.appendAudit([
      {
        event: "started",
        payload: {
          version: this.#deps.version,
          mode: config.exchange.mode,
          symbol: config.symbol,
          strategy: strategy.type,
          onStop: config.onStop,
          killSwitchChangedBy: config.killSwitchChangedBy ?? null,
        },
      },
    ]);
    await orders.reconcile(strategy.ownsSlot);
    await this.#syncTrades();
    await this.#prune();
    this.#state = "Trading";
    log.info({ event: "trading", position: this.#position.base.toString() }, "trading");
  }

  /** Runs ticks until a stop is requested, a halting limit is breached or the key is refused. */
  async run(): Promise<LoopOutcome> {
    this.#ticking = true;
    try {
      return await this.#loop();
    } finally {
      this.#ticking = false;
    }
  }

  async #loop(): Promise<LoopOutcome> {
    const { log, metrics } = this.#deps;
    while (!this.#stopRequested) {
      const tickStarted = Date.now();
      try {
        if (this.#state === "FailClosed") {
          await this.#tryRecover();
        } else {
          const breach = await this.#tick();
          if (breach !== undefined) return { kind: "riskHalt", breach };
          this.#authFailures = 0;
        }
      } catch (error) {
        if (error instanceof DatabaseUnavailable || isConnectionError(error)) {
          this.#enterFailClosed(error);
        } else if (error instanceof ExchangeFailure) {
          const refused = this.#onExchangeFailure(error);
          if (refused) return { kind: "credentialsRefused", error };
        } else {
          throw error;
        }
      }
      this.#heartbeat = new Date();
      metrics.lastHeartbeat.set(this.#heartbeat.getTime() / 1000);
      const wait = this.#state === "FailClosed" ? this.#failClosedBackoff : this.#deps.tickIntervalMs;
      await this.#sleep(Math.max(0, wait - (Date.now() - tickStarted)));
    }
    log.info({ event: "stop_requested" }, "stop requested: the strategy is stopped");
    return { kind: "stopRequested" };
  }

  #failClosedSince = 0;
  #failClosedBackoff = 1_000;

  #enterFailClosed(error: unknown) {
    const { log, metrics } = this.#deps;
    if (this.#state !== "FailClosed") {
      this.#state = "FailClosed";
      this.#failClosedSince = Date.now();
      this.#failClosedBackoff = 1_000;
      metrics.databaseUp.set(0);
      this.outbox.add({ event: "database_unavailable", payload: { since: new Date().toISOString() } });
      log.error(
        { event: "database connection", err: error },
        "database connection lost: failing closed (no new orders; open orders are left as they are)",
      );
      return;
    }
    this.#failClosedBackoff = Math.min(this.#failClosedBackoff * 2, DATABASE_RETRY_MAX_MS);
    log.warn(
      { event: "database connection", err: error, retryInMs: this.#failClosedBackoff },
      "database connection still unavailable",
    );
  }

  async #tryRecover() {
    const { store, orders, strategy, log, metrics } = this.#deps;
    await store.ping();
    const downMs = Date.now() - this.#failClosedSince;
    await this.outbox.flush(store);
    await store.appendAudit([{ event: "database_restored", payload: { unavailableMs: downMs } }]);
    // What happened while the database was away is read back from the exchange.
    await orders.load();
    await orders.reconcile(strategy.ownsSlot);
    await this.#syncTrades();
    this.#state = "Trading";
    metrics.databaseUp.set(1);
    log.info(
      { event: "database connection", unavailableMs: downMs },
      `database connection restored after ${downMs} ms; trading again`,
    );
  }

  /** Returns true when the credentials are refused for good (the runtime then exits). */
  #onExchangeFailure(error: ExchangeFailure): boolean {
    const { log } = this.#deps;
    switch (error.kind) {
      case "authentication":
        this.#authFailures += 1;
        log.error(
          { event: "authentication failed", code: error.code, err: error, attempt: this.#authFailures },
          "the exchange refused the API key or its signature",
        );
        return this.#authFailures >= AUTH_FAILURES_BEFORE_EXIT;
      case "rateLimited":
      case "banned":
        // Calls refused locally while a pause is in force were already reported when it began.
        if (error.code === "PAUSED") return false;
        log.warn(
          { event: "rate_limited", code: error.code, retryAfterMs: error.retryAfterMs },
          "exchange rate limit: pausing every call until Retry-After has passed",
        );
        return false;
      case "withdrawn":
        return false;
      default:
        log.warn(
          { event: "exchange_error", code: error.code, kind: error.kind, err: error },
          "exchange call failed; retrying next tick",
        );
        return false;
    }
  }

  async #tick(): Promise<Breach<HaltingLimit> | undefined> {
    const { exchange, orders, config, strategy, metrics } = this.#deps;
    // Candles before the ticker, so the last price is never older than the newest closed candle; the last
    // candle returned is still forming and is dropped.
    const candles =
      strategy.candles === undefined
        ? []
        : (await exchange.candles(config.symbol, strategy.candles.timeframe, strategy.candles.count)).slice(
            0,
            -1,
          );
    const ticker = await exchange.ticker(config.symbol);
    this.#last = ticker.last;
    await orders.resolveUnknown();
    const open = await exchange.openOrders(config.symbol);
    const changed = await orders.syncWithExchange(open);
    for (const id of changed) this.#unsettled.add(id);
    const now = Date.now();
    if (
      this.#tradesDue ||
      changed.length > 0 ||
      this.#unsettled.size > 0 ||
      now - this.#lastTradeSync > TRADE_SYNC_EVERY_MS
    ) {
      await this.#syncTrades();
      await this.#settle(open);
    }
    if (this.#quoteBalance === undefined || now - this.#lastBalance > BALANCE_REFRESH_EVERY_MS)
      await this.#refreshBalances();

    const breach = await this.#checkHaltingLimits(ticker.timestamp);
    metrics.openOrders.set(orders.liveRecords().length);
    if (breach !== undefined || this.#stopRequested) return breach;
    if (this.#unsettled.size > 0) return undefined; // fills not all visible yet: decide next tick

    const intents = strategy.intents({
      market: { rules: this.#deps.rules, last: ticker.last, now: ticker.timestamp, closedCandles: candles },
      liveOrders: orders.liveOrders(),
      memory: this.#memory,
    });
    for (const intent of intents) {
      if (this.#stopRequested) break;
      const halt = await this.#execute(intent);
      if (halt !== undefined) return halt;
    }
    await this.#housekeeping();
    return undefined;
  }

  async #execute(intent: Intent): Promise<Breach<HaltingLimit> | undefined> {
    const { orders, rules, limits, log, metrics } = this.#deps;
    if (intent.kind === "cancel") {
      await orders.cancel(intent.clientOrderId, intent.reason);
      this.#tradesDue = true;
      return undefined;
    }
    const last = this.#last as Decimal;
    const rounding = roundToMarket(intent, rules, last);
    if ("skipped" in rounding) {
      log.debug(
        { event: "intent_skipped", slot: intent.slot, why: rounding.skipped },
        "intent too small for the market",
      );
      return undefined;
    }
    const verdict = riskVerdict(rounding.order, this.#riskState(), limits);
    if (verdict.decision === "halt") return verdict;
    if (verdict.decision === "refuse") {
      await this.#recordRefusal(intent.slot, verdict);
      metrics.orders.inc({ side: rounding.order.side, type: rounding.order.type, result: "refused" });
      return undefined;
    }
    if (this.#stopRequested) return undefined; // a halt arrived while this tick was deciding
    this.#orderTimes.push(Date.now());
    await orders.place({ ...rounding.order, slot: intent.slot, reason: intent.reason, origin: "strategy" });
    if (rounding.order.type === "market") this.#tradesDue = true;
    return undefined;
  }

  #riskState(): RiskState {
    const cutoff = Date.now() - 60_000;
    this.#orderTimes = this.#orderTimes.filter((time) => time >= cutoff);
    const last = this.#last as Decimal;
    const { dailyLoss, drawdownPct } = this.#lossMeasures();
    return {
      last,
      position: this.#position.base,
      liveOrders: this.#deps.orders
        .liveRecords()
        .map((record) => ({ side: record.side, remaining: record.amount.minus(record.filled) })),
      ordersLastMinute: this.#orderTimes.length,
      dailyLoss,
      drawdownPct,
    };
  }

  #lossMeasures(): { dailyLoss: Decimal; drawdownPct: Decimal } {
    const equity = this.#equity();
    if (this.#baseline === undefined || this.#last === undefined || equity === undefined) {
      return { dailyLoss: Decimal.ZERO, drawdownPct: Decimal.ZERO };
    }
    return lossMeasures(this.#baseline, totalPnl(this.#position, this.#last), equity);
  }

  async #checkHaltingLimits(exchangeNow: number): Promise<Breach<HaltingLimit> | undefined> {
    const { store, metrics } = this.#deps;
    const equity = this.#equity();
    if (equity === undefined || this.#last === undefined) return undefined;
    const pnl = totalPnl(this.#position, this.#last);
    const next = advanceBaseline(this.#baseline, exchangeNow, pnl, equity);
    const previous = this.#baseline;
    this.#baseline = next;
    if (previous === undefined || previous.day !== next.day || !previous.peakEquity.eq(next.peakEquity)) {
      await store.saveBaseline(next);
    }
    metrics.equity.set(equity.toNumber());
    metrics.position.set(this.#position.base.toNumber());
    metrics.realizedPnl.set(this.#position.realizedPnl.toNumber());
    return haltingBreach(this.#lossMeasures(), this.#deps.limits);
  }

  async #recordRefusal(slot: string, breach: Breach<string>) {
    const { store, log, metrics } = this.#deps;
    const key = `${slot}:${breach.limit}`;
    const now = Date.now();
    const lastRecorded = this.#refusals.get(key);
    // A strategy asks again every tick; one record per slot and limit per minute says the same.
    if (lastRecorded !== undefined && now - lastRecorded < REFUSAL_RECORD_EVERY_MS) return;
    this.#refusals.set(key, now);
    metrics.riskEvents.inc({ limit: breach.limit });
    const value = breach.value.toPlaces(8, "halfEven");
    const payload = {
      limit: breach.limit,
      halting: false,
      value: value.toString(),
      threshold: breach.threshold.toString(),
      slot,
      message: breach.message,
    };
    log.warn({ event: "risk_event", ...payload }, `order refused by the risk gate: ${breach.message}`);
    await store.recordRiskEvent(
      {
        limit: breach.limit,
        halting: false,
        value,
        threshold: breach.threshold,
        slot,
        message: breach.message,
      },
      { event: "risk_event", payload },
    );
  }

  async #refreshBalances() {
    const balances = await this.#deps.exchange.balances();
    const quote = balances.get(this.#deps.rules.quote);
    this.#quoteBalance = quote === undefined ? Decimal.ZERO : quote.free.plus(quote.locked);
    this.#lastBalance = Date.now();
  }

  /** Fetches the account's trades from the cursor and records those of the bot's orders exactly once. */
  async #syncTrades() {
    const { exchange, store, config, strategy, rules, orders, log, metrics } = this.#deps;
    const trades = await exchange.myTrades(config.symbol, this.#tradeCursor);
    this.#lastTradeSync = Date.now();
    this.#tradesDue = false;
    if (trades.length === 0) return;
    const owners = await store.clientIdsByExchangeId([...new Set(trades.map((trade) => trade.orderId))]);
    // A trade of an order whose exchange id is not known yet (its answer was lost) may be the bot's: the
    // cursor stops before it until that order is resolved.
    const unresolved = orders.liveRecords().some((record) => record.exchangeOrderId === undefined);
    const own: OwnTrade[] = [];
    let cursor = this.#tradeCursor;
    for (const trade of trades) {
      const owner = owners.get(trade.orderId);
      if (owner === undefined && unresolved) break;
      if (owner !== undefined) own.push({ ...trade, ...owner });
      cursor = (BigInt(trade.id) + 1n).toString();
    }
    const assets = { base: rules.base, quote: rules.quote };
    let folded: { strategyMemory: StrategyMemory; position: Position } | undefined;
    const fresh = await store.recordTrades(
      own,
      cursor,
      (newTrades) => {
        let memory = this.#memory;
        let position = this.#position;
        for (const trade of newTrades) {
          const effect = fillEffect(trade, assets);
          memory = strategy.applyFill(
            memory,
            { slot: trade.slot, side: trade.side, price: trade.price, ...effect },
            rules,
          );
          position = applyFill(position, trade, assets);
        }
        folded = { strategyMemory: memory, position };
        return folded;
      },
      (trade) => ({
        event: "fill",
        payload: {
          clientOrderId: trade.clientOrderId,
          exchangeOrderId: trade.orderId,
          tradeId: trade.id,
          side: trade.side,
          price: trade.price.toString(),
          amount: trade.amount.toString(),
          fee: trade.fee.toString(),
          feeCurrency: trade.feeCurrency,
        },
      }),
    );
    this.#tradeCursor = cursor;
    if (folded !== undefined) {
      this.#memory = folded.strategyMemory;
      this.#position = folded.position;
    }
    for (const trade of fresh) {
      metrics.fills.inc({ side: trade.side });
      log.info(
        {
          event: "fill",
          clientOrderId: trade.clientOrderId,
          tradeId: trade.id,
          side: trade.side,
          price: trade.price.toString(),
          amount: trade.amount.toString(),
        },
        `fill: ${trade.side} ${trade.amount} @ ${trade.price}`,
      );
    }
    if (fresh.length > 0) await this.#refreshBalances();
  }

  /** Orders whose fills are not all recorded yet keep the strategy waiting (no decision on half a picture). */
  async #settle(openAtExchange: readonly { clientOrderId: string; filled: Decimal }[]) {
    if (this.#unsettled.size === 0) return;
    const { store, orders } = this.#deps;
    const ids = [...this.#unsettled];
    const recorded = await store.recordedFillTotals(ids);
    const liveFilled = new Map(orders.liveRecords().map((record) => [record.clientOrderId, record.filled]));
    const openFilled = new Map(openAtExchange.map((order) => [order.clientOrderId, order.filled]));
    for (const id of ids) {
      const record =
        liveFilled.get(id) ?? openFilled.get(id) ?? (await store.orderByClientId(id))?.filled ?? Decimal.ZERO;
      if ((recorded.get(id) ?? Decimal.ZERO).gte(record)) this.#unsettled.delete(id);
    }
  }

  async #housekeeping() {
    const { store, orders } = this.#deps;
    const now = Date.now();
    if (now - this.#lastSnapshot > SNAPSHOT_EVERY_MS && this.#last !== undefined) {
      const equity = this.#equity();
      await store.saveSnapshot({
        lastPrice: this.#last,
        position: this.#position,
        ...(this.#quoteBalance === undefined ? {} : { quoteBalance: this.#quoteBalance }),
        ...(equity === undefined ? {} : { equity }),
        openOrders: orders.liveRecords().length,
      });
      this.#lastSnapshot = now;
    }
    if (now - this.#lastPrune > PRUNE_EVERY_MS) await this.#prune();
  }

  async #prune() {
    const { store, config, log } = this.#deps;
    const removed = await store.prune(config.store.retentionDays, config.store.auditRetentionDays);
    this.#lastPrune = Date.now();
    if (Object.values(removed).some((count) => count > 0))
      log.info({ event: "pruned", removed }, "retention pruning");
  }

  /**
   * Applies onStop (spec.killSwitch.onEngage, as the halt read it when a halt stopped the bot) and records
   * the halt and the stop. The cancels are retried until the deadline `beganAt` (when the stop was asked
   * for) gives; a stop that fails records `stop_failed` with the halt and throws (StopDeadlinePassed when
   * the cancels ran out of time).
   */
  async stop(
    halt?: StopForHalt,
    beganAt = Date.now(),
  ): Promise<{ cancelled: number; flattened: boolean; cancelAttempts: number }> {
    const { orders, log } = this.#deps;
    const onStop = halt?.onEngage ?? this.#deps.config.onStop;
    this.#state = "Stopping";
    if (halt) {
      this.#halted = true;
      const { source, reason, by, noticedBy, onEngage } = halt;
      this.outbox.add({ event: "halt", payload: { source, reason, by: by ?? null, noticedBy, onEngage } });
    }
    let cancelled = 0;
    let cancelAttempts = 0;
    let flattened = false;
    try {
      if (onStop !== "Freeze") {
        const outcome = await this.#cancelUntilDeadline(
          "stop",
          stopDeadline(beganAt, this.#deps.config.stopGracePeriodSeconds),
        );
        cancelled = outcome.cancelled.length;
        cancelAttempts = outcome.attempts;
        await this.#recordOrOutbox(() => orders.recordCancellations(outcome.cancelled, "stop"), {
          event: "orders_cancelled_unrecorded",
          payload: { clientOrderIds: outcome.cancelled.map((order) => order.clientOrderId), how: "stop" },
        });
        if (outcome.gaveUp) throw outcome.gaveUp;
      }
      await this.#finalSync();
      if (onStop === "Flatten") flattened = await this.#flatten();
    } catch (error) {
      await this.#recordStopFailure(error, cancelled);
      throw error;
    }
    this.outbox.add({ event: "stopped", payload: { onStop, cancelled, flattened, cancelAttempts } });
    await this.#recordOrOutbox(() => this.outbox.flush(this.#deps.store));
    log.info(
      { event: "stopped", onStop, cancelled, flattened, cancelAttempts },
      `stopped: ${onStop}${cancelAttempts > 1 ? ` (the cancels took ${cancelAttempts} attempts)` : ""}`,
    );
    return { cancelled, flattened, cancelAttempts };
  }

  /** The `stop_failed` row, written with whatever the outbox still holds (the `halt` row). Best effort. */
  async #recordStopFailure(error: unknown, cancelled: number) {
    this.outbox.add(stopFailedRecord(error, cancelled));
    await this.#flushBestEffort();
  }

  async #flushBestEffort() {
    try {
      await this.outbox.flush(this.#deps.store);
    } catch (error) {
      this.#deps.log.error(
        { event: "database connection", err: error },
        "could not write the stop's audit rows yet",
      );
    }
  }

  /**
   * cancelAllOwn until it succeeds or `deadline` comes; an attempt still waiting for the exchange then is
   * given up on. After the first failure, `afterFirstFailure` makes durable what must outlast a SIGKILL
   * during the retries (by default the outbox, with the `halt` row).
   */
  async #cancelUntilDeadline(
    reason: string,
    deadline: number,
    afterFirstFailure: () => Promise<void> = () => this.#flushBestEffort(),
  ): Promise<CancelOutcome> {
    const { orders, log } = this.#deps;
    const cancelled: ExchangeOrder[] = [];
    let stillOpen: number | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        cancelled.push(
          ...(await withinMs(orders.cancelAllOwn(reason), attemptTimeLimitMs(Date.now(), deadline, attempt))),
        );
        return { cancelled, attempts: attempt };
      } catch (error) {
        const cause = error instanceof CancelIncomplete ? error.cause : error;
        if (error instanceof CancelIncomplete) {
          cancelled.push(...error.cancelled);
          stillOpen = error.stillOpen ?? stillOpen;
        }
        if (attempt === 1) await afterFirstFailure();
        const step = nextStopStep({
          now: Date.now(),
          deadline,
          failedAttempts: attempt,
          retryAfterMs: cause instanceof ExchangeFailure ? cause.retryAfterMs : undefined,
          keyRefused: isExchangeFailure(cause, "authentication"),
          random: Math.random,
        });
        if (step.kind === "giveUp") {
          return { cancelled, attempts: attempt, gaveUp: new StopDeadlinePassed(attempt, stillOpen, cause) };
        }
        log.warn(
          { event: "stop_cancel_retry", reason, attempt, retryInMs: step.waitMs, err: cause },
          `could not cancel every order (attempt ${attempt}); retrying in ${step.waitMs} ms`,
        );
        await new Promise((resolve) => setTimeout(resolve, step.waitMs));
      }
    }
  }

  /**
   * Orders that closed at the exchange since the last tick (a buy filled while the bot was stopping) and
   * their fills, recorded before the process exits: the database then tells the exchange's story even if
   * the bot never starts again. Best effort: the next start reconciles whatever this misses.
   */
  async #finalSync() {
    const { exchange, orders, config, log } = this.#deps;
    try {
      await orders.syncWithExchange(await exchange.openOrders(config.symbol));
      await this.#syncTrades();
    } catch (error) {
      log.warn(
        { event: "final_sync_failed", err: error },
        "could not record the last order changes before stopping; the next start reconciles them",
      );
    }
  }

  /** Sells the bot's position at market (onStop Flatten). */
  async #flatten(): Promise<boolean> {
    const { orders, rules, config, exchange, log } = this.#deps;
    await this.#recordOrOutbox(() => this.#syncTrades());
    const last = (await exchange.ticker(config.symbol)).last;
    this.#last = last;
    const rounding = roundToMarket(
      {
        kind: "place",
        slot: FLATTEN_SLOT,
        side: "sell",
        type: "market",
        amount: this.#position.base,
        reason: "onStop Flatten",
      },
      rules,
      last,
    );
    if ("skipped" in rounding) {
      log.info({ event: "flatten_skipped", why: rounding.skipped }, "nothing to flatten");
      return false;
    }
    const outcome = await orders.place({
      ...rounding.order,
      slot: FLATTEN_SLOT,
      reason: "onStop Flatten",
      origin: "flatten",
    });
    await this.#recordOrOutbox(() => this.#syncTrades());
    return outcome === "placed";
  }

  async #recordOrOutbox(write: () => Promise<void>, fallback?: AuditRecord) {
    try {
      await write();
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      if (fallback !== undefined) this.outbox.add(fallback);
      this.#deps.log.error(
        { event: "database connection", err: error },
        "database unreachable while stopping",
      );
    }
  }

  /**
   * A halting limit was breached: cancel the bot's orders, record the risk event and the halt, and return
   * the termination message for the operator, which latches the halt under its id. The cancels are retried
   * as a stop's are (from `beganAt`, or when a stop was asked for first); when the first attempt fails the
   * latch is recorded before any retry, so a SIGKILL during the retries cannot lose it.
   */
  async haltForRisk(
    breach: Breach<HaltingLimit>,
    beganAt = Date.now(),
  ): Promise<{ haltId: string; cancelled: number }> {
    const { orders, store, log, metrics } = this.#deps;
    this.#state = "Stopping";
    this.#halted = true;
    const haltId = `risk-${new Date().toISOString().replace(/[-:.]/g, "").slice(0, 15)}-${randomBytes(4).toString("hex")}`;
    log.error(
      {
        event: "halt",
        haltId,
        limit: breach.limit,
        value: breach.value.toString(),
        threshold: breach.threshold.toString(),
      },
      `halting: ${breach.message}`,
    );
    const value = breach.value.toPlaces(8, "halfEven");
    // The latch where this bot's next start will look: it then refuses to trade until acknowledged, even
    // if the operator never records it (the termination message is the other copy).
    let latched = false;
    const recordLatch = async () => {
      if (latched) return;
      await this.#recordOrOutbox(async () => {
        await store.recordRiskLatch({
          haltId,
          limit: breach.limit,
          value,
          threshold: breach.threshold,
          message: breach.message,
        });
        latched = true;
      });
    };
    const outcome = await this.#cancelUntilDeadline(
      "risk halt",
      stopDeadline(beganAt, this.#deps.config.stopGracePeriodSeconds),
      recordLatch,
    );
    const cancelled = outcome.cancelled;
    if (outcome.gaveUp) {
      log.error(
        { event: "halt", haltId, err: outcome.gaveUp, stillOpen: outcome.gaveUp.stillOpen ?? null },
        "could not cancel every order while halting",
      );
    }
    metrics.riskEvents.inc({ limit: breach.limit });
    await recordLatch();
    const payload = {
      haltId,
      limit: breach.limit,
      halting: true,
      value: value.toString(),
      threshold: breach.threshold.toString(),
      message: breach.message,
      cancelled: cancelled.length,
    };
    await this.#recordOrOutbox(() => orders.recordCancellations(cancelled, "risk halt"));
    if (!outcome.gaveUp) await this.#finalSync();
    await this.#recordOrOutbox(
      () =>
        store.recordRiskEvent(
          {
            limit: breach.limit,
            halting: true,
            value,
            threshold: breach.threshold,
            message: breach.message,
          },
          { event: "risk_event", payload },
        ),
      { event: "risk_event", payload },
    );
    this.outbox.add({ event: "halt", payload });
    if (outcome.gaveUp) this.outbox.add(stopFailedRecord(outcome.gaveUp, cancelled.length));
    await this.#recordOrOutbox(() => this.outbox.flush(store));
    return { haltId, cancelled: cancelled.length };
  }
}
