// The exchange core: accounts and balances, order placement (filters, balance checks, taker fills against the
// synthetic book), resting orders filled as the price path crosses them, cancels, fees, and the read-backs.
// Deterministic and free of I/O: every operation takes the server time explicitly.

import type { ReplayCandle } from "./candles.ts";
import { floorToStep, minUnits, multiplyUnits, unitsFromNumber, unitsOf, unitsToNumber } from "./decimal.ts";
import { BinanceApiError, binanceErrors } from "./errors.ts";
import { failedFilter } from "./filters.ts";
import { averagePrice, bestBidAsk, bookSideAt, type Market, priceUnits } from "./market.ts";
import { type BookFill, sweepLevels } from "./order-book.ts";
import { PricePath, replaySeries, syntheticSeries } from "./price-path.ts";
import { hashString, uniformAt } from "./random.ts";
import type { SymbolSpec } from "./symbols.ts";

export type Side = "BUY" | "SELL";
export type OrderType = "LIMIT" | "MARKET" | "LIMIT_MAKER";
export type TimeInForce = "GTC" | "IOC" | "FOK";
export type OrderStatus = "NEW" | "PARTIALLY_FILLED" | "FILLED" | "CANCELED" | "EXPIRED";

export interface Trade {
  symbol: string;
  id: number;
  orderId: number;
  accountId: string;
  price: bigint;
  qty: bigint;
  quoteQty: bigint;
  commission: bigint;
  commissionAsset: string;
  time: number;
  isBuyer: boolean;
  isMaker: boolean;
}

export interface Order {
  symbol: string;
  orderId: number;
  accountId: string;
  keyId: string;
  clientOrderId: string;
  side: Side;
  type: OrderType;
  timeInForce: TimeInForce;
  price: bigint;
  origQty: bigint;
  executedQty: bigint;
  cummulativeQuoteQty: bigint;
  origQuoteOrderQty: bigint;
  status: OrderStatus;
  time: number;
  updateTime: number;
  workingTime: number;
  selfTradePreventionMode: string;
  /** What the order still holds locked: quote for buys, base for sells. */
  lockedRemaining: bigint;
  /** First matching step in which the order may be filled by the price path. */
  eligibleFromStep: number;
  trades: Trade[];
}

export interface NewOrder {
  symbol: string;
  side: Side;
  type: OrderType;
  timeInForce?: TimeInForce;
  quantity?: bigint;
  quoteOrderQty?: bigint;
  price?: bigint;
  newClientOrderId?: string;
  selfTradePreventionMode?: string;
}

export interface Balance {
  free: bigint;
  locked: bigint;
}

export interface AccountSetup {
  accountId: string;
  balances: Record<string, bigint>;
  /** Commission rates in units (0.001 = 100000n). */
  makerCommission: bigint;
  takerCommission: bigint;
}

interface AccountState {
  setup: AccountSetup;
  balances: Map<string, Balance>;
  updateTime: number;
  orders: Map<string, Order[]>;
  trades: Map<string, Trade[]>;
  /** Latest order per symbol and client order id. */
  byClientOrderId: Map<string, Order>;
}

interface SymbolState {
  market: Market;
  nextOrderId: number;
  nextTradeId: number;
  ordersById: Map<number, Order>;
  open: Set<Order>;
}

export interface EngineConfig {
  symbols: readonly SymbolSpec[];
  seed: number;
  /** Market time per server time. */
  speed: number;
  /** Server time at which the simulator starts. */
  startMs: number;
  replay?: { symbol: string; candles: readonly ReplayCandle[] };
  /** Length of one matching step of server time. */
  matchStepMs?: number;
  /** Share of the market volume in a step that resting orders may fill. */
  liquidityShare?: number;
  /** Server minutes of generated history before the start. */
  historyMinutes?: number;
}

export const DEFAULT_COMMISSION = unitsOf("0.001");
const DEFAULT_HISTORY_MINUTES = 90 * 24 * 60;
// A jump of the clock longer than this many steps is matched in coarser steps.
const MAX_STEPS_PER_ADVANCE = 100_000;

