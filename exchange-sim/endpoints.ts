// The Binance Spot REST endpoints the simulator answers: security type, request weight and handler of each.
// Handlers read parameters the way Binance does, call the engine, and return Binance-shaped JSON.

import {
  accountBalances,
  canceledOrder,
  commissionRates,
  exchangeInfoSymbol,
  myTrade,
  newOrderResponse,
  queriedOrder,
  type ResponseType,
  rateLimitDefinitions,
} from "./binance-format.ts";
import type { ApiKeyRecord } from "./credentials.ts";
import { formatUnits, multiplyUnits, unitsFromNumber } from "./decimal.ts";
import type { ExchangeEngine, Order, OrderType, Side, TimeInForce, Trade } from "./engine.ts";
import { binanceErrors } from "./errors.ts";
import { listingEndpoints } from "./listing-endpoints.ts";
import {
  averagePrice,
  bookAt,
  currentPrice,
  formatPrice,
  klines,
  type Market,
  priceUnits,
  ticker24h,
  tradePrints,
} from "./market.ts";
import type { RateLimitConfig, RateLimiter } from "./rate-limits.ts";
import type { RequestParams } from "./request-params.ts";

/** NONE: public. API_KEY (Binance's MARKET_DATA): a valid X-MBX-APIKEY, no signature. SIGNED: key and signature. */
export type Security = "NONE" | "API_KEY" | "SIGNED";

export interface EndpointContext {
  params: RequestParams;
  /** Engine time (the simulator's clock). */
  nowMs: number;
  /** Server time as reported to clients (clock plus any injected skew). */
  serverTime: number;
  key: ApiKeyRecord | undefined;
  engine: ExchangeEngine;
  limits: RateLimitConfig;
  limiter: RateLimiter;
  /** Generates ids for cancels (newClientOrderId of a cancel request is optional). */
  nextCancelId: () => string;
}

export interface Endpoint {
  method: "GET" | "POST" | "DELETE";
  path: string;
  security: Security;
  /** Needs a key allowed to trade (enableSpotAndMarginTrading). */
  trade?: boolean;
  /** Places an order: counted against the order rate limits. */
  placesOrder?: boolean;
  weight: (params: RequestParams) => number;
  handle: (context: EndpointContext) => unknown;
}

const fixed = (weight: number) => () => weight;

function accountIdOf(context: EndpointContext): string {
  if (context.key === undefined) throw binanceErrors.rejectedApiKey();
  return context.key.accountId;
}

function symbolParam(context: EndpointContext): string {
  const symbol = context.params.string("symbol");
  if (!context.engine.hasSymbol(symbol)) throw binanceErrors.invalidSymbol();
  return symbol;
}

/** symbol, symbols (JSON array) or neither: the markets a multi-symbol endpoint reports on. */
function marketsParam(context: EndpointContext): { markets: Market[]; single: boolean } {
  const { params, engine } = context;
  const symbol = params.optionalString("symbol");
  const symbols = params.optionalString("symbols");
  if (symbol !== undefined && symbols !== undefined) throw binanceErrors.parameterNotRequired("symbols");
  if (symbol !== undefined) return { markets: [engine.market(symbol)], single: true };
  if (symbols !== undefined) {
    let list: unknown;
    try {
      list = JSON.parse(symbols);
    } catch {
      throw binanceErrors.invalidParameter("symbols");
    }
    if (!Array.isArray(list) || list.some((entry) => typeof entry !== "string")) {
      throw binanceErrors.invalidParameter("symbols");
    }
    return { markets: (list as string[]).map((entry) => engine.market(entry)), single: false };
  }
  return { markets: engine.symbolSpecs().map((spec) => engine.market(spec.symbol)), single: false };
}

function symbolCount(params: RequestParams): number {
  if (params.has("symbol")) return 1;
  const symbols = params.optionalString("symbols");
  if (symbols === undefined) return Number.POSITIVE_INFINITY;
  return symbols.split(",").length;
}

