import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseKlineCsv } from "./candles.ts";
import { PricePath, replaySeries, seriesRangeStats, syntheticSeries } from "./price-path.ts";

const series = (seed: number) =>
  syntheticSeries({
    seed,
    symbol: "BTCUSDT",
    initialPrice: 60000,
    annualVolatility: 0.6,
    volumePerMinute: 20,
    intervalMs: 60_000,
    originMs: 0,
    historyCandles: 1000,
  });

describe("synthetic price path", () => {
  it("is a function of the seed: same seed same candles, in any order of computation", () => {
    const forward = series(1);
    const backward = series(1);
    const indexes = [-1000, -3, 0, 5, 400];
    const late = indexes.map((index) => backward.candleAt(index));
    expect(indexes.map((index) => forward.candleAt(index))).toEqual(late);
    expect(series(2).candleAt(5)).not.toEqual(late[3]);
  });

  it("starts at the initial price and chains candles (each opens at the previous close)", () => {
    const path = series(3);
    expect(path.candleAt(0).open).toBeCloseTo(60000, 6);
    for (let i = -50; i < 50; i++) expect(path.candleAt(i + 1).open).toBe(path.candleAt(i).close);
  });

  it("gives range statistics that compose: stats of [a, c) combine those of [a, b) and [b, c)", () => {
    const path = series(4);
    fc.assert(
      fc.property(
        fc.integer({ min: -500_000, max: 5_000_000 }),
        fc.integer({ min: 1, max: 3_000_000 }),
        fc.integer({ min: 1, max: 3_000_000 }),
        (a, ab, bc) => {
          const whole = seriesRangeStats(path, a, a + ab + bc);
          const left = seriesRangeStats(path, a, a + ab);
          const right = seriesRangeStats(path, a + ab, a + ab + bc);
          if (whole === undefined || left === undefined || right === undefined) throw new Error("no data");
          expect(whole.open).toBeCloseTo(left.open, 6);
          expect(whole.close).toBeCloseTo(right.close, 6);
          expect(whole.high).toBeCloseTo(Math.max(left.high, right.high), 6);
          expect(whole.low).toBeCloseTo(Math.min(left.low, right.low), 6);
          expect(whole.volume).toBeCloseTo(left.volume + right.volume, 6);
        },
      ),
    );
  });

  it("has no data before its history", () => {
    expect(seriesRangeStats(series(5), -2_000_000_000, -1_000 * 60_000 - 1)).toBeUndefined();
  });
});

describe("replayed path", () => {
  const recorded = parseKlineCsv(readFileSync(new URL("./fixtures/btcusdt-1h.csv", import.meta.url), "utf8"));

  it("reproduces every recorded candle over its own interval", () => {
    const replay = replaySeries(recorded);
    for (const candle of recorded) {
      expect(seriesRangeStats(replay, candle.openTime, candle.openTime + 3_600_000)).toEqual({
        open: candle.open,
        high: candle.high,
        low: candle.low,
        close: candle.close,
        volume: candle.volume,
      });
    }
  });

  it("holds the last close, without volume, after the recording ends", () => {
    const replay = replaySeries(recorded);
    const last = recorded[recorded.length - 1];
    const after = seriesRangeStats(
      replay,
      (last?.openTime ?? 0) + 7_200_000,
      (last?.openTime ?? 0) + 9_000_000,
    );
    expect(after).toEqual({
      open: last?.close,
      high: last?.close,
      low: last?.close,
      close: last?.close,
      volume: 0,
    });
  });

  it("runs faster than server time by the speed factor", () => {
    const start = recorded[0]?.openTime ?? 0;
    const path = new PricePath(replaySeries(recorded), {
      serverAnchorMs: 0,
      marketAnchorMs: start,
      speed: 3600,
    });
    // One server second covers one market hour: the second candle.
    expect(path.rangeStats(1000, 2000)).toEqual(
      seriesRangeStats(replaySeries(recorded), start + 3_600_000, start + 7_200_000),
    );
  });
});

describe("forced prices", () => {
  it("scale the path from the moment they are set and leave the past unchanged", () => {
    const path = new PricePath(series(6), { serverAnchorMs: 0, marketAnchorMs: 0, speed: 1 });
    const before = path.rangeStats(0, 60_000);
    path.force(120_000, 30000);
    expect(path.priceAt(120_000)).toBeCloseTo(30000, 6);
    expect(path.rangeStats(0, 60_000)).toEqual(before);
    const across = path.rangeStats(100_000, 140_000);
    expect(across?.low).toBeLessThanOrEqual(30000 * 1.01);
    expect(across?.high).toBeGreaterThan(50000);
  });
});
