import type { TradingMode } from "../../api/v1alpha1/tradingbot.ts";
import type { ExchangeCredentials } from "../config/credentials.ts";
import { Decimal } from "../money/decimal.ts";
import { binanceConfigForEndpoint } from "./binance-urls.ts";
import { loadBinanceClass } from "./load-binance-class.ts";
import {
  type ApiKeyRestrictions,
  type AssetBalance,
  type CallPriority,
  type Candle,
  ExchangeFailure,
  type ExchangeFailureKind,
  type ExchangeOrder,
  type ExchangeOrderStatus,
  type ExchangePort,
  type ExchangeTrade,
  type MarketRules,
  type OrderRequest,
  type Ticker,
} from "./port.ts";

// The one exchange adapter: ccxt's `binance` class, spot markets only. Binance's own error codes are read
// from each response (ccxt maps them to exception classes only for binance.com URLs, not for an
// overridden endpoint), so the runtime acts the same against Binance, its testnet and the simulator.
//  - -1021 (timestamp outside recvWindow): resynchronise the clock once and retry once.
//  - 429: every call pauses until Retry-After has passed; 418 (IP banned): the same, for the ban's length.
//  - every exchange error is counted by code through the observer.
//  - ccxt's rate limiter paces routine calls; `halt` calls go past it (see CallPriority), and a stop
//    withdraws the routine calls still queued in it.

export const RECV_WINDOW_MS = 5_000;
const REQUEST_TIMEOUT_MS = 5_000;
const DEFAULT_BACKOFF_MS = { rateLimited: 10_000, banned: 120_000 } as const;

export type ExchangeObserver = {
  /** Every failed call, by code ("-2010", "HTTP_503", "TIMEOUT", ...). */
  error(code: string, kind: ExchangeFailureKind): void;
  /** X-MBX-USED-WEIGHT-1M of each response. */
  weightUsed(weight: number): void;
  /** A 429 or 418 answer and how long calls now pause. */
  rateLimited(status: 429 | 418, retryAfterMs: number): void;
  /** The clock was resynchronised after a -1021. */
  clockResynced(offsetMs: number): void;
};

export type CcxtBinanceOptions = {
  mode: TradingMode;
  endpoint?: string;
  credentials: ExchangeCredentials;
  observer: ExchangeObserver;
  timeoutMs?: number;
};

type RawOrder = {
  orderId?: number | string;
  clientOrderId?: string;
  origClientOrderId?: string;
  price?: string;
  origQty?: string;
  executedQty?: string;
  status?: string;
  type?: string;
  side?: string;
  time?: number;
  transactTime?: number;
  updateTime?: number;
};

type RawTrade = {
  id: number | string;
  orderId: number | string;
  price: string;
  qty: string;
  commission: string;
  commissionAsset: string;
  time: number;
  isBuyer: boolean;
};

type RawFilter = { filterType: string; [key: string]: unknown };

const BINANCE_STATUS: Record<string, ExchangeOrderStatus> = {
  NEW: "open",
  PARTIALLY_FILLED: "open",
  PENDING_NEW: "open",
  FILLED: "filled",
  CANCELED: "canceled",
  PENDING_CANCEL: "canceled",
  REJECTED: "rejected",
  EXPIRED: "expired",
  EXPIRED_IN_MATCH: "expired",
};

function kindOfBinanceCode(code: number): ExchangeFailureKind {
  switch (code) {
    case -1021:
      return "clockSkew";
    case -1022:
    case -2014:
    case -2015:
    case -1002:
      return "authentication";
    case -2011:
    case -2013:
      return "orderNotFound";
    case -1003:
      return "rateLimited";
    case -1000:
    case -1001:
    case -1006:
    case -1007:
    case -1008:
      return "unavailable";
    default:
      return "rejected";
  }
}

function header(headers: Record<string, unknown> | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && value !== undefined) return String(value);
  }
  return undefined;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.constructor.name : typeof error;
}

/** Errors that never reached a response: timeouts and network failures, by ccxt's class names. */
function transportFailure(error: unknown): ExchangeFailure | undefined {
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);
  if (name === "RequestTimeout") return new ExchangeFailure("unavailable", "TIMEOUT", message);
  if (["NetworkError", "ExchangeNotAvailable", "OnMaintenance"].includes(name)) {
    return new ExchangeFailure("unavailable", "NETWORK", message);
  }
  if (name === "AuthenticationError") return new ExchangeFailure("authentication", "AUTH", message);
  return undefined;
}

