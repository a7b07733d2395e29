import type { Decimal } from "../money/decimal.ts";

// The narrow view of an exchange that the runtime trades through. Deciding code sees only these types;
// the ccxt adapter is the one place that knows how an exchange spells them.

export type OrderSide = "buy" | "sell";
export type OrderType = "limit" | "market";
export type ExchangeOrderStatus = "open" | "filled" | "canceled" | "rejected" | "expired";

/** Trading rules of one spot market, from the exchange's filters. */
export type MarketRules = {
  symbol: string;
  base: string;
  quote: string;
  /** Price increment (PRICE_FILTER tickSize). */
  tickSize: Decimal;
  minPrice: Decimal;
  /** Zero when the exchange sets no maximum. */
  maxPrice: Decimal;
  /** Quantity increment (LOT_SIZE stepSize). */
  stepSize: Decimal;
  minQty: Decimal;
  maxQty: Decimal;
  /** Smallest price × quantity (NOTIONAL / MIN_NOTIONAL). */
  minNotional: Decimal;
};

export type Ticker = { last: Decimal; timestamp: number };

export type Candle = {
  openTime: number;
  open: Decimal;
  high: Decimal;
  low: Decimal;
  close: Decimal;
  volume: Decimal;
};

export type AssetBalance = { free: Decimal; locked: Decimal };
export type Balances = ReadonlyMap<string, AssetBalance>;

export type OrderRequest = {
  clientOrderId: string;
  side: OrderSide;
  type: OrderType;
  amount: Decimal;
  /** Limit orders only. */
  price?: Decimal;
};

export type ExchangeOrder = {
  id: string;
  clientOrderId: string;
  side: OrderSide;
  type: OrderType;
  price?: Decimal;
  amount: Decimal;
  filled: Decimal;
  status: ExchangeOrderStatus;
  timestamp: number;
};

export type ExchangeTrade = {
  id: string;
  orderId: string;
  side: OrderSide;
  price: Decimal;
  amount: Decimal;
  fee: Decimal;
  feeCurrency: string;
  timestamp: number;
};

/** What the exchange says a key may do; undefined where the exchange does not report it. */
export type ApiKeyRestrictions = { canTrade: boolean; canWithdraw: boolean };

/**
 * `halt` marks the calls that stop trading: a stop's or a risk halt's cancels and the reads they need. They
 * skip the client's own request pacing, which spreads routine calls and would make a halt queue behind the
 * last tick's; the exchange's limits and the pause after a 429 or 418 still apply.
 */
export type CallPriority = "routine" | "halt";

export interface ExchangePort {
  market(symbol: string): Promise<MarketRules>;
  ticker(symbol: string): Promise<Ticker>;
  /** Most recent candles, oldest first; the last one may still be forming. */
  candles(symbol: string, timeframe: string, limit: number): Promise<Candle[]>;
  balances(): Promise<Balances>;
  createOrder(symbol: string, request: OrderRequest): Promise<ExchangeOrder>;
  /** undefined when the exchange has no order with this client id. */
  fetchOrderByClientId(symbol: string, clientOrderId: string): Promise<ExchangeOrder | undefined>;
  openOrders(symbol: string, priority?: CallPriority): Promise<ExchangeOrder[]>;
  /** undefined when the order was no longer open (filled or cancelled already). */
  cancelOrder(
    symbol: string,
    clientOrderId: string,
    priority?: CallPriority,
  ): Promise<ExchangeOrder | undefined>;
  /** Cancels every open order of the account on the symbol in one request; always a `halt` call. */
  cancelAll(symbol: string): Promise<ExchangeOrder[]>;
  /** The account's trades on the symbol, oldest first, from trade id `fromId` on (all pages). */
  myTrades(symbol: string, fromId?: string): Promise<ExchangeTrade[]>;
  apiKeyRestrictions(): Promise<ApiKeyRestrictions | undefined>;
  /** The exchange's clock (ms since epoch), with the runtime's measured offset applied. */
  time(): number;
  /**
   * Trading is stopping: routine calls still waiting for their turn in the client's pacing fail with
   * kind `withdrawn` and are never sent, so no placement queued before a halt goes out after it.
   */
  withdrawQueued(): void;
}

/**
 * Why an exchange call failed, in the terms the runtime acts on:
 * - `unavailable`: network error, timeout or 5xx. For an order placement the outcome is unknown.
 * - `rateLimited`: 429; wait `retryAfterMs`. `banned`: 418; stop calling until `retryAfterMs` has passed.
 * - `clockSkew`: -1021 even after resynchronising the clock.
 * - `authentication`: -2015 / -1022 (unknown key, missing permission, bad signature).
 * - `orderNotFound`: -2013 / -2011. `rejected`: the exchange refused the request (filters, balance, ...).
 * - `withdrawn`: never sent; it was still queued when trading began to stop (withdrawQueued).
 */
export type ExchangeFailureKind =
  | "unavailable"
  | "rateLimited"
  | "banned"
  | "clockSkew"
  | "authentication"
  | "orderNotFound"
  | "rejected"
  | "withdrawn"
  | "unexpected";

export class ExchangeFailure extends Error {
  readonly kind: ExchangeFailureKind;
  /** The exchange's error code ("-2010"), the HTTP status ("HTTP_503") or "NETWORK"/"TIMEOUT". */
  readonly code: string;
  readonly retryAfterMs: number | undefined;

  constructor(kind: ExchangeFailureKind, code: string, message: string, retryAfterMs?: number) {
    super(message);
    this.name = "ExchangeFailure";
    this.kind = kind;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

export function isExchangeFailure(error: unknown, ...kinds: ExchangeFailureKind[]): error is ExchangeFailure {
  return error instanceof ExchangeFailure && (kinds.length === 0 || kinds.includes(error.kind));
}