export interface PlacementResult {
  order: Order;
  fills: Trade[];
}

export class ExchangeEngine {
  readonly config: EngineConfig;
  readonly stepMs: number;
  private readonly liquidityShare: number;
  private readonly symbols = new Map<string, SymbolState>();
  private readonly accounts = new Map<string, AccountState>();
  private processedStep: number;
  private generatedIds = 0;

  constructor(config: EngineConfig) {
    this.config = config;
    this.stepMs = config.matchStepMs ?? 1000;
    this.liquidityShare = config.liquidityShare ?? 0.2;
    this.processedStep = -1;
    if (
      config.replay !== undefined &&
      !config.symbols.some((spec) => spec.symbol === config.replay?.symbol)
    ) {
      throw new Error(`replay symbol ${config.replay.symbol} is not one of the simulated symbols`);
    }
    for (const spec of config.symbols) {
      this.symbols.set(spec.symbol, {
        market: this.createMarket(spec),
        nextOrderId: 1,
        nextTradeId: 1,
        ordersById: new Map(),
        open: new Set(),
      });
    }
  }

  private createMarket(spec: SymbolSpec): Market {
    const { config } = this;
    const timing = { serverAnchorMs: config.startMs, marketAnchorMs: config.startMs, speed: config.speed };
    let path: PricePath;
    if (config.replay !== undefined && config.replay.symbol === spec.symbol) {
      const series = replaySeries(config.replay.candles);
      path = new PricePath(series, { ...timing, marketAnchorMs: series.originMs });
    } else {
      // One synthetic candle per server minute, whatever the speed.
      const series = syntheticSeries({
        seed: config.seed,
        symbol: spec.symbol,
        initialPrice: spec.initialPrice,
        annualVolatility: spec.annualVolatility,
        volumePerMinute: spec.volumePerMinute,
        intervalMs: 60_000 * config.speed,
        originMs: config.startMs,
        historyCandles: config.historyMinutes ?? DEFAULT_HISTORY_MINUTES,
      });
      path = new PricePath(series, timing);
    }
    return { spec, path, seed: config.seed, startMs: config.startMs };
  }

  // ---- symbols and market data ----

  symbolSpecs(): SymbolSpec[] {
    return [...this.symbols.values()].map((state) => state.market.spec);
  }

  market(symbol: string): Market {
    const state = this.symbols.get(symbol);
    if (state === undefined) throw binanceErrors.invalidSymbol();
    return state.market;
  }

  hasSymbol(symbol: string): boolean {
    return this.symbols.has(symbol);
  }

  /** Resting orders of every account on a symbol (shown in the public depth). */
  restingOrders(symbol: string): Order[] {
    return [...(this.symbols.get(symbol)?.open ?? [])];
  }

  /** Forces the price of a symbol from `nowMs` on; the path continues from there. */
  forcePrice(symbol: string, price: bigint, nowMs: number): void {
    this.advanceTo(nowMs);
    this.market(symbol).path.force(nowMs, unitsToNumber(price));
  }

  // ---- accounts ----

  addAccount(setup: AccountSetup, nowMs: number): void {
    if (this.accounts.has(setup.accountId)) throw new Error(`account ${setup.accountId} already exists`);
    const balances = new Map<string, Balance>();
    for (const [asset, amount] of Object.entries(setup.balances))
      balances.set(asset, { free: amount, locked: 0n });
    this.accounts.set(setup.accountId, {
      setup,
      balances,
      updateTime: nowMs,
      orders: new Map(),
      trades: new Map(),
      byClientOrderId: new Map(),
    });
  }

  accountIds(): string[] {
    return [...this.accounts.keys()];
  }

  private account(accountId: string): AccountState {
    const account = this.accounts.get(accountId);
    if (account === undefined) throw binanceErrors.rejectedApiKey();
    return account;
  }

  accountSetup(accountId: string): AccountSetup {
    return this.account(accountId).setup;
  }

  accountUpdateTime(accountId: string): number {
    return this.account(accountId).updateTime;
  }

  balances(accountId: string): Map<string, Balance> {
    return new Map([...this.account(accountId).balances].map(([asset, balance]) => [asset, { ...balance }]));
  }

