// One trading pair's market: its spec and price path, and the public market data derived from them (prices,
// book, klines, 24h ticker, trade prints). All functions take the server time explicitly.

import { floorToStep, formatUnits, roundToStep, unitsFromNumber } from "./decimal.ts";
import { binanceErrors } from "./errors.ts";
import { type BookLevel, bestPrices, bookSide, type SyntheticBook, syntheticBook } from "./order-book.ts";
import type { PricePath, RangeStats } from "./price-path.ts";
import type { SymbolSpec } from "./symbols.ts";

export interface Market {
  spec: SymbolSpec;
  path: PricePath;
  seed: number;
  /** Server time at which the simulator started; seconds are counted from here. */
  startMs: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SYNTHETIC_DEPTH = 200;

export function priceUnits(market: Market, price: number): bigint {
  return roundToStep(unitsFromNumber(price), market.spec.tickSize);
}

export function formatPrice(market: Market, price: number): string {
  return formatUnits(priceUnits(market, price));
}

/** The path price now; before the path has data the market is closed. */
export function currentPrice(market: Market, nowMs: number): number {
  const price = market.path.priceAt(nowMs);
  if (price === undefined) throw binanceErrors.marketClosed();
  return price;
}

const averageCache = new WeakMap<Market, { second: number; version: number; value: number }>();

/** Mean path price over the last avgPriceMins minutes, sampled at each whole second (Binance's avgPrice). */
export function averagePrice(market: Market, nowMs: number): number {
  const second = Math.floor(nowMs / 1000);
  const cached = averageCache.get(market);
  if (cached !== undefined && cached.second === second && cached.version === market.path.version) {
    return cached.value;
  }
  let total = 0;
  let samples = 0;
  for (let at = second - market.spec.avgPriceMins * 60; at <= second; at++) {
    const price = market.path.priceAt(at * 1000);
    if (price === undefined) continue;
    total += price;
    samples++;
  }
  const value = samples === 0 ? currentPrice(market, nowMs) : total / samples;
  averageCache.set(market, { second, version: market.path.version, value });
  return value;
}

export function secondIndex(market: Market, nowMs: number): number {
  return Math.floor((nowMs - market.startMs) / 1000);
}

export function bookAt(market: Market, nowMs: number, depth = SYNTHETIC_DEPTH): SyntheticBook {
  return syntheticBook(
    market.spec,
    currentPrice(market, nowMs),
    market.seed,
    secondIndex(market, nowMs),
    depth,
  );
}

export function bestBidAsk(market: Market, nowMs: number) {
  return bestPrices(market.spec, currentPrice(market, nowMs));
}

/** One side of the book, generated level by level as a taker order walks it. */
export function bookSideAt(market: Market, nowMs: number, side: "bids" | "asks"): Iterable<BookLevel> {
  const price = currentPrice(market, nowMs);
  return bookSide(market.spec, price, market.seed, secondIndex(market, nowMs), side, SYNTHETIC_DEPTH);
}

// ---- klines ----

const fixedIntervals: Record<string, number> = {
  "1s": 1000,
  "1m": MINUTE,
  "3m": 3 * MINUTE,
  "5m": 5 * MINUTE,
  "15m": 15 * MINUTE,
  "30m": 30 * MINUTE,
  "1h": HOUR,
  "2h": 2 * HOUR,
  "4h": 4 * HOUR,
  "6h": 6 * HOUR,
  "8h": 8 * HOUR,
  "12h": 12 * HOUR,
  "1d": DAY,
  "3d": 3 * DAY,
};

interface IntervalGrid {
  bucketStart(timeMs: number): number;
  next(startMs: number): number;
  previous(startMs: number): number;
}

// Weekly klines open on Mondays 00:00 UTC; 1970-01-05 was the first Monday after the epoch.
const FIRST_MONDAY = 4 * DAY;

function intervalGrid(interval: string): IntervalGrid {
  const fixed = fixedIntervals[interval];
  if (fixed !== undefined) {
    return {
      bucketStart: (t) => Math.floor(t / fixed) * fixed,
      next: (s) => s + fixed,
      previous: (s) => s - fixed,
    };
  }
  if (interval === "1w") {
    const week = 7 * DAY;
    return {
      bucketStart: (t) => Math.floor((t - FIRST_MONDAY) / week) * week + FIRST_MONDAY,
      next: (s) => s + week,
      previous: (s) => s - week,
    };
  }
  if (interval === "1M") {
    const monthStart = (t: number, offset: number) => {
      const date = new Date(t);
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + offset, 1);
    };
    return {
      bucketStart: (t) => monthStart(t, 0),
      next: (s) => monthStart(s, 1),
      previous: (s) => monthStart(s, -1),
    };
  }
  throw binanceErrors.invalidInterval();
}

export type KlineRow = [
  number,
  string,
  string,
  string,
  string,
  string,
  number,
  string,
  number,
  string,
  string,
  "0",
];

