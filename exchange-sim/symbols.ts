// Trading pairs: their Binance filters (what exchangeInfo publishes and order placement enforces) and the
// parameters of their synthetic market (start price, volatility, traded volume, book depth).

import { unitsOf } from "./decimal.ts";

/** A pair as configured: decimals are strings, as in exchangeInfo. */
export interface SymbolConfig {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  tickSize: string;
  minPrice?: string;
  maxPrice?: string;
  stepSize: string;
  minQty?: string;
  maxQty: string;
  marketMaxQty: string;
  minNotional: string;
  maxNotional: string;
  maxNumOrders?: number;
  /** Price at the simulator's start (synthetic path) in quote units. */
  initialPrice: string;
  /** Annualised volatility of the synthetic path, e.g. 0.6 for 60 %. */
  annualVolatility?: number;
  /** Mean traded base volume per minute of market time (bounds resting-order fills). */
  volumePerMinute: string;
  /** Mean base quantity at each synthetic book level (bounds market-order size before slippage). */
  bookLevelQty: string;
}

export interface SymbolSpec {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  tickSize: bigint;
  minPrice: bigint;
  maxPrice: bigint;
  stepSize: bigint;
  minQty: bigint;
  maxQty: bigint;
  marketMinQty: bigint;
  marketMaxQty: bigint;
  minNotional: bigint;
  maxNotional: bigint;
  maxNumOrders: number;
  /** PERCENT_PRICE_BY_SIDE multipliers, in units (5 = 500000000n). */
  multiplierUp: bigint;
  multiplierDown: bigint;
  avgPriceMins: number;
  initialPrice: number;
  annualVolatility: number;
  volumePerMinute: number;
  bookLevelQty: bigint;
}

export const defaultSymbolConfigs: readonly SymbolConfig[] = [
  {
    symbol: "BTCUSDT",
    baseAsset: "BTC",
    quoteAsset: "USDT",
    tickSize: "0.01",
    maxPrice: "1000000",
    stepSize: "0.00001",
    maxQty: "9000",
    marketMaxQty: "120",
    minNotional: "5",
    maxNotional: "9000000",
    initialPrice: "60000",
    annualVolatility: 0.6,
    volumePerMinute: "20",
    bookLevelQty: "0.5",
  },
  {
    symbol: "ETHUSDT",
    baseAsset: "ETH",
    quoteAsset: "USDT",
    tickSize: "0.01",
    maxPrice: "1000000",
    stepSize: "0.0001",
    maxQty: "9000",
    marketMaxQty: "3000",
    minNotional: "5",
    maxNotional: "9000000",
    initialPrice: "3000",
    annualVolatility: 0.7,
    volumePerMinute: "400",
    bookLevelQty: "8",
  },
  {
    symbol: "ETHBTC",
    baseAsset: "ETH",
    quoteAsset: "BTC",
    tickSize: "0.00001",
    maxPrice: "922327",
    stepSize: "0.0001",
    maxQty: "100000",
    marketMaxQty: "2000",
    minNotional: "0.0001",
    maxNotional: "9000000",
    initialPrice: "0.05",
    annualVolatility: 0.5,
    volumePerMinute: "30",
    bookLevelQty: "10",
  },
  {
    symbol: "BNBUSDT",
    baseAsset: "BNB",
    quoteAsset: "USDT",
    tickSize: "0.01",
    maxPrice: "100000",
    stepSize: "0.001",
    maxQty: "9000",
    marketMaxQty: "5000",
    minNotional: "5",
    maxNotional: "9000000",
    initialPrice: "600",
    annualVolatility: 0.6,
    volumePerMinute: "150",
    bookLevelQty: "40",
  },
  {
    symbol: "SOLUSDT",
    baseAsset: "SOL",
    quoteAsset: "USDT",
    tickSize: "0.01",
    maxPrice: "100000",
    stepSize: "0.001",
    maxQty: "90000",
    marketMaxQty: "30000",
    minNotional: "5",
    maxNotional: "9000000",
    initialPrice: "150",
    annualVolatility: 0.9,
    volumePerMinute: "2500",
    bookLevelQty: "200",
  },
];

/** Turns a configured pair into its enforced spec; throws naming the symbol and field on bad values. */
export function symbolSpecFromConfig(config: SymbolConfig): SymbolSpec {
  const field = (name: string, value: string) => {
    try {
      return unitsOf(value);
    } catch (error) {
      throw new Error(`symbol ${config.symbol}: ${name}: ${(error as Error).message}`);
    }
  };
  const tickSize = field("tickSize", config.tickSize);
  const stepSize = field("stepSize", config.stepSize);
  const spec: SymbolSpec = {
    symbol: config.symbol,
    baseAsset: config.baseAsset,
    quoteAsset: config.quoteAsset,
    tickSize,
    minPrice: config.minPrice === undefined ? tickSize : field("minPrice", config.minPrice),
    maxPrice: config.maxPrice === undefined ? 0n : field("maxPrice", config.maxPrice),
    stepSize,
    minQty: config.minQty === undefined ? stepSize : field("minQty", config.minQty),
    maxQty: field("maxQty", config.maxQty),
    marketMinQty: 0n,
    marketMaxQty: field("marketMaxQty", config.marketMaxQty),
    minNotional: field("minNotional", config.minNotional),
    maxNotional: field("maxNotional", config.maxNotional),
    maxNumOrders: config.maxNumOrders ?? 200,
    multiplierUp: unitsOf("5"),
    multiplierDown: unitsOf("0.2"),
    avgPriceMins: 5,
    initialPrice: Number(config.initialPrice),
    annualVolatility: config.annualVolatility ?? 0.6,
    volumePerMinute: Number(config.volumePerMinute),
    bookLevelQty: field("bookLevelQty", config.bookLevelQty),
  };
  if (tickSize <= 0n || stepSize <= 0n)
    throw new Error(`symbol ${config.symbol}: tickSize and stepSize must be > 0`);
  if (!(spec.initialPrice > 0)) throw new Error(`symbol ${config.symbol}: initialPrice must be > 0`);
  if (!/^[A-Z0-9]{2,20}$/.test(config.symbol) || config.symbol !== config.baseAsset + config.quoteAsset) {
    throw new Error(
      `symbol ${config.symbol}: must be upper-case baseAsset followed by quoteAsset (got base ${config.baseAsset}, quote ${config.quoteAsset})`,
    );
  }
  return spec;
}

/** Accepts "BTCUSDT", "BTC/USDT" or "btcusdt" and returns Binance's symbol id. */
export function normalizeSymbol(symbol: string): string {
  return symbol.replace("/", "").toUpperCase();
}