function perSymbolWeight(single: number, all: number) {
  return (params: RequestParams) => {
    const count = symbolCount(params);
    return count === 1 ? single : Number.isFinite(count) ? Math.min(all, single * count) : all;
  };
}

function singleOrList<T>(single: boolean, values: T[]): T | T[] {
  return single ? (values[0] as T) : values;
}

function orderRef(params: RequestParams): { orderId?: number; origClientOrderId?: string } {
  const orderId = params.optionalInteger("orderId");
  const origClientOrderId = params.optionalClientOrderId("origClientOrderId");
  if (orderId === undefined && origClientOrderId === undefined) {
    throw binanceErrors.eitherParameter("origClientOrderId", "orderId");
  }
  return {
    ...(orderId === undefined ? {} : { orderId }),
    ...(origClientOrderId === undefined ? {} : { origClientOrderId }),
  };
}

/** startTime/endTime/limit/orderId/fromId filtering of allOrders and myTrades (24 h at most between the times). */
function timeWindow(params: RequestParams) {
  const startTime = params.optionalInteger("startTime");
  const endTime = params.optionalInteger("endTime");
  if (startTime !== undefined && endTime !== undefined && endTime - startTime > 24 * 3600_000) {
    throw binanceErrors.lookupIntervalTooBig(24);
  }
  return { startTime, endTime, limit: params.limit(500, 1000) };
}

function selectWindow<T>(
  items: T[],
  timeOf: (item: T) => number,
  window: { startTime?: number; endTime?: number; limit: number },
  fromFirst: boolean,
): T[] {
  const filtered = items.filter(
    (item) =>
      (window.startTime === undefined || timeOf(item) >= window.startTime) &&
      (window.endTime === undefined || timeOf(item) <= window.endTime),
  );
  return fromFirst || window.startTime !== undefined
    ? filtered.slice(0, window.limit)
    : filtered.slice(-window.limit);
}

function tickerFields(market: Market, nowMs: number, windowMs: number, full: boolean) {
  const ticker = ticker24h(market, nowMs, windowMs);
  const open = priceUnits(market, ticker.open);
  const last = priceUnits(market, ticker.last);
  const change = last - open;
  const percent = open === 0n ? 0 : (Number(change) / Number(open)) * 100;
  const volume = unitsFromNumber(ticker.volume);
  const quoteVolume = unitsFromNumber(ticker.quoteVolume);
  const firstSecond = Math.floor((nowMs - windowMs) / 1000);
  const lastSecond = Math.floor(nowMs / 1000) - 1;
  const base = {
    symbol: market.spec.symbol,
    priceChange: formatUnits(change),
    priceChangePercent: percent.toFixed(3),
    weightedAvgPrice:
      volume > 0n ? formatPrice(market, ticker.quoteVolume / ticker.volume) : formatUnits(last),
  };
  const range = {
    openPrice: formatUnits(open),
    highPrice: formatPrice(market, ticker.high),
    lowPrice: formatPrice(market, ticker.low),
  };
  const totals = {
    volume: formatUnits(volume),
    quoteVolume: formatUnits(quoteVolume),
    openTime: nowMs - windowMs,
    closeTime: nowMs,
    firstId: firstSecond,
    lastId: lastSecond,
    count: volume > 0n ? lastSecond - firstSecond + 1 : 0,
  };
  if (!full) return { ...base, ...range, lastPrice: formatUnits(last), ...totals };
  const book = bookAt(market, nowMs, 1);
  return {
    ...base,
    prevClosePrice: formatUnits(open),
    lastPrice: formatUnits(last),
    lastQty: formatUnits(ticker.lastPrint?.quantity ?? 0n),
    bidPrice: formatUnits(book.bids[0]?.price ?? 0n),
    bidQty: formatUnits(book.bids[0]?.quantity ?? 0n),
    askPrice: formatUnits(book.asks[0]?.price ?? 0n),
    askQty: formatUnits(book.asks[0]?.quantity ?? 0n),
    ...range,
    ...totals,
  };
}