function klineRow(
  market: Market,
  openTime: number,
  closeTime: number,
  stats: RangeStats,
  seconds: number,
): KlineRow {
  const typical = (stats.open + stats.high + stats.low + stats.close) / 4;
  const volume = unitsFromNumber(stats.volume);
  const quoteVolume = unitsFromNumber(stats.volume * typical);
  return [
    openTime,
    formatPrice(market, stats.open),
    formatPrice(market, stats.high),
    formatPrice(market, stats.low),
    formatPrice(market, stats.close),
    formatUnits(volume),
    closeTime,
    formatUnits(quoteVolume),
    volume > 0n ? Math.max(1, Math.round(seconds)) : 0,
    formatUnits(volume / 2n),
    formatUnits(quoteVolume / 2n),
    "0",
  ];
}

export interface KlineQuery {
  interval: string;
  startTime?: number;
  endTime?: number;
  limit: number;
}

/** Klines in server time; the last one is the current, still-open candle. */
export function klines(market: Market, query: KlineQuery, nowMs: number): KlineRow[] {
  const grid = intervalGrid(query.interval);
  const rowFor = (openTime: number) => {
    const end = grid.next(openTime);
    const stats = market.path.rangeStats(openTime, Math.min(end, nowMs));
    if (stats === undefined) return undefined;
    const seconds = ((Math.min(end, nowMs) - openTime) / 1000) * market.path.speed;
    return klineRow(market, openTime, end - 1, stats, seconds);
  };
  const rows: KlineRow[] = [];
  if (query.startTime !== undefined) {
    let openTime = grid.bucketStart(
      Math.max(query.startTime, grid.bucketStart(market.path.dataStartServerMs())),
    );
    if (openTime < query.startTime) openTime = grid.next(openTime);
    const last = Math.min(query.endTime ?? nowMs, nowMs);
    // Buckets before the market has data yield no row and are skipped.
    while (openTime <= last && rows.length < query.limit) {
      const row = rowFor(openTime);
      if (row !== undefined) rows.push(row);
      openTime = grid.next(openTime);
    }
    return rows;
  }
  let openTime = grid.bucketStart(Math.min(query.endTime ?? nowMs, nowMs));
  // A candle opening exactly now has no trades yet.
  if (openTime >= nowMs) openTime = grid.previous(openTime);
  while (rows.length < query.limit) {
    const row = rowFor(openTime);
    if (row === undefined) break;
    rows.push(row);
    openTime = grid.previous(openTime);
  }
  return rows.reverse();
}

// ---- trade prints: one aggregated print per second of server time ----

export interface TradePrint {
  id: number;
  price: bigint;
  quantity: bigint;
  time: number;
  isBuyerMaker: boolean;
}

function printAt(market: Market, second: number): TradePrint | undefined {
  const from = second * 1000;
  const stats = market.path.rangeStats(from, from + 1000);
  if (stats === undefined) return undefined;
  const quantity = floorToStep(unitsFromNumber(stats.volume), market.spec.stepSize);
  if (quantity <= 0n) return undefined;
  return {
    id: second,
    price: priceUnits(market, stats.close),
    quantity,
    time: from + 999,
    isBuyerMaker: stats.close < stats.open,
  };
}

/** Prints of complete seconds, ascending, either the most recent ones or from `fromId` / `startTime` on. */
export function tradePrints(
  market: Market,
  query: { limit: number; fromId?: number; startTime?: number; endTime?: number },
  nowMs: number,
): TradePrint[] {
  const lastSecond = Math.floor(nowMs / 1000) - 1;
  const endSecond =
    query.endTime === undefined ? lastSecond : Math.min(lastSecond, Math.floor(query.endTime / 1000));
  const prints: TradePrint[] = [];
  const firstSecond =
    query.fromId ?? (query.startTime === undefined ? undefined : Math.ceil((query.startTime - 999) / 1000));
  if (firstSecond !== undefined) {
    const dataStart = Math.floor(market.path.dataStartServerMs() / 1000);
    for (
      let second = Math.max(firstSecond, dataStart);
      second <= endSecond && prints.length < query.limit;
      second++
    ) {
      const print = printAt(market, second);
      if (print !== undefined) prints.push(print);
    }
    return prints;
  }
  const oldest = endSecond - 10 * query.limit;
  for (let second = endSecond; second > oldest && prints.length < query.limit; second--) {
    const print = printAt(market, second);
    if (print !== undefined) prints.push(print);
  }
  return prints.reverse();
}

// ---- 24h ticker ----

export interface Ticker24h {
  open: number;
  high: number;
  low: number;
  last: number;
  volume: number;
  quoteVolume: number;
  lastPrint: TradePrint | undefined;
}

export function ticker24h(market: Market, nowMs: number, windowMs = DAY): Ticker24h {
  const stats = market.path.rangeStats(nowMs - windowMs, nowMs);
  const last = currentPrice(market, nowMs);
  const open = stats?.open ?? last;
  const high = stats?.high ?? last;
  const low = stats?.low ?? last;
  const volume = stats?.volume ?? 0;
  const typical = (open + high + low + last) / 4;
  const lastPrint = printAt(market, Math.floor(nowMs / 1000) - 1);
  return { open, high, low, last, volume, quoteVolume: volume * typical, lastPrint };
}
