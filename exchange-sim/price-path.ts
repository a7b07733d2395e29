// The market's price path. A path is a series of candles on a fixed grid of market time (generated from a
// seed, or replayed from a recording); inside a candle the price moves piecewise-linearly open → low → high →
// close (or open → high → low → close for a falling candle), so every range of time has a well-defined open,
// high, low, close and volume. Market time runs `speed` times faster than server time, and forced prices
// (admin) scale the path from the moment they are set.

import type { ReplayCandle } from "./candles.ts";
import { hashString, normalAt } from "./random.ts";

export interface RangeStats {
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface CandleSeries {
  readonly intervalMs: number;
  /** Market time at which candle 0 opens. */
  readonly originMs: number;
  /** Earliest index with data. */
  readonly firstIndex: number;
  /** Last index with data; Infinity for a generated series. */
  readonly lastIndex: number;
  candleAt(index: number): RangeStats;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

export interface SyntheticSeriesOptions {
  seed: number;
  symbol: string;
  initialPrice: number;
  annualVolatility: number;
  /** Mean traded base volume per minute of market time. */
  volumePerMinute: number;
  intervalMs: number;
  originMs: number;
  historyCandles: number;
}

/** A seeded geometric random walk; candle i depends only on (seed, symbol, i). */
export function syntheticSeries(options: SyntheticSeriesOptions): CandleSeries {
  const symbolKey = hashString(options.symbol);
  const sigma = options.annualVolatility * Math.sqrt(options.intervalMs / YEAR_MS);
  const meanVolume = (options.volumePerMinute * options.intervalMs) / 60_000;
  const logReturn = (index: number) =>
    sigma * normalAt(options.seed, symbolKey, index, 0) - (sigma * sigma) / 2;
  // Columns open, high, low, close, volume; forward holds indexes >= 0, backward holds -1, -2, ...
  const forward: number[][] = [[], [], [], [], []];
  const backward: number[][] = [[], [], [], [], []];
  let forwardLogOpen = Math.log(options.initialPrice);
  let backwardLogOpen = forwardLogOpen;

  const store = (columns: number[][], index: number, logOpen: number, logClose: number) => {
    const open = Math.exp(logOpen);
    const close = Math.exp(logClose);
    const wickUp = Math.abs(normalAt(options.seed, symbolKey, index, 1)) * sigma * 0.5;
    const wickDown = Math.abs(normalAt(options.seed, symbolKey, index, 2)) * sigma * 0.5;
    const volume = meanVolume * Math.exp(0.5 * normalAt(options.seed, symbolKey, index, 3) - 0.125);
    columns[0]?.push(open);
    columns[1]?.push(Math.max(open, close) * Math.exp(wickUp));
    columns[2]?.push(Math.min(open, close) * Math.exp(-wickDown));
    columns[3]?.push(close);
    columns[4]?.push(volume);
  };

  const candleAt = (index: number): RangeStats => {
    const columns = index >= 0 ? forward : backward;
    const position = index >= 0 ? index : -index - 1;
    while ((columns[0]?.length ?? 0) <= position) {
      if (index >= 0) {
        const next = forward[0]?.length ?? 0;
        const logClose = forwardLogOpen + logReturn(next);
        store(forward, next, forwardLogOpen, logClose);
        forwardLogOpen = logClose;
      } else {
        const next = -(backward[0]?.length ?? 0) - 1;
        const logOpen = backwardLogOpen - logReturn(next);
        store(backward, next, logOpen, backwardLogOpen);
        backwardLogOpen = logOpen;
      }
    }
    return {
      open: columns[0]?.[position] ?? 0,
      high: columns[1]?.[position] ?? 0,
      low: columns[2]?.[position] ?? 0,
      close: columns[3]?.[position] ?? 0,
      volume: columns[4]?.[position] ?? 0,
    };
  };

  return {
    intervalMs: options.intervalMs,
    originMs: options.originMs,
    firstIndex: -options.historyCandles,
    lastIndex: Number.POSITIVE_INFINITY,
    candleAt,
  };
}

/** Recorded candles on their own grid; gaps become flat candles at the previous close with no volume. */
export function replaySeries(recorded: readonly ReplayCandle[]): CandleSeries {
  const candles = [...recorded].sort((a, b) => a.openTime - b.openTime);
  const first = candles[0];
  if (first === undefined) throw new Error("replay needs at least one candle");
  let intervalMs = Number.POSITIVE_INFINITY;
  for (let i = 1; i < candles.length; i++) {
    const gap = (candles[i]?.openTime ?? 0) - (candles[i - 1]?.openTime ?? 0);
    if (gap === 0) throw new Error(`two candles open at ${candles[i]?.openTime}`);
    intervalMs = Math.min(intervalMs, gap);
  }
  if (!Number.isFinite(intervalMs)) intervalMs = 60_000;
  const dense: RangeStats[] = [];
  for (const candle of candles) {
    const offset = candle.openTime - first.openTime;
    if (offset % intervalMs !== 0) {
      throw new Error(
        `candle opening at ${candle.openTime} is not on the ${intervalMs} ms grid of the first candle`,
      );
    }
    const index = offset / intervalMs;
    if (index > 10_000_000) throw new Error(`replay spans more than 10 million candles of ${intervalMs} ms`);
    while (dense.length < index) {
      const previous = dense[dense.length - 1]?.close ?? candle.open;
      dense.push({ open: previous, high: previous, low: previous, close: previous, volume: 0 });
    }
    const { open, high, low, close, volume } = candle;
    dense.push({ open, high, low, close, volume });
  }
  return {
    intervalMs,
    originMs: first.openTime,
    firstIndex: 0,
    lastIndex: dense.length - 1,
    candleAt: (index) => dense[index] ?? flatCandle(dense[dense.length - 1]?.close ?? first.close),
  };
}

function flatCandle(price: number): RangeStats {
  return { open: price, high: price, low: price, close: price, volume: 0 };
}

/** The piecewise-linear price inside a candle at fraction f of its interval. */
function priceInCandle(candle: RangeStats, fraction: number): number {
  const rising = candle.close >= candle.open;
  const first = rising ? candle.low : candle.high;
  const second = rising ? candle.high : candle.low;
  if (fraction <= 1 / 3) return candle.open + (first - candle.open) * (fraction * 3);
  if (fraction <= 2 / 3) return first + (second - first) * (fraction * 3 - 1);
  return second + (candle.close - second) * (fraction * 3 - 2);
}

function statsInCandle(candle: RangeStats, from: number, to: number): RangeStats {
  if (from <= 0 && to >= 1) return candle;
  const open = priceInCandle(candle, from);
  const close = priceInCandle(candle, to);
  let high = Math.max(open, close);
  let low = Math.min(open, close);
  const rising = candle.close >= candle.open;
  const vertices: Array<[number, number]> = [
    [1 / 3, rising ? candle.low : candle.high],
    [2 / 3, rising ? candle.high : candle.low],
  ];
  for (const [at, price] of vertices) {
    if (at > from && at < to) {
      high = Math.max(high, price);
      low = Math.min(low, price);
    }
  }
  return { open, high, low, close, volume: candle.volume * (to - from) };
}

function candleOrFlat(series: CandleSeries, index: number): RangeStats {
  if (index <= series.lastIndex) return series.candleAt(index);
  return flatCandle(series.candleAt(series.lastIndex).close);
}

/** The price at a market time; undefined before the series has data, the last close after it ends. */
export function seriesPriceAt(series: CandleSeries, marketMs: number): number | undefined {
  const position = (marketMs - series.originMs) / series.intervalMs;
  const index = Math.floor(position);
  if (index < series.firstIndex) return undefined;
  return priceInCandle(candleOrFlat(series, index), position - index);
}

/** Open/high/low/close/volume over market time [fromMs, toMs); undefined when no part of it has data. */
export function seriesRangeStats(series: CandleSeries, fromMs: number, toMs: number): RangeStats | undefined {
  if (!(toMs > fromMs)) return undefined;
  const start = (fromMs - series.originMs) / series.intervalMs;
  const end = (toMs - series.originMs) / series.intervalMs;
  if (end <= series.firstIndex) return undefined;
  const firstIndex = Math.max(Math.floor(start), series.firstIndex);
  const lastIndex = Math.ceil(end) - 1;
  let result: RangeStats | undefined;
  const add = (stats: RangeStats) => {
    if (result === undefined) {
      result = { ...stats };
      return;
    }
    result.high = Math.max(result.high, stats.high);
    result.low = Math.min(result.low, stats.low);
    result.close = stats.close;
    result.volume += stats.volume;
  };
  const lastWithData = Math.min(lastIndex, series.lastIndex);
  for (let index = firstIndex; index <= lastWithData; index++) {
    add(statsInCandle(series.candleAt(index), Math.max(0, start - index), Math.min(1, end - index)));
  }
  if (lastIndex > series.lastIndex) add(candleOrFlat(series, lastIndex));
  return result;
}

interface Adjustment {
  marketMs: number;
  factor: number;
}

/** One symbol's path in server time: market time = anchor + elapsed server time × speed, plus forced prices. */
export class PricePath {
  readonly series: CandleSeries;
  readonly serverAnchorMs: number;
  readonly marketAnchorMs: number;
  readonly speed: number;
  private adjustments: Adjustment[] = [];
  /** Changes with every forced price, so values derived from the path can be cached. */
  version = 0;

  constructor(
    series: CandleSeries,
    timing: { serverAnchorMs: number; marketAnchorMs: number; speed: number },
  ) {
    this.series = series;
    this.serverAnchorMs = timing.serverAnchorMs;
    this.marketAnchorMs = timing.marketAnchorMs;
    this.speed = timing.speed;
  }

  marketTime(serverMs: number): number {
    return this.marketAnchorMs + (serverMs - this.serverAnchorMs) * this.speed;
  }

  /** The earliest server time at which the path has data. */
  dataStartServerMs(): number {
    const firstMarketMs = this.series.originMs + this.series.firstIndex * this.series.intervalMs;
    return this.serverAnchorMs + (firstMarketMs - this.marketAnchorMs) / this.speed;
  }

  private factorAt(marketMs: number): number {
    let factor = 1;
    for (const adjustment of this.adjustments) {
      if (adjustment.marketMs > marketMs) break;
      factor = adjustment.factor;
    }
    return factor;
  }

  priceAt(serverMs: number): number | undefined {
    const marketMs = this.marketTime(serverMs);
    const base = seriesPriceAt(this.series, marketMs);
    return base === undefined ? undefined : base * this.factorAt(marketMs);
  }

  rangeStats(fromServerMs: number, toServerMs: number): RangeStats | undefined {
    const from = this.marketTime(fromServerMs);
    const to = this.marketTime(toServerMs);
    const cuts = [from];
    for (const adjustment of this.adjustments) {
      if (adjustment.marketMs > from && adjustment.marketMs < to) cuts.push(adjustment.marketMs);
    }
    cuts.push(to);
    let result: RangeStats | undefined;
    for (let i = 0; i + 1 < cuts.length; i++) {
      const segmentFrom = cuts[i] ?? from;
      const base = seriesRangeStats(this.series, segmentFrom, cuts[i + 1] ?? to);
      if (base === undefined) continue;
      const factor = this.factorAt(segmentFrom);
      const stats = {
        open: base.open * factor,
        high: base.high * factor,
        low: base.low * factor,
        close: base.close * factor,
        volume: base.volume,
      };
      if (result === undefined) {
        result = stats;
      } else {
        result.high = Math.max(result.high, stats.high);
        result.low = Math.min(result.low, stats.low);
        result.close = stats.close;
        result.volume += stats.volume;
      }
    }
    return result;
  }

  /** From serverMs on, the path is scaled so that its price there is `price`. */
  force(serverMs: number, price: number): void {
    const marketMs = this.marketTime(serverMs);
    const base = seriesPriceAt(this.series, marketMs);
    if (base === undefined) throw new Error("the market has no price yet at this time");
    this.adjustments = this.adjustments.filter((adjustment) => adjustment.marketMs < marketMs);
    this.adjustments.push({ marketMs, factor: price / base });
    this.version++;
  }
}