  private balance(account: AccountState, asset: string): Balance {
    let balance = account.balances.get(asset);
    if (balance === undefined) {
      balance = { free: 0n, locked: 0n };
      account.balances.set(asset, balance);
    }
    return balance;
  }

  // ---- time: resting orders fill as the path crosses them ----

  /** Matches resting orders against every complete step of server time up to `nowMs`. */
  advanceTo(nowMs: number): void {
    const lastCompleteStep = Math.floor((nowMs - this.config.startMs) / this.stepMs) - 1;
    if (lastCompleteStep <= this.processedStep) return;
    const anyOpen = [...this.symbols.values()].some((state) => state.open.size > 0);
    if (!anyOpen) {
      this.processedStep = lastCompleteStep;
      return;
    }
    const pending = lastCompleteStep - this.processedStep;
    const stride = Math.ceil(pending / MAX_STEPS_PER_ADVANCE);
    for (let step = this.processedStep + 1; step <= lastCompleteStep; step += stride) {
      const last = Math.min(step + stride - 1, lastCompleteStep);
      for (const state of this.symbols.values()) {
        if (state.open.size > 0) this.matchRestingOrders(state, step, last);
      }
    }
    this.processedStep = lastCompleteStep;
  }

  private matchRestingOrders(state: SymbolState, firstStep: number, lastStep: number): void {
    const { spec, path } = state.market;
    const from = this.config.startMs + firstStep * this.stepMs;
    const to = this.config.startMs + (lastStep + 1) * this.stepMs;
    const stats = path.rangeStats(from, to);
    if (stats === undefined) return;
    const low = unitsFromNumber(stats.low);
    const high = unitsFromNumber(stats.high);
    const budget = floorToStep(unitsFromNumber(stats.volume * this.liquidityShare), spec.stepSize);
    const eligible = [...state.open].filter((order) => order.eligibleFromStep <= lastStep);
    const bids = eligible
      .filter((order) => order.side === "BUY" && order.price >= low)
      .sort((a, b) => (a.price === b.price ? a.orderId - b.orderId : a.price > b.price ? -1 : 1));
    const asks = eligible
      .filter((order) => order.side === "SELL" && order.price <= high)
      .sort((a, b) => (a.price === b.price ? a.orderId - b.orderId : a.price < b.price ? -1 : 1));
    for (const side of [bids, asks]) {
      let remaining = budget;
      for (const order of side) {
        const quantity = minUnits(order.origQty - order.executedQty, remaining);
        if (quantity <= 0n) break;
        const fill = { price: order.price, quantity, quote: multiplyUnits(quantity, order.price, "floor") };
        this.applyFill(state, order, fill, true, to);
        remaining -= quantity;
        if (order.executedQty === order.origQty) this.closeOrder(state, order, "FILLED", to);
      }
    }
  }

  // ---- orders ----