const windowUnits: Record<string, number> = { m: 60_000, h: 3600_000, d: 86_400_000 };

function rollingWindowMs(params: RequestParams): number {
  const value = params.optionalString("windowSize") ?? "1d";
  const match = /^([0-9]{1,2})([mhd])$/.exec(value);
  const amount = Number(match?.[1]);
  const unit = match?.[2] ?? "";
  const valid =
    match !== null &&
    ((unit === "m" && amount >= 1 && amount <= 59) ||
      (unit === "h" && amount >= 1 && amount <= 23) ||
      (unit === "d" && amount >= 1 && amount <= 7));
  if (!valid) throw binanceErrors.invalidParameter("windowSize");
  return amount * (windowUnits[unit] ?? 0);
}

function depthWeight(params: RequestParams): number {
  const limit = params.optionalInteger("limit") ?? 100;
  if (limit <= 100) return 5;
  if (limit <= 500) return 25;
  if (limit <= 1000) return 50;
  return 250;
}

function depth(context: EndpointContext) {
  const market = context.engine.market(symbolParam(context));
  const limit = context.params.limit(100, 5000);
  const book = bookAt(market, context.nowMs, limit);
  // Resting orders of the simulator's accounts show in the book at their price.
  const levels = { bids: new Map<bigint, bigint>(), asks: new Map<bigint, bigint>() };
  for (const level of book.bids) levels.bids.set(level.price, level.quantity);
  for (const level of book.asks) levels.asks.set(level.price, level.quantity);
  for (const order of context.engine.restingOrders(market.spec.symbol)) {
    const side = order.side === "BUY" ? levels.bids : levels.asks;
    side.set(order.price, (side.get(order.price) ?? 0n) + order.origQty - order.executedQty);
  }
  const sorted = (side: Map<bigint, bigint>, descending: boolean) =>
    [...side]
      .sort(([a], [b]) => (a === b ? 0 : a > b === descending ? -1 : 1))
      .slice(0, limit)
      .map(([price, quantity]) => [formatUnits(price), formatUnits(quantity)]);
  return {
    lastUpdateId: Math.floor(context.nowMs / 1000),
    bids: sorted(levels.bids, true),
    asks: sorted(levels.asks, false),
  };
}

