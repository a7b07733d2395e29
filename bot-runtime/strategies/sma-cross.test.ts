import { describe, expect, it } from "vitest";
import type { Candle, MarketRules } from "../exchange/port.ts";
import { Decimal } from "../money/decimal.ts";
import { replayPricePath } from "./price-path-replay.ts";
import { crossAt, simpleMovingAverage } from "./sma-cross.ts";
import { strategyFor } from "./strategy-for.ts";

const rules: MarketRules = {
  symbol: "BTC/USDT",
  base: "BTC",
  quote: "USDT",
  tickSize: Decimal.parse("0.01"),
  minPrice: Decimal.parse("0.01"),
  maxPrice: Decimal.ZERO,
  stepSize: Decimal.parse("0.00001"),
  minQty: Decimal.parse("0.00001"),
  maxQty: Decimal.parse("9000"),
  minNotional: Decimal.parse("5"),
};
const params = { fastPeriod: 2, slowPeriod: 4, timeframe: "1m" as const, quotePerOrder: "100" };
const strategy = { type: "smaCross" as const, smaCross: params };

const candles = (closes: number[]): Candle[] =>
  closes.map((close, index) => {
    const price = Decimal.fromInteger(close);
    return {
      openTime: index * 60_000,
      open: price,
      high: price,
      low: price,
      close: price,
      volume: Decimal.ONE,
    };
  });

describe("SMA crossover strategy", () => {
  it("averages the last closes", () => {
    expect(simpleMovingAverage(candles([1, 2, 3, 4]), 3).toString()).toBe("3");
  });

  it("sees a golden cross when the fast average rises through the slow one, and a death cross the other way", () => {
    expect(crossAt(candles([10, 10, 10, 10, 12]), 2, 4)).toBe("golden");
    expect(crossAt(candles([10, 10, 10, 10, 8]), 2, 4)).toBe("death");
    expect(crossAt(candles([10, 11, 12, 13, 14]), 2, 4)).toBe("none");
    expect(crossAt(candles([10, 12]), 2, 4)).toBe("none");
  });

  it("buys on the golden cross and sells what it bought on the death cross, once per signal", () => {
    const prices = ["100", "100", "100", "100", "120", "119", "125", "90", "91", "85"].map(
      (p) => `${Number(p) * 1000}`,
    );
    const result = replayPricePath(
      strategyFor(strategy),
      rules,
      prices.map((price, index) => ({ price, time: index * 60_000 })),
    );
    const fills = result.actions.filter((a) => a.action === "fill");
    expect(
      fills.map((a) => `${a.side} ${"amount" in a ? a.amount : ""} @ ${"price" in a ? a.price : ""}`),
    ).toEqual(["buy 0.00083 @ 120000", "sell 0.00083 @ 90000"]);
    expect(result.memory).toMatchObject({ base: "0" });
  });

  it("cancels a signal order still open when the next candle closes", () => {
    const prices = ["100", "100", "100", "100", "120", "121", "122"].map((p) => `${Number(p) * 1000}`);
    const result = replayPricePath(
      strategyFor(strategy),
      rules,
      prices.map((price, index) => ({ price, time: index * 60_000 })),
    );
    expect(result.actions.map((a) => `${a.action} ${a.slot}`)).toEqual(["place x4", "cancel x4"]);
  });

  it("does nothing before it has enough candles", () => {
    const result = replayPricePath(
      strategyFor(strategy),
      rules,
      ["100", "120", "130"].map((price, index) => ({ price, time: index * 60_000 })),
    );
    expect(result.actions).toEqual([]);
  });
});