  /** Validates and places an order; with `test`, validates only (POST /api/v3/order/test). */
  placeOrder(
    accountId: string,
    keyId: string,
    request: NewOrder,
    nowMs: number,
    test = false,
  ): PlacementResult | null {
    this.advanceTo(nowMs);
    const account = this.account(accountId);
    const state = this.symbols.get(request.symbol);
    if (state === undefined) throw binanceErrors.invalidSymbol();
    const { market } = state;
    const { spec } = market;
    checkOrderShape(request);
    const isMarket = request.type === "MARKET";
    const openOnSymbol = [...state.open].filter((order) => order.accountId === accountId).length;
    const reference = priceUnits(market, averagePrice(market, nowMs));
    const filter = failedFilter(spec, {
      side: request.side,
      isMarket,
      price: request.price,
      quantity: request.quantity,
      quoteOrderQty: request.quoteOrderQty,
      averagePrice: reference,
      openOrdersOnSymbol: openOnSymbol,
    });
    if (filter !== undefined) throw binanceErrors.filterFailure(filter);
    if (test) return null;

    const clientOrderId = request.newClientOrderId ?? this.generateClientOrderId(request.symbol);
    const previous = account.byClientOrderId.get(`${request.symbol}:${clientOrderId}`);
    if (previous !== undefined && isOpen(previous)) throw binanceErrors.duplicateOrder();

    const fills = this.takerFills(market, request, nowMs);
    const timeInForce = request.timeInForce ?? "GTC";
    const filledQuantity = fills.reduce((sum, fill) => sum + fill.quantity, 0n);
    const fillOrKillMissed = timeInForce === "FOK" && filledQuantity < (request.quantity ?? 0n);
    const takerFills = fillOrKillMissed ? [] : fills;

    const baseBalance = this.balance(account, spec.baseAsset);
    const quoteBalance = this.balance(account, spec.quoteAsset);
    const rests = !isMarket;
    let lock = 0n;
    if (request.side === "BUY") {
      const needed = rests
        ? multiplyUnits(request.price ?? 0n, request.quantity ?? 0n, "ceil")
        : (request.quoteOrderQty ?? takerFills.reduce((sum, fill) => sum + fill.quote, 0n));
      if (quoteBalance.free < needed) throw binanceErrors.insufficientBalance();
      if (rests) lock = needed;
    } else {
      const needed = rests || request.quantity !== undefined ? (request.quantity ?? 0n) : filledQuantity;
      if (baseBalance.free < needed) throw binanceErrors.insufficientBalance();
      if (rests) lock = needed;
    }

    const lockedAsset = request.side === "BUY" ? quoteBalance : baseBalance;
    lockedAsset.free -= lock;
    lockedAsset.locked += lock;
    const orderId = state.nextOrderId++;
    const order: Order = {
      symbol: request.symbol,
      orderId,
      accountId,
      keyId,
      clientOrderId,
      side: request.side,
      type: request.type,
      timeInForce,
      price: request.price ?? 0n,
      origQty: request.quantity ?? filledQuantity,
      executedQty: 0n,
      cummulativeQuoteQty: 0n,
      origQuoteOrderQty: request.quoteOrderQty ?? 0n,
      status: "NEW",
      time: nowMs,
      updateTime: nowMs,
      workingTime: nowMs,
      selfTradePreventionMode: request.selfTradePreventionMode ?? "EXPIRE_MAKER",
      lockedRemaining: lock,
      eligibleFromStep: Math.ceil((nowMs - this.config.startMs) / this.stepMs),
      trades: [],
    };
    state.ordersById.set(orderId, order);
    pushTo(account.orders, request.symbol, order);
    account.byClientOrderId.set(`${request.symbol}:${clientOrderId}`, order);
    account.updateTime = nowMs;

    const trades: Trade[] = [];
    for (const fill of takerFills) trades.push(this.applyFill(state, order, fill, false, nowMs));
    if (order.executedQty === order.origQty && order.origQty > 0n) {
      this.closeOrder(state, order, "FILLED", nowMs);
    } else if (isMarket || timeInForce !== "GTC") {
      this.closeOrder(state, order, "EXPIRED", nowMs);
    } else {
      state.open.add(order);
    }
    return { order, fills: trades };
  }

  private takerFills(market: Market, request: NewOrder, nowMs: number): BookFill[] {
    const levels = bookSideAt(market, nowMs, request.side === "BUY" ? "asks" : "bids");
    if (request.type !== "MARKET") {
      const price = request.price ?? 0n;
      const best = bestBidAsk(market, nowMs);
      const crosses = request.side === "BUY" ? price >= best.ask : price <= best.bid;
      if (!crosses) return [];
      if (request.type === "LIMIT_MAKER") throw binanceErrors.wouldMatchAndTake();
      return sweepLevels(levels, request.side, market.spec.stepSize, {
        quantity: request.quantity,
        limitPrice: price,
      });
    }
    return sweepLevels(levels, request.side, market.spec.stepSize, {
      quantity: request.quantity,
      quoteAmount: request.quoteOrderQty,
    });
  }