function decimalOrZero(value: unknown): Decimal {
  return typeof value === "string" && value !== "" ? Decimal.parse(value) : Decimal.ZERO;
}

function toExchangeOrder(raw: RawOrder): ExchangeOrder {
  const price = decimalOrZero(raw.price);
  const type = raw.type === "MARKET" ? "market" : "limit";
  return {
    id: String(raw.orderId ?? ""),
    clientOrderId: raw.origClientOrderId ?? raw.clientOrderId ?? "",
    side: raw.side === "SELL" ? "sell" : "buy",
    type,
    ...(type === "limit" && price.isPositive() ? { price } : {}),
    amount: decimalOrZero(raw.origQty),
    filled: decimalOrZero(raw.executedQty),
    status: BINANCE_STATUS[raw.status ?? ""] ?? "open",
    timestamp: raw.updateTime ?? raw.transactTime ?? raw.time ?? 0,
  };
}

function toExchangeTrade(raw: RawTrade): ExchangeTrade {
  return {
    id: String(raw.id),
    orderId: String(raw.orderId),
    side: raw.isBuyer ? "buy" : "sell",
    price: Decimal.parse(raw.price),
    amount: Decimal.parse(raw.qty),
    fee: Decimal.parse(raw.commission),
    feeCurrency: raw.commissionAsset,
    timestamp: raw.time,
  };
}

function marketRules(symbol: string, market: { base: string; quote: string; info: unknown }): MarketRules {
  const filters = ((market.info as { filters?: RawFilter[] }).filters ?? []) as RawFilter[];
  const filter = (type: string) => filters.find((f) => f.filterType === type) ?? { filterType: type };
  const price = filter("PRICE_FILTER");
  const lot = filter("LOT_SIZE");
  const notional = filters.find((f) => f.filterType === "NOTIONAL" || f.filterType === "MIN_NOTIONAL");
  return {
    symbol,
    base: market.base,
    quote: market.quote,
    tickSize: decimalOrZero(price.tickSize),
    minPrice: decimalOrZero(price.minPrice),
    maxPrice: decimalOrZero(price.maxPrice),
    stepSize: decimalOrZero(lot.stepSize),
    minQty: decimalOrZero(lot.minQty),
    maxQty: decimalOrZero(lot.maxQty),
    minNotional: decimalOrZero(notional?.minNotional),
  };
}

