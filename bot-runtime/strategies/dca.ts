import type { z } from "zod";
import type { DcaParams } from "../../api/v1alpha1/tradingbot.ts";
import type { MarketRules } from "../exchange/port.ts";
import { Decimal } from "../money/decimal.ts";
import { type Intent, minimumTradable, type SlotFill, type StrategyInput } from "./intent.ts";

// Dollar-cost averaging: one market buy of a fixed quote amount per interval, up to maxBuys per cycle,
// and a limit sell of everything bought in the cycle at the take-profit price above the average entry.
// When the take-profit fills the cycle ends and buying starts again. Buy slots are numbered by interval
// (floor(time / interval)), so a restart within the same interval reuses the same order id.

export type DcaParamsValue = z.infer<typeof DcaParams>;

export type DcaMemory = {
  /** Completed take-profit cycles. */
  cycle: number;
  /** Buys in the current cycle. */
  buys: number;
  /** Interval number of the last buy that filled; -1 before the first. */
  lastBuyInterval: number;
  /** Base bought in this cycle and not yet sold, and the quote it cost. */
  base: string;
  cost: string;
};

export function initialDcaMemory(): DcaMemory {
  return { cycle: 0, buys: 0, lastBuyInterval: -1, base: "0", cost: "0" };
}

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function intervalMs(interval: string): number {
  const match = /^([1-9][0-9]*)(m|h|d)$/.exec(interval);
  if (match === null) throw new RangeError(`interval ${JSON.stringify(interval)} is not like 15m, 4h or 1d`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

export function dcaBuySlot(interval: number): string {
  return `d${interval.toString(36)}`;
}

export function dcaTakeProfitSlot(cycle: number): string {
  return `t${cycle.toString(36)}`;
}

export function dcaTakeProfitPrice(memory: DcaMemory, params: DcaParamsValue, rules: MarketRules): Decimal {
  const average = Decimal.parse(memory.cost).dividedBy(Decimal.parse(memory.base));
  const factor = Decimal.ONE.plus(Decimal.parse(params.takeProfitPct).dividedBy(Decimal.HUNDRED));
  return average.times(factor).toStep(rules.tickSize, "ceil");
}

export function dcaIntents(params: DcaParamsValue, input: StrategyInput<DcaMemory>): Intent[] {
  const { market, liveOrders, memory } = input;
  const intents: Intent[] = [];
  const currentInterval = Math.floor(market.now / intervalMs(params.interval));
  const buyPending = liveOrders.some((order) => order.slot.startsWith("d"));
  if (!buyPending && memory.buys < params.maxBuys && currentInterval > memory.lastBuyInterval) {
    const amount = Decimal.parse(params.quotePerBuy).dividedBy(market.last, "floor");
    if (minimumTradable(amount, market.last, market.rules)) {
      intents.push({
        kind: "place",
        slot: dcaBuySlot(currentInterval),
        side: "buy",
        type: "market",
        amount,
        reason: `DCA buy ${memory.buys + 1} of ${params.maxBuys} in cycle ${memory.cycle}`,
      });
    }
  }

  const base = Decimal.parse(memory.base).toStep(market.rules.stepSize, "floor");
  const takeProfit = liveOrders.find((order) => order.slot.startsWith("t"));
  if (!minimumTradable(base, market.last, market.rules)) {
    if (takeProfit !== undefined) {
      intents.push({
        kind: "cancel",
        clientOrderId: takeProfit.clientOrderId,
        reason: "nothing left to sell",
      });
    }
    return intents;
  }
  const target = dcaTakeProfitPrice(memory, params, market.rules);
  if (takeProfit !== undefined) {
    const remaining = takeProfit.amount.minus(takeProfit.filled);
    const current = takeProfit.price?.eq(target) === true && remaining.eq(base);
    if (!current) {
      intents.push({
        kind: "cancel",
        clientOrderId: takeProfit.clientOrderId,
        reason: `take-profit no longer matches the position (${base} at ${target}); replacing it`,
      });
    }
    return intents;
  }
  intents.push({
    kind: "place",
    slot: dcaTakeProfitSlot(memory.cycle),
    side: "sell",
    type: "limit",
    amount: base,
    price: target,
    reason: `DCA take-profit of cycle ${memory.cycle}: ${params.takeProfitPct}% above the average entry`,
  });
  return intents;
}

export function applyDcaFill(memory: DcaMemory, fill: SlotFill, rules: MarketRules): DcaMemory {
  const base = Decimal.parse(memory.base);
  const cost = Decimal.parse(memory.cost);
  if (fill.side === "buy") {
    const interval = fill.slot.startsWith("d") ? Number.parseInt(fill.slot.slice(1), 36) : undefined;
    const newBuy = interval !== undefined && interval !== memory.lastBuyInterval;
    return {
      ...memory,
      buys: newBuy ? memory.buys + 1 : memory.buys,
      lastBuyInterval: newBuy ? interval : memory.lastBuyInterval,
      base: base.plus(fill.baseAmount).toString(),
      cost: cost.plus(fill.quoteAmount).toString(),
    };
  }
  const sold = Decimal.min(fill.baseAmount, base);
  const remaining = base.minus(sold);
  if (remaining.lt(rules.stepSize) || remaining.lt(rules.minQty)) {
    return { ...memory, cycle: memory.cycle + 1, buys: 0, base: "0", cost: "0" };
  }
  const remainingCost = base.isZero() ? Decimal.ZERO : cost.times(remaining).dividedBy(base);
  return { ...memory, base: remaining.toString(), cost: remainingCost.toString() };
}

export function parseDcaMemory(value: unknown): DcaMemory {
  const memory = value as Partial<Record<keyof DcaMemory, unknown>> | null;
  if (
    memory === null ||
    typeof memory !== "object" ||
    !Number.isInteger(memory.cycle) ||
    !Number.isInteger(memory.buys) ||
    !Number.isInteger(memory.lastBuyInterval) ||
    typeof memory.base !== "string" ||
    typeof memory.cost !== "string"
  ) {
    throw new Error(`stored DCA memory is malformed: ${JSON.stringify(value)}`);
  }
  return {
    cycle: memory.cycle as number,
    buys: memory.buys as number,
    lastBuyInterval: memory.lastBuyInterval as number,
    base: Decimal.parse(memory.base).toString(),
    cost: Decimal.parse(memory.cost).toString(),
  };
}