  /** Settles one fill: moves base and quote, charges the commission on the received asset, records the trade. */
  private applyFill(
    state: SymbolState,
    order: Order,
    fill: BookFill,
    isMaker: boolean,
    timeMs: number,
  ): Trade {
    const account = this.account(order.accountId);
    const { spec } = state.market;
    const base = this.balance(account, spec.baseAsset);
    const quote = this.balance(account, spec.quoteAsset);
    const rate = isMaker ? account.setup.makerCommission : account.setup.takerCommission;
    const received = order.side === "BUY" ? fill.quantity : fill.quote;
    const commission = multiplyUnits(received, rate, "half-up");
    const paying = order.side === "BUY" ? quote : base;
    const paid = order.side === "BUY" ? fill.quote : fill.quantity;
    // Resting order types pay from what they locked; market orders pay from the free balance.
    if (order.type !== "MARKET") {
      paying.locked -= paid;
      order.lockedRemaining -= paid;
    } else {
      paying.free -= paid;
    }
    const receiving = order.side === "BUY" ? base : quote;
    receiving.free += received - commission;
    const trade: Trade = {
      symbol: order.symbol,
      id: state.nextTradeId++,
      orderId: order.orderId,
      accountId: order.accountId,
      price: fill.price,
      qty: fill.quantity,
      quoteQty: fill.quote,
      commission,
      commissionAsset: order.side === "BUY" ? spec.baseAsset : spec.quoteAsset,
      time: timeMs,
      isBuyer: order.side === "BUY",
      isMaker,
    };
    order.executedQty += fill.quantity;
    order.cummulativeQuoteQty += fill.quote;
    order.status = order.executedQty === order.origQty ? "FILLED" : "PARTIALLY_FILLED";
    order.updateTime = timeMs;
    order.trades.push(trade);
    pushTo(account.trades, order.symbol, trade);
    account.updateTime = timeMs;
    return trade;
  }

  /** Takes an order off the book and releases what it still holds locked. */
  private closeOrder(state: SymbolState, order: Order, status: OrderStatus, timeMs: number): void {
    const account = this.account(order.accountId);
    const { spec } = state.market;
    const asset = this.balance(account, order.side === "BUY" ? spec.quoteAsset : spec.baseAsset);
    asset.locked -= order.lockedRemaining;
    asset.free += order.lockedRemaining;
    order.lockedRemaining = 0n;
    order.status = status;
    order.updateTime = timeMs;
    state.open.delete(order);
    account.updateTime = timeMs;
  }

  private generateClientOrderId(symbol: string): string {
    // Binance generates 22 alphanumeric characters; derived from the seed so runs repeat exactly.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const n = this.generatedIds++;
    const symbolKey = hashString(symbol);
    let id = "";
    for (let i = 0; i < 22; i++) {
      id += alphabet[Math.floor(uniformAt(this.config.seed, symbolKey, n, i) * alphabet.length)];
    }
    return id;
  }

  findOrder(accountId: string, symbol: string, ref: { orderId?: number; origClientOrderId?: string }): Order {
    const account = this.account(accountId);
    const state = this.symbols.get(symbol);
    if (state === undefined) throw binanceErrors.invalidSymbol();
    let order: Order | undefined;
    if (ref.orderId !== undefined) {
      order = state.ordersById.get(ref.orderId);
      if (
        order !== undefined &&
        ref.origClientOrderId !== undefined &&
        order.clientOrderId !== ref.origClientOrderId
      ) {
        order = undefined;
      }
    } else if (ref.origClientOrderId !== undefined) {
      order = account.byClientOrderId.get(`${symbol}:${ref.origClientOrderId}`);
    }
    if (order === undefined || order.accountId !== accountId) throw binanceErrors.noSuchOrder();
    return order;
  }

  queryOrder(
    accountId: string,
    symbol: string,
    ref: { orderId?: number; origClientOrderId?: string },
    nowMs: number,
  ): Order {
    this.advanceTo(nowMs);
    return this.findOrder(accountId, symbol, ref);
  }

