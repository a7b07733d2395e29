import type { z } from "zod";
import type { SmaCrossParams } from "../../api/v1alpha1/tradingbot.ts";
import type { Candle, MarketRules } from "../exchange/port.ts";
import { Decimal } from "../money/decimal.ts";
import { type Intent, minimumTradable, type SlotFill, type StrategyInput } from "./intent.ts";

// Moving-average crossover on closed candles: when the fast SMA crosses above the slow one, buy a fixed
// quote amount; when it crosses below, sell what those buys bought. Orders are limits at the last price
// (no slippage); one still open when the next candle closes is stale and is cancelled, and the signal of
// that newer candle decides again. A signal belongs to the candle that closed with it, and the slot is
// named after that candle, so a filled signal is never acted on twice.

export type SmaCrossParamsValue = z.infer<typeof SmaCrossParams>;

export type SmaCrossMemory = {
  /** Base bought on golden crosses and not yet sold. */
  base: string;
  /** Open time of the candle whose signal was last acted on (filled); -1 before the first. */
  lastSignalCandle: number;
};

export function initialSmaCrossMemory(): SmaCrossMemory {
  return { base: "0", lastSignalCandle: -1 };
}

const TIMEFRAME_MS: Record<string, number> = {
  "1m": 60_000,
  "3m": 180_000,
  "5m": 300_000,
  "15m": 900_000,
  "30m": 1_800_000,
  "1h": 3_600_000,
  "2h": 7_200_000,
  "4h": 14_400_000,
  "6h": 21_600_000,
  "8h": 28_800_000,
  "12h": 43_200_000,
  "1d": 86_400_000,
};

export function timeframeMs(timeframe: string): number {
  const ms = TIMEFRAME_MS[timeframe];
  if (ms === undefined) throw new RangeError(`unknown timeframe ${JSON.stringify(timeframe)}`);
  return ms;
}

/** Candles to ask the exchange for: the slow window plus the one before it, plus the forming candle. */
export function smaCrossCandleCount(params: SmaCrossParamsValue): number {
  return params.slowPeriod + 2;
}

export function simpleMovingAverage(candles: readonly Candle[], period: number): Decimal {
  const window = candles.slice(-period);
  if (window.length < period) throw new RangeError(`need ${period} candles, have ${window.length}`);
  return Decimal.sum(window.map((candle) => candle.close)).dividedBy(Decimal.fromInteger(period));
}

export type Cross = "golden" | "death" | "none";

export function crossAt(candles: readonly Candle[], fast: number, slow: number): Cross {
  if (candles.length < slow + 1) return "none";
  const previous = candles.slice(0, -1);
  const fastNow = simpleMovingAverage(candles, fast);
  const slowNow = simpleMovingAverage(candles, slow);
  const fastBefore = simpleMovingAverage(previous, fast);
  const slowBefore = simpleMovingAverage(previous, slow);
  if (fastBefore.lte(slowBefore) && fastNow.gt(slowNow)) return "golden";
  if (fastBefore.gte(slowBefore) && fastNow.lt(slowNow)) return "death";
  return "none";
}

export function smaCrossSlot(candleOpenTime: number, params: SmaCrossParamsValue): string {
  return `x${Math.floor(candleOpenTime / timeframeMs(params.timeframe)).toString(36)}`;
}

export function smaCrossIntents(params: SmaCrossParamsValue, input: StrategyInput<SmaCrossMemory>): Intent[] {
  const { market, liveOrders, memory } = input;
  const candles = market.closedCandles;
  const signalCandle = candles.at(-1);
  if (signalCandle === undefined) return [];
  const slot = smaCrossSlot(signalCandle.openTime, params);
  const pending = liveOrders.filter((order) => order.slot.startsWith("x"));
  if (pending.length > 0) {
    return pending
      .filter((order) => order.slot !== slot)
      .map((order) => ({
        kind: "cancel" as const,
        clientOrderId: order.clientOrderId,
        reason: "signal order not filled within its candle",
      }));
  }
  if (signalCandle.openTime <= memory.lastSignalCandle) return [];
  const cross = crossAt(candles, params.fastPeriod, params.slowPeriod);
  const held = Decimal.parse(memory.base).toStep(market.rules.stepSize, "floor");
  const holding = minimumTradable(held, market.last, market.rules);
  if (cross === "golden" && !holding) {
    const amount = Decimal.parse(params.quotePerOrder).dividedBy(market.last, "floor");
    if (!minimumTradable(amount, market.last, market.rules)) return [];
    return [
      {
        kind: "place",
        slot,
        side: "buy",
        type: "limit",
        amount,
        price: market.last,
        reason: "fast SMA crossed above the slow SMA",
      },
    ];
  }
  if (cross === "death" && holding) {
    return [
      {
        kind: "place",
        slot,
        side: "sell",
        type: "limit",
        amount: held,
        price: market.last,
        reason: "fast SMA crossed below the slow SMA",
      },
    ];
  }
  return [];
}

export function applySmaCrossFill(
  memory: SmaCrossMemory,
  fill: SlotFill,
  params: SmaCrossParamsValue,
  rules: MarketRules,
): SmaCrossMemory {
  const base = Decimal.parse(memory.base);
  const next = fill.side === "buy" ? base.plus(fill.baseAmount) : base.minus(fill.baseAmount);
  const signalCandle = fill.slot.startsWith("x")
    ? Number.parseInt(fill.slot.slice(1), 36) * timeframeMs(params.timeframe)
    : memory.lastSignalCandle;
  return {
    base: next.lt(rules.stepSize) ? "0" : next.toString(),
    lastSignalCandle: Math.max(signalCandle, memory.lastSignalCandle),
  };
}

export function parseSmaCrossMemory(value: unknown): SmaCrossMemory {
  const memory = value as Partial<Record<keyof SmaCrossMemory, unknown>> | null;
  if (
    memory === null ||
    typeof memory !== "object" ||
    typeof memory.base !== "string" ||
    !Number.isInteger(memory.lastSignalCandle)
  ) {
    throw new Error(`stored smaCross memory is malformed: ${JSON.stringify(value)}`);
  }
  return { base: Decimal.parse(memory.base).toString(), lastSignalCandle: memory.lastSignalCandle as number };
}