function placeOrder(context: EndpointContext, test: boolean) {
  const { params, engine } = context;
  const accountId = accountIdOf(context);
  const symbol = symbolParam(context);
  const side = params.enumValue<Side>("side", ["BUY", "SELL"], binanceErrors.invalidSide);
  const typeText = params.string("type");
  const unsupported: Record<string, string> = {
    STOP_LOSS: "Stop loss orders are not supported for this symbol.",
    STOP_LOSS_LIMIT: "Stop loss limit orders are not supported for this symbol.",
    TAKE_PROFIT: "Take profit orders are not supported for this symbol.",
    TAKE_PROFIT_LIMIT: "Take profit limit orders are not supported for this symbol.",
  };
  const unsupportedMessage = unsupported[typeText];
  if (unsupportedMessage !== undefined) throw binanceErrors.orderTypeNotSupported(unsupportedMessage);
  const type = params.enumValue<OrderType>(
    "type",
    ["LIMIT", "MARKET", "LIMIT_MAKER"],
    binanceErrors.invalidOrderType,
  );
  if (params.has("icebergQty")) {
    throw binanceErrors.orderTypeNotSupported("Iceberg orders are not supported for this symbol.");
  }
  if (params.has("trailingDelta")) {
    throw binanceErrors.orderTypeNotSupported("Trailing stop orders are not supported for this symbol.");
  }
  if (params.has("stopPrice")) throw binanceErrors.parameterNotRequired("stopPrice");
  const timeInForce = params.optionalEnum<TimeInForce>(
    "timeInForce",
    ["GTC", "IOC", "FOK"],
    binanceErrors.invalidTimeInForce,
  );
  const responseType = params.optionalEnum<ResponseType>("newOrderRespType", ["ACK", "RESULT", "FULL"], () =>
    binanceErrors.invalidParameter("newOrderRespType"),
  );
  const selfTradePreventionMode = params.optionalEnum(
    "selfTradePreventionMode",
    ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    () => binanceErrors.invalidParameter("selfTradePreventionMode"),
  );
  const request = {
    symbol,
    side,
    type,
    ...(timeInForce === undefined ? {} : { timeInForce }),
    ...optional("quantity", params.optionalDecimal("quantity")),
    ...optional("quoteOrderQty", params.optionalDecimal("quoteOrderQty")),
    ...optional("price", params.optionalDecimal("price")),
    ...optional("newClientOrderId", params.optionalClientOrderId("newClientOrderId")),
    ...optional("selfTradePreventionMode", selfTradePreventionMode),
  };
  const keyId = context.key?.keyId ?? "";
  const result = engine.placeOrder(accountId, keyId, request, context.nowMs, test);
  if (result === null) {
    if (params.optionalString("computeCommissionRates") !== "true") return {};
    const setup = engine.accountSetup(accountId);
    return {
      standardCommissionForOrder: {
        maker: formatUnits(setup.makerCommission),
        taker: formatUnits(setup.takerCommission),
      },
      taxCommissionForOrder: { maker: formatUnits(0n), taker: formatUnits(0n) },
      discount: {
        enabledForAccount: false,
        enabledForSymbol: false,
        discountAsset: "BNB",
        discount: formatUnits(0n),
      },
    };
  }
  return newOrderResponse(result.order, result.fills, responseType ?? "FULL");
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

function apiRestrictions(key: ApiKeyRecord) {
  return {
    ipRestrict: false,
    createTime: key.createdAt,
    enableReading: true,
    enableSpotAndMarginTrading: key.canTrade,
    enableWithdrawals: key.canWithdraw,
    enableInternalTransfer: false,
    enableMargin: false,
    enableFutures: false,
    permitsUniversalTransfer: false,
    enableVanillaOptions: false,
    enableFixApiTrade: false,
    enableFixReadOnly: false,
    enablePortfolioMarginTrading: false,
  };
}

export const endpoints: readonly Endpoint[] = [
  { method: "GET", path: "/api/v3/ping", security: "NONE", weight: fixed(1), handle: () => ({}) },
  {
    method: "GET",
    path: "/api/v3/time",
    security: "NONE",
    weight: fixed(1),
    handle: (context) => ({ serverTime: context.serverTime }),
  },
  {
    method: "GET",
    path: "/api/v3/exchangeInfo",
    security: "NONE",
    weight: fixed(20),
    handle: (context) => ({
      timezone: "UTC",
      serverTime: context.serverTime,
      rateLimits: rateLimitDefinitions(context.limits),
      exchangeFilters: [],
      symbols: marketsParam(context).markets.map((market) => exchangeInfoSymbol(market.spec)),
    }),
  },
  { method: "GET", path: "/api/v3/depth", security: "NONE", weight: depthWeight, handle: depth },
  {
    method: "GET",
    path: "/api/v3/trades",
    security: "NONE",
    weight: fixed(25),
    handle: (context) => recentTrades(context, false),
  },
  {
    method: "GET",
    path: "/api/v3/historicalTrades",
    security: "NONE",
    weight: fixed(25),
    handle: (context) => recentTrades(context, true),
  },
  {
    method: "GET",
    path: "/api/v3/aggTrades",
    security: "NONE",
    weight: fixed(4),
    handle: (context) => {
      const market = context.engine.market(symbolParam(context));
      const { params } = context;
      const startTime = params.optionalInteger("startTime");
      const endTime = params.optionalInteger("endTime");
      if (startTime !== undefined && endTime !== undefined && endTime - startTime > 3600_000) {
        throw binanceErrors.lookupIntervalTooBig(1);
      }
      const fromId = params.optionalInteger("fromId");
      const prints = tradePrints(
        market,
        {
          limit: params.limit(500, 1000),
          ...optional("fromId", fromId),
          ...optional("startTime", startTime),
          ...optional("endTime", endTime),
        },
        context.nowMs,
      );
      return prints.map((print) => ({
        a: print.id,
        p: formatUnits(print.price),
        q: formatUnits(print.quantity),
        f: print.id,
        l: print.id,
        T: print.time,
        m: print.isBuyerMaker,
        M: true,
      }));
    },
  },
  ...["/api/v3/klines", "/api/v3/uiKlines"].map(
    (path): Endpoint => ({
      method: "GET",
      path,
      security: "NONE",
      weight: fixed(2),
      handle: (context) => {
        const market = context.engine.market(symbolParam(context));
        const { params } = context;
        return klines(
          market,
          {
            interval: params.string("interval"),
            limit: params.limit(500, 1000),
            ...optional("startTime", params.optionalInteger("startTime")),
            ...optional("endTime", params.optionalInteger("endTime")),
          },
          context.nowMs,
        );
      },
    }),
  ),
  {
    method: "GET",
    path: "/api/v3/avgPrice",
    security: "NONE",
    weight: fixed(2),
    handle: (context) => {
      const market = context.engine.market(symbolParam(context));
      return {
        mins: market.spec.avgPriceMins,
        price: formatPrice(market, averagePrice(market, context.nowMs)),
        closeTime: context.nowMs,
      };
    },
  },
  {
    method: "GET",
    path: "/api/v3/ticker/24hr",
    security: "NONE",
    weight: perSymbolWeight(2, 80),
    handle: (context) => {
      const { markets, single } = marketsParam(context);
      const full = (context.params.optionalString("type") ?? "FULL") !== "MINI";
      return singleOrList(
        single,
        markets.map((market) => tickerFields(market, context.nowMs, 24 * 3600_000, full)),
      );
    },
  },
  {
    method: "GET",
    path: "/api/v3/ticker",
    security: "NONE",
    weight: perSymbolWeight(4, 200),
    handle: (context) => {
      const { markets, single } = marketsParam(context);
      const windowMs = rollingWindowMs(context.params);
      return singleOrList(
        single,
        markets.map((market) => tickerFields(market, context.nowMs, windowMs, false)),
      );
    },
  },
  {
    method: "GET",
    path: "/api/v3/ticker/price",
    security: "NONE",
    weight: perSymbolWeight(2, 4),
    handle: (context) => {
      const { markets, single } = marketsParam(context);
      return singleOrList(
        single,
        markets.map((market) => ({
          symbol: market.spec.symbol,
          price: formatPrice(market, currentPrice(market, context.nowMs)),
        })),
      );
    },
  },
  {
    method: "GET",
    path: "/api/v3/ticker/bookTicker",
    security: "NONE",
    weight: perSymbolWeight(2, 4),
    handle: (context) => {
      const { markets, single } = marketsParam(context);
      return singleOrList(
        single,
        markets.map((market) => {
          const book = bookAt(market, context.nowMs, 1);
          return {
            symbol: market.spec.symbol,
            bidPrice: formatUnits(book.bids[0]?.price ?? 0n),
            bidQty: formatUnits(book.bids[0]?.quantity ?? 0n),
            askPrice: formatUnits(book.asks[0]?.price ?? 0n),
            askQty: formatUnits(book.asks[0]?.quantity ?? 0n),
          };
        }),
      );
    },
  },
  {
    method: "POST",
    path: "/api/v3/order",
    security: "SIGNED",
    trade: true,
    placesOrder: true,
    weight: fixed(1),
    handle: (context) => placeOrder(context, false),
  },
  {
    method: "POST",
    path: "/api/v3/order/test",
    security: "SIGNED",
    trade: true,
    weight: (params) => (params.optionalString("computeCommissionRates") === "true" ? 20 : 1),
    handle: (context) => placeOrder(context, true),
  },
  {
    method: "GET",
    path: "/api/v3/order",
    security: "SIGNED",
    weight: fixed(4),
    handle: (context) => {
      const symbol = symbolParam(context);
      const order = context.engine.queryOrder(
        accountIdOf(context),
        symbol,
        orderRef(context.params),
        context.nowMs,
      );
      return queriedOrder(order);
    },
  },
  {
    method: "DELETE",
    path: "/api/v3/order",
    security: "SIGNED",
    trade: true,
    weight: fixed(1),
    handle: (context) => {
      const symbol = symbolParam(context);
      const cancelId = context.params.optionalClientOrderId("newClientOrderId") ?? context.nextCancelId();
      const order = context.engine.cancelOrder(
        accountIdOf(context),
        symbol,
        orderRef(context.params),
        context.nowMs,
      );
      return canceledOrder(order, cancelId, context.nowMs);
    },
  },
  {
    method: "DELETE",
    path: "/api/v3/openOrders",
    security: "SIGNED",
    trade: true,
    weight: fixed(1),
    handle: (context) => {
      const symbol = symbolParam(context);
      const orders = context.engine.cancelAllOrders(accountIdOf(context), symbol, context.nowMs);
      return orders.map((order) => canceledOrder(order, context.nextCancelId(), context.nowMs));
    },
  },
  {
    method: "GET",
    path: "/api/v3/openOrders",
    security: "SIGNED",
    weight: (params) => (params.has("symbol") ? 6 : 80),
    handle: (context) => {
      const symbol = context.params.has("symbol") ? symbolParam(context) : undefined;
      return context.engine.openOrders(accountIdOf(context), symbol, context.nowMs).map(queriedOrder);
    },
  },
  {
    method: "GET",
    path: "/api/v3/allOrders",
    security: "SIGNED",
    weight: fixed(20),
    handle: (context) => {
      const symbol = symbolParam(context);
      const window = timeWindow(context.params);
      const fromOrderId = context.params.optionalInteger("orderId");
      const orders = context.engine
        .orders(accountIdOf(context), symbol, context.nowMs)
        .filter((order: Order) => fromOrderId === undefined || order.orderId >= fromOrderId);
      return selectWindow(orders, (order) => order.time, window, fromOrderId !== undefined).map(queriedOrder);
    },
  },
  {
    method: "GET",
    path: "/api/v3/myTrades",
    security: "SIGNED",
    weight: (params) => (params.has("orderId") ? 5 : 20),
    handle: (context) => {
      const symbol = symbolParam(context);
      const window = timeWindow(context.params);
      const orderId = context.params.optionalInteger("orderId");
      const fromId = context.params.optionalInteger("fromId");
      if (fromId !== undefined && window.startTime !== undefined)
        throw binanceErrors.parameterNotRequired("fromId");
      const trades = context.engine
        .trades(accountIdOf(context), symbol, context.nowMs)
        .filter(
          (trade: Trade) =>
            (orderId === undefined || trade.orderId === orderId) &&
            (fromId === undefined || trade.id >= fromId),
        );
      return selectWindow(trades, (trade) => trade.time, window, fromId !== undefined).map(myTrade);
    },
  },
  {
    method: "GET",
    path: "/api/v3/account",
    security: "SIGNED",
    weight: fixed(20),
    handle: (context) => {
      const accountId = accountIdOf(context);
      const key = context.key as ApiKeyRecord;
      // Balances include the fills of resting orders up to now, as after any other request.
      context.engine.advanceTo(context.nowMs);
      const setup = context.engine.accountSetup(accountId);
      const omitZero = context.params.optionalString("omitZeroBalances") === "true";
      return {
        makerCommission: Number(setup.makerCommission / 10_000n),
        takerCommission: Number(setup.takerCommission / 10_000n),
        buyerCommission: 0,
        sellerCommission: 0,
        commissionRates: commissionRates(setup.makerCommission, setup.takerCommission),
        canTrade: key.canTrade,
        canWithdraw: key.canWithdraw,
        canDeposit: true,
        brokered: false,
        requireSelfTradePrevention: false,
        preventSor: false,
        updateTime: context.engine.accountUpdateTime(accountId),
        accountType: "SPOT",
        balances: accountBalances(context.engine.balances(accountId), omitZero),
        permissions: ["SPOT"],
        uid: uidOf(accountId),
      };
    },
  },
  {
    method: "GET",
    path: "/api/v3/account/commission",
    security: "SIGNED",
    weight: fixed(20),
    handle: (context) => {
      const symbol = symbolParam(context);
      const setup = context.engine.accountSetup(accountIdOf(context));
      return {
        symbol,
        standardCommission: commissionRates(setup.makerCommission, setup.takerCommission),
        specialCommission: commissionRates(0n, 0n),
        taxCommission: commissionRates(0n, 0n),
        discount: {
          enabledForAccount: false,
          enabledForSymbol: false,
          discountAsset: "BNB",
          discount: formatUnits(0n),
        },
      };
    },
  },
  {
    method: "GET",
    path: "/api/v3/rateLimit/order",
    security: "SIGNED",
    weight: fixed(40),
    handle: (context) => {
      const counts = context.limiter.orderCounts(accountIdOf(context), context.nowMs);
      return [
        {
          rateLimitType: "ORDERS",
          interval: "SECOND",
          intervalNum: 10,
          limit: context.limits.ordersPer10Seconds,
          count: counts.count10s,
        },
        {
          rateLimitType: "ORDERS",
          interval: "DAY",
          intervalNum: 1,
          limit: context.limits.ordersPerDay,
          count: counts.count1d,
        },
      ];
    },
  },
  {
    method: "GET",
    path: "/sapi/v1/system/status",
    security: "NONE",
    weight: fixed(1),
    handle: () => ({ status: 0, msg: "normal" }),
  },
  {
    method: "GET",
    path: "/sapi/v1/account/status",
    security: "SIGNED",
    weight: fixed(1),
    handle: () => ({ data: "Normal" }),
  },
  {
    method: "GET",
    path: "/sapi/v1/account/apiRestrictions",
    security: "SIGNED",
    weight: fixed(1),
    handle: (context) => apiRestrictions(context.key as ApiKeyRecord),
  },
  {
    method: "GET",
    path: "/sapi/v1/asset/tradeFee",
    security: "SIGNED",
    weight: fixed(1),
    handle: (context) => {
      const setup = context.engine.accountSetup(accountIdOf(context));
      const symbols = context.params.has("symbol")
        ? [symbolParam(context)]
        : context.engine.symbolSpecs().map((spec) => spec.symbol);
      return symbols.map((symbol) => ({
        symbol,
        makerCommission: formatUnits(setup.makerCommission).replace(/0+$/, ""),
        takerCommission: formatUnits(setup.takerCommission).replace(/0+$/, ""),
      }));
    },
  },
];

function recentTrades(context: EndpointContext, historical: boolean) {
  const market = context.engine.market(symbolParam(context));
  const fromId = historical ? context.params.optionalInteger("fromId") : undefined;
  const prints = tradePrints(
    market,
    { limit: context.params.limit(500, 1000), ...optional("fromId", fromId) },
    context.nowMs,
  );
  return prints.map((print) => ({
    id: print.id,
    price: formatUnits(print.price),
    qty: formatUnits(print.quantity),
    quoteQty: formatUnits(multiplyUnits(print.price, print.quantity, "floor")),
    time: print.time,
    isBuyerMaker: print.isBuyerMaker,
    isBestMatch: true,
  }));
}

function uidOf(accountId: string): number {
  let hash = 0;
  for (let i = 0; i < accountId.length; i++) hash = (hash * 31 + accountId.charCodeAt(i)) % 900_000_000;
  return 100_000_000 + hash;
}

const routes = new Map(
  [...endpoints, ...listingEndpoints].map((endpoint) => [`${endpoint.method} ${endpoint.path}`, endpoint]),
);

export function findEndpoint(method: string, path: string): Endpoint | undefined {
  return routes.get(`${method} ${path}`);
}