  cancelOrder(
    accountId: string,
    symbol: string,
    ref: { orderId?: number; origClientOrderId?: string },
    nowMs: number,
  ): Order {
    this.advanceTo(nowMs);
    let order: Order;
    try {
      order = this.findOrder(accountId, symbol, ref);
    } catch (error) {
      if (error instanceof BinanceApiError && error.code === -2013)
        throw binanceErrors.unknownOrderOnCancel();
      throw error;
    }
    if (!isOpen(order)) throw binanceErrors.unknownOrderOnCancel();
    const state = this.symbols.get(symbol);
    if (state !== undefined) this.closeOrder(state, order, "CANCELED", nowMs);
    return order;
  }

  cancelAllOrders(accountId: string, symbol: string, nowMs: number): Order[] {
    this.advanceTo(nowMs);
    this.account(accountId);
    const state = this.symbols.get(symbol);
    if (state === undefined) throw binanceErrors.invalidSymbol();
    const mine = [...state.open].filter((order) => order.accountId === accountId);
    if (mine.length === 0) throw binanceErrors.unknownOrderOnCancel();
    for (const order of mine) this.closeOrder(state, order, "CANCELED", nowMs);
    return mine;
  }

  openOrders(accountId: string, symbol: string | undefined, nowMs: number): Order[] {
    this.advanceTo(nowMs);
    this.account(accountId);
    if (symbol !== undefined && !this.symbols.has(symbol)) throw binanceErrors.invalidSymbol();
    const result: Order[] = [];
    for (const state of this.symbols.values()) {
      if (symbol !== undefined && state.market.spec.symbol !== symbol) continue;
      for (const order of state.open) if (order.accountId === accountId) result.push(order);
    }
    return result.sort((a, b) => a.time - b.time || a.orderId - b.orderId);
  }

  /** Every order of the account, all states, in placement order; one symbol or all. */
  orders(accountId: string, symbol: string | undefined, nowMs: number): Order[] {
    this.advanceTo(nowMs);
    const account = this.account(accountId);
    if (symbol !== undefined) return [...(account.orders.get(symbol) ?? [])];
    return [...account.orders.values()].flat().sort((a, b) => a.time - b.time || a.orderId - b.orderId);
  }

  trades(accountId: string, symbol: string | undefined, nowMs: number): Trade[] {
    this.advanceTo(nowMs);
    const account = this.account(accountId);
    if (symbol !== undefined) return [...(account.trades.get(symbol) ?? [])];
    return [...account.trades.values()].flat().sort((a, b) => a.time - b.time || a.id - b.id);
  }
}

function pushTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

export function isOpen(order: Order): boolean {
  return order.status === "NEW" || order.status === "PARTIALLY_FILLED";
}

/** Binance's mandatory / not-required parameter rules per order type. */
function checkOrderShape(request: NewOrder): void {
  const { type } = request;
  if (type === "MARKET") {
    if (request.price !== undefined) throw binanceErrors.parameterNotRequired("price");
    if (request.timeInForce !== undefined) throw binanceErrors.parameterNotRequired("timeInForce");
    if (request.quantity === undefined && request.quoteOrderQty === undefined) {
      throw binanceErrors.eitherParameter("quantity", "quoteOrderQty");
    }
    if (request.quantity !== undefined && request.quoteOrderQty !== undefined) {
      throw binanceErrors.parameterNotRequired("quoteOrderQty");
    }
  } else {
    if (request.quoteOrderQty !== undefined) throw binanceErrors.parameterNotRequired("quoteOrderQty");
    if (request.quantity === undefined) throw binanceErrors.mandatoryParameter("quantity");
    if (request.price === undefined) throw binanceErrors.mandatoryParameter("price");
    if (type === "LIMIT" && request.timeInForce === undefined)
      throw binanceErrors.mandatoryParameter("timeInForce");
    if (type === "LIMIT_MAKER" && request.timeInForce !== undefined) {
      throw binanceErrors.parameterNotRequired("timeInForce");
    }
  }
  if (request.quantity !== undefined && request.quantity <= 0n) throw binanceErrors.invalidQuantity();
  if (request.quoteOrderQty !== undefined && request.quoteOrderQty <= 0n)
    throw binanceErrors.invalidQuantity();
  if (request.price !== undefined && request.price <= 0n) throw binanceErrors.invalidPrice();
}