export async function createCcxtBinance(options: CcxtBinanceOptions): Promise<ExchangePort> {
  const Binance = await loadBinanceClass();
  const { observer } = options;
  let pausedUntil = 0;
  // Non-zero while a `halt` call is being issued. ccxt reaches `throttle` synchronously from the call
  // (request -> fetch2 -> throttle, before its first await), so the flag covers exactly that call; a test
  // in ccxt-binance.test.ts fails if a ccxt upgrade changes this.
  let unpaced = 0;
  /** Routine calls waiting in ccxt's limiter, each with the way to fail it before it is sent. */
  const queued = new Set<(failure: ExchangeFailure) => void>();

  // The response hook: weight, 429/418 with their Retry-After, 5xx and Binance error codes become typed
  // failures here, where the response headers are still at hand.
  class ObservedBinance extends Binance {
    override throttle(cost?: number): Promise<unknown> {
      if (unpaced > 0) return Promise.resolve();
      return new Promise((resolve, reject) => {
        queued.add(reject);
        super.throttle(cost).then(
          (value: unknown) => queued.delete(reject) && resolve(value),
          (error: unknown) => queued.delete(reject) && reject(error),
        );
      });
    }

    override handleErrors(
      status: number,
      reason: string,
      url: string,
      method: string,
      headers: Record<string, unknown>,
      body: string,
      response: unknown,
      requestHeaders: unknown,
      requestBody: unknown,
    ) {
      const weight = Number(header(headers, "X-MBX-USED-WEIGHT-1M"));
      if (Number.isFinite(weight)) observer.weightUsed(weight);
      if (status === 429 || status === 418) {
        const retryAfterSeconds = Number(header(headers, "Retry-After"));
        const retryAfterMs =
          Number.isFinite(retryAfterSeconds) && retryAfterSeconds > 0
            ? retryAfterSeconds * 1000
            : status === 418
              ? DEFAULT_BACKOFF_MS.banned
              : DEFAULT_BACKOFF_MS.rateLimited;
        pausedUntil = Math.max(pausedUntil, Date.now() + retryAfterMs);
        observer.rateLimited(status, retryAfterMs);
        throw new ExchangeFailure(
          status === 418 ? "banned" : "rateLimited",
          String(status),
          `binance answered ${status} ${reason} on ${method} ${new URL(url).pathname}; pausing ${retryAfterMs} ms`,
          retryAfterMs,
        );
      }
      const code = (response as { code?: unknown } | undefined)?.code;
      if (typeof code === "number" && code < 0) {
        const message = (response as { msg?: unknown }).msg;
        throw new ExchangeFailure(
          kindOfBinanceCode(code),
          String(code),
          `binance ${code} on ${method} ${new URL(url).pathname}: ${typeof message === "string" ? message : body}`,
        );
      }
      if (status >= 500) {
        throw new ExchangeFailure(
          "unavailable",
          `HTTP_${status}`,
          `binance answered ${status} ${reason} on ${method} ${new URL(url).pathname}`,
        );
      }
      return super.handleErrors(
        status,
        reason,
        url,
        method,
        headers,
        body,
        response,
        requestHeaders,
        requestBody,
      );
    }
  }

  const overridden = options.endpoint === undefined ? {} : binanceConfigForEndpoint(options.endpoint);
  const exchange = new ObservedBinance({
    apiKey: options.credentials.apiKey,
    secret: options.credentials.secret,
    enableRateLimit: true,
    timeout: options.timeoutMs ?? REQUEST_TIMEOUT_MS,
    ...overridden,
    options: {
      defaultType: "spot",
      fetchMarkets: { types: ["spot"] },
      fetchCurrencies: false,
      fetchMargins: false,
      recvWindow: RECV_WINDOW_MS,
      ...(overridden as { options?: object }).options,
    },
  });
  if (options.mode === "testnet") exchange.setSandboxMode(true);

  const resyncClock = async () => {
    const offset = await exchange.loadTimeDifference();
    observer.clockResynced(offset);
  };

  /** One exchange call with the runtime's policies; `maxPauseWaitMs` lets a stop wait out a short pause. */
  async function call<T>(
    what: () => Promise<T>,
    maxPauseWaitMs = 0,
    priority: CallPriority = "routine",
  ): Promise<T> {
    const issue = () => {
      if (priority === "routine") return what();
      unpaced++;
      try {
        return what();
      } finally {
        unpaced--;
      }
    };
    const attempt = async (): Promise<T> => {
      const pause = pausedUntil - Date.now();
      if (pause > 0) {
        if (pause > maxPauseWaitMs) {
          throw new ExchangeFailure(
            "rateLimited",
            "PAUSED",
            `exchange calls are paused for ${pause} ms after a 429/418`,
            pause,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
      try {
        return await issue();
      } catch (error) {
        if (error instanceof ExchangeFailure) throw error;
        throw (
          transportFailure(error) ??
          new ExchangeFailure(
            "unexpected",
            errorName(error),
            error instanceof Error ? error.message : String(error),
          )
        );
      }
    };
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ExchangeFailure)) throw error;
      if (error.code !== "PAUSED" && error.kind !== "withdrawn") observer.error(error.code, error.kind);
      if (error.kind !== "clockSkew") throw error;
      await resyncClock();
      try {
        return await attempt();
      } catch (retryError) {
        if (retryError instanceof ExchangeFailure && retryError.code !== "PAUSED") {
          observer.error(retryError.code, retryError.kind);
        }
        throw retryError;
      }
    }
  }

  const marketId = (symbol: string) => exchange.market(symbol).id;
  let marketsLoadFailed = false;

  await call(() => exchange.loadTimeDifference());

  return {
    async market(symbol) {
      // ccxt keeps a failed load's promise and hands it to every later call: after a failure, load anew.
      let markets: Awaited<ReturnType<typeof exchange.loadMarkets>>;
      try {
        markets = await call(() => exchange.loadMarkets(marketsLoadFailed));
        marketsLoadFailed = false;
      } catch (error) {
        marketsLoadFailed = true;
        throw error;
      }
      const market = markets[symbol];
      if (market === undefined || market.spot !== true) {
        throw new ExchangeFailure("rejected", "UNKNOWN_SYMBOL", `the exchange has no spot market ${symbol}`);
      }
      return marketRules(symbol, market as unknown as { base: string; quote: string; info: unknown });
    },

    async ticker(symbol): Promise<Ticker> {
      const raw = (await call(() => exchange.publicGetTickerPrice({ symbol: marketId(symbol) }))) as {
        price: string;
      };
      return {
        last: Decimal.parse(raw.price),
        timestamp: exchange.milliseconds() - exchange.options.timeDifference,
      };
    },

    async candles(symbol, timeframe, limit): Promise<Candle[]> {
      const rows = (await call(() =>
        exchange.publicGetKlines({ symbol: marketId(symbol), interval: timeframe, limit }),
      )) as [number, string, string, string, string, string][];
      return rows.map(([openTime, open, high, low, close, volume]) => ({
        openTime,
        open: Decimal.parse(open),
        high: Decimal.parse(high),
        low: Decimal.parse(low),
        close: Decimal.parse(close),
        volume: Decimal.parse(volume),
      }));
    },

    async balances() {
      const raw = (await call(() => exchange.privateGetAccount({ omitZeroBalances: "true" }))) as {
        balances: { asset: string; free: string; locked: string }[];
      };
      return new Map<string, AssetBalance>(
        raw.balances.map((b) => [b.asset, { free: Decimal.parse(b.free), locked: Decimal.parse(b.locked) }]),
      );
    },

    async createOrder(symbol, request: OrderRequest) {
      const raw = (await call(() =>
        exchange.privatePostOrder({
          symbol: marketId(symbol),
          side: request.side === "buy" ? "BUY" : "SELL",
          type: request.type === "limit" ? "LIMIT" : "MARKET",
          quantity: request.amount.toString(),
          newClientOrderId: request.clientOrderId,
          newOrderRespType: "RESULT",
          ...(request.type === "limit" ? { price: request.price?.toString(), timeInForce: "GTC" } : {}),
        }),
      )) as RawOrder;
      return toExchangeOrder(raw);
    },

    async fetchOrderByClientId(symbol, clientOrderId) {
      try {
        const raw = (await call(() =>
          exchange.privateGetOrder({ symbol: marketId(symbol), origClientOrderId: clientOrderId }),
        )) as RawOrder;
        return toExchangeOrder(raw);
      } catch (error) {
        if (error instanceof ExchangeFailure && error.kind === "orderNotFound") return undefined;
        throw error;
      }
    },

    async openOrders(symbol, priority) {
      const raw = (await call(
        () => exchange.privateGetOpenOrders({ symbol: marketId(symbol) }),
        0,
        priority,
      )) as RawOrder[];
      return raw.map(toExchangeOrder);
    },

    async cancelOrder(symbol, clientOrderId, priority) {
      try {
        const raw = (await call(
          () => exchange.privateDeleteOrder({ symbol: marketId(symbol), origClientOrderId: clientOrderId }),
          2_000,
          priority,
        )) as RawOrder;
        return toExchangeOrder(raw);
      } catch (error) {
        if (error instanceof ExchangeFailure && error.kind === "orderNotFound") return undefined;
        throw error;
      }
    },

    async cancelAll(symbol) {
      try {
        const raw = (await call(
          () => exchange.privateDeleteOpenOrders({ symbol: marketId(symbol) }),
          2_000,
          "halt",
        )) as RawOrder[];
        return raw.map(toExchangeOrder);
      } catch (error) {
        // Binance answers -2011 when there was nothing to cancel.
        if (error instanceof ExchangeFailure && error.kind === "orderNotFound") return [];
        throw error;
      }
    },

    async myTrades(symbol, fromId) {
      const trades: ExchangeTrade[] = [];
      let cursor = fromId;
      for (;;) {
        const page = (await call(() =>
          exchange.privateGetMyTrades({
            symbol: marketId(symbol),
            limit: 1000,
            ...(cursor === undefined ? {} : { fromId: cursor }),
          }),
        )) as RawTrade[];
        trades.push(...page.map(toExchangeTrade));
        const last = page.at(-1);
        if (page.length < 1000 || last === undefined) return trades;
        cursor = (BigInt(last.id) + 1n).toString();
      }
    },

    async apiKeyRestrictions(): Promise<ApiKeyRestrictions | undefined> {
      // Binance's testnet has no /sapi endpoints, so it cannot say; paper and live can.
      if (options.mode === "testnet") return undefined;
      const raw = (await call(() => exchange.sapiGetAccountApiRestrictions())) as {
        enableWithdrawals?: boolean;
        enableSpotAndMarginTrading?: boolean;
      };
      return {
        canWithdraw: raw.enableWithdrawals === true,
        canTrade: raw.enableSpotAndMarginTrading !== false,
      };
    },

    time() {
      return exchange.milliseconds() - Number(exchange.options.timeDifference ?? 0);
    },

    withdrawQueued() {
      const failure = new ExchangeFailure("withdrawn", "WITHDRAWN", "not sent: trading is stopping");
      for (const fail of queued) fail(failure);
      queued.clear();
    },
  };
}
