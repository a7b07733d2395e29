import type { RiskLimits } from "../../api/v1alpha1/tradingbot.ts";
import type { OrderSide, OrderType } from "../exchange/port.ts";
import { Decimal } from "../money/decimal.ts";

// The risk gate. Every order intent, already rounded to the market's tick size and lot step, passes
// through riskVerdict before it may reach the exchange. Order, position, open-order, rate and price-band
// limits refuse the one order; daily loss and drawdown halt the bot (and are also checked every tick,
// with or without an order, by haltingBreach). A sell that only reduces the bot's own position is exempt
// from maxOrderQuote: it lowers exposure, and refusing it would trap the bot in the position the limits
// bound (a DCA take-profit sells a whole cycle's buys, each within the limit, in one order).

export type ParsedRiskLimits = {
  maxOrderQuote: Decimal;
  maxPositionQuote: Decimal;
  maxDailyLossQuote: Decimal;
  maxDrawdownPct: Decimal;
  maxOpenOrders: number;
  maxOrdersPerMinute: number;
  priceBandPct: Decimal;
};

export function parseRiskLimits(limits: RiskLimits): ParsedRiskLimits {
  return {
    maxOrderQuote: Decimal.parse(limits.maxOrderQuote),
    maxPositionQuote: Decimal.parse(limits.maxPositionQuote),
    maxDailyLossQuote: Decimal.parse(limits.maxDailyLossQuote),
    maxDrawdownPct: Decimal.parse(limits.maxDrawdownPct),
    maxOpenOrders: limits.maxOpenOrders,
    maxOrdersPerMinute: limits.maxOrdersPerMinute,
    priceBandPct: Decimal.parse(limits.priceBandPct),
  };
}

export type RefusingLimit =
  | "maxOrderQuote"
  | "maxPositionQuote"
  | "maxOpenOrders"
  | "maxOrdersPerMinute"
  | "priceBandPct";
export type HaltingLimit = "maxDailyLossQuote" | "maxDrawdownPct";

/** An order ready to send: amount and price already on the market's lot step and tick size. */
export type RoundedOrder = {
  side: OrderSide;
  type: OrderType;
  amount: Decimal;
  price?: Decimal;
};

export type RiskState = {
  last: Decimal;
  /** Base held by the bot. */
  position: Decimal;
  /** The bot's live orders: side and the part not yet filled. */
  liveOrders: readonly { side: OrderSide; remaining: Decimal }[];
  /** Orders sent in the last 60 seconds. */
  ordersLastMinute: number;
  /** Loss since 00:00 UTC (positive = loss), realized and unrealized, in quote. */
  dailyLoss: Decimal;
  /** Fall of equity from its peak, in percent. */
  drawdownPct: Decimal;
};

export type Breach<Limit> = { limit: Limit; value: Decimal; threshold: Decimal; message: string };

export type RiskVerdict =
  | { decision: "allow" }
  | ({ decision: "refuse" } & Breach<RefusingLimit>)
  | ({ decision: "halt" } & Breach<HaltingLimit>);

export function haltingBreach(
  state: Pick<RiskState, "dailyLoss" | "drawdownPct">,
  limits: ParsedRiskLimits,
): Breach<HaltingLimit> | undefined {
  if (state.dailyLoss.gte(limits.maxDailyLossQuote)) {
    return {
      limit: "maxDailyLossQuote",
      value: state.dailyLoss,
      threshold: limits.maxDailyLossQuote,
      message: `loss since 00:00 UTC is ${state.dailyLoss}, at or above maxDailyLossQuote ${limits.maxDailyLossQuote}`,
    };
  }
  if (state.drawdownPct.gte(limits.maxDrawdownPct)) {
    return {
      limit: "maxDrawdownPct",
      value: state.drawdownPct,
      threshold: limits.maxDrawdownPct,
      message: `equity is ${state.drawdownPct}% below its peak, at or above maxDrawdownPct ${limits.maxDrawdownPct}`,
    };
  }
  return undefined;
}

export function riskVerdict(order: RoundedOrder, state: RiskState, limits: ParsedRiskLimits): RiskVerdict {
  const halt = haltingBreach(state, limits);
  if (halt !== undefined) return { decision: "halt", ...halt };
  const refusal = refusalFor(order, state, limits);
  return refusal === undefined ? { decision: "allow" } : { decision: "refuse", ...refusal };
}

/** A sell that, with the bot's other open sells, sells no more than the position the bot holds. */
function onlyReducesPosition(order: RoundedOrder, state: RiskState): boolean {
  if (order.side !== "sell") return false;
  const pendingSells = Decimal.sum(state.liveOrders.filter((o) => o.side === "sell").map((o) => o.remaining));
  return pendingSells.plus(order.amount).lte(state.position);
}

function refusalFor(
  order: RoundedOrder,
  state: RiskState,
  limits: ParsedRiskLimits,
): Breach<RefusingLimit> | undefined {
  const price = order.price ?? state.last;
  const notional = order.amount.times(price);
  if (notional.gt(limits.maxOrderQuote) && !onlyReducesPosition(order, state)) {
    return {
      limit: "maxOrderQuote",
      value: notional,
      threshold: limits.maxOrderQuote,
      message: `order notional ${notional} exceeds maxOrderQuote ${limits.maxOrderQuote}`,
    };
  }
  if (order.price !== undefined) {
    const deviationPct = order.price.minus(state.last).abs().times(Decimal.HUNDRED).dividedBy(state.last);
    if (deviationPct.gt(limits.priceBandPct)) {
      return {
        limit: "priceBandPct",
        value: deviationPct,
        threshold: limits.priceBandPct,
        message: `limit price ${order.price} is ${deviationPct}% from the last price ${state.last}, beyond priceBandPct ${limits.priceBandPct}`,
      };
    }
  }
  if (state.liveOrders.length >= limits.maxOpenOrders) {
    return {
      limit: "maxOpenOrders",
      value: Decimal.fromInteger(state.liveOrders.length + 1),
      threshold: Decimal.fromInteger(limits.maxOpenOrders),
      message: `${state.liveOrders.length} orders are open, maxOpenOrders is ${limits.maxOpenOrders}`,
    };
  }
  if (state.ordersLastMinute >= limits.maxOrdersPerMinute) {
    return {
      limit: "maxOrdersPerMinute",
      value: Decimal.fromInteger(state.ordersLastMinute + 1),
      threshold: Decimal.fromInteger(limits.maxOrdersPerMinute),
      message: `${state.ordersLastMinute} orders were sent in the last minute, maxOrdersPerMinute is ${limits.maxOrdersPerMinute}`,
    };
  }
  if (order.side === "buy") {
    const pendingBuys = Decimal.sum(state.liveOrders.filter((o) => o.side === "buy").map((o) => o.remaining));
    const exposure = state.position.plus(pendingBuys).plus(order.amount).times(state.last);
    if (exposure.gt(limits.maxPositionQuote)) {
      return {
        limit: "maxPositionQuote",
        value: exposure,
        threshold: limits.maxPositionQuote,
        message: `position with open buys and this order would be worth ${exposure}, above maxPositionQuote ${limits.maxPositionQuote}`,
      };
    }
  }
  return undefined;
}
