import type { Candle, MarketRules } from "../exchange/port.ts";
import { Decimal } from "../money/decimal.ts";
import type { LiveOrder } from "./intent.ts";
import type { StrategyMemory, StrategyRunner } from "./strategy-for.ts";

// Replays a strategy over a fixed price path with idealised fills (a resting limit order fills whole when
// the price reaches it, a market order fills at the price), so strategy tests can state what a strategy
// does on a given path without an exchange.

export type ReplayStep = { price: string; time: number };

export type ReplayAction =
  | {
      at: number;
      action: "place";
      slot: string;
      side: "buy" | "sell";
      type: string;
      amount: string;
      price?: string;
    }
  | { at: number; action: "fill"; slot: string; side: "buy" | "sell"; amount: string; price: string }
  | { at: number; action: "cancel"; slot: string };

export type ReplayResult = { actions: ReplayAction[]; memory: StrategyMemory; liveOrders: LiveOrder[] };

export function replayPricePath(
  runner: StrategyRunner,
  rules: MarketRules,
  path: readonly ReplayStep[],
  candleTimeframeMs = 60_000,
): ReplayResult {
  const actions: ReplayAction[] = [];
  let memory = runner.initialMemory();
  let live: LiveOrder[] = [];
  let sequence = 0;
  const candles: Candle[] = [];

  const fill = (order: LiveOrder, price: Decimal, at: number) => {
    const amount = order.amount.minus(order.filled);
    actions.push({
      at,
      action: "fill",
      slot: order.slot,
      side: order.side,
      amount: `${amount}`,
      price: `${price}`,
    });
    memory = runner.applyFill(
      memory,
      { slot: order.slot, side: order.side, baseAmount: amount, price, quoteAmount: amount.times(price) },
      rules,
    );
  };

  for (const step of path) {
    const last = Decimal.parse(step.price);
    for (const order of live) {
      const crossed = order.side === "buy" ? last.lte(order.price ?? last) : last.gte(order.price ?? last);
      if (crossed) fill(order, order.price ?? last, step.time);
    }
    live = live.filter((order) => {
      const crossed = order.side === "buy" ? last.lte(order.price ?? last) : last.gte(order.price ?? last);
      return !crossed;
    });
    const openTime = Math.floor(step.time / candleTimeframeMs) * candleTimeframeMs;
    candles.push({ openTime, open: last, high: last, low: last, close: last, volume: Decimal.ONE });

    const intents = runner.intents({
      market: { rules, last, now: step.time, closedCandles: candles },
      liveOrders: live,
      memory,
    });
    for (const intent of intents) {
      if (intent.kind === "cancel") {
        const order = live.find((o) => o.clientOrderId === intent.clientOrderId);
        live = live.filter((o) => o.clientOrderId !== intent.clientOrderId);
        if (order !== undefined) actions.push({ at: step.time, action: "cancel", slot: order.slot });
        continue;
      }
      const amount = intent.amount.toStep(rules.stepSize, "floor");
      const price = intent.price?.toStep(rules.tickSize, intent.side === "buy" ? "floor" : "ceil");
      actions.push({
        at: step.time,
        action: "place",
        slot: intent.slot,
        side: intent.side,
        type: intent.type,
        amount: `${amount}`,
        ...(price === undefined ? {} : { price: `${price}` }),
      });
      sequence += 1;
      const order: LiveOrder = {
        clientOrderId: `${intent.slot}-${sequence}`,
        slot: intent.slot,
        side: intent.side,
        type: intent.type,
        amount,
        filled: Decimal.ZERO,
        ...(price === undefined ? {} : { price }),
      };
      if (intent.type === "market") fill(order, last, step.time);
      else live.push(order);
    }
  }
  return { actions, memory, liveOrders: live };
}
