import type { Candle, MarketRules, OrderSide, OrderType } from "../exchange/port.ts";
import type { Decimal } from "../money/decimal.ts";

// What strategies see and what they ask for. A strategy is a pure function from this view to intents;
// the order manager turns intents into orders, after rounding and the risk gate.

/**
 * A slot names one recurring decision of a strategy ("grid cell 3", "DCA buy of interval n"); the order
 * manager keeps at most one live order per slot and derives the client order id from it.
 * Slots are 1-16 characters of [a-zA-Z0-9].
 */
export type Slot = string;

export type PlaceIntent = {
  kind: "place";
  slot: Slot;
  side: OrderSide;
  type: OrderType;
  /** Base quantity before rounding to the market's lot step. */
  amount: Decimal;
  /** Limit price before rounding to the market's tick size; absent for market orders. */
  price?: Decimal;
  reason: string;
};

export type CancelIntent = { kind: "cancel"; clientOrderId: string; reason: string };

export type Intent = PlaceIntent | CancelIntent;

/** One of the bot's own live orders, as the strategy sees it. */
export type LiveOrder = {
  clientOrderId: string;
  slot: Slot;
  side: OrderSide;
  type: OrderType;
  price?: Decimal;
  amount: Decimal;
  filled: Decimal;
};

export type MarketView = {
  rules: MarketRules;
  last: Decimal;
  /** Exchange time, ms since epoch. */
  now: number;
  /** Closed candles of the strategy's timeframe, oldest first (empty for strategies that use none). */
  closedCandles: readonly Candle[];
};

/** A fill of one of the bot's orders, as strategies fold it into their memory. */
export type SlotFill = {
  slot: Slot;
  side: OrderSide;
  /** Base quantity the bot gained (buy) or gave up (sell), fees in base already deducted on buys. */
  baseAmount: Decimal;
  price: Decimal;
  /** Quote spent (buy) or received (sell), fees in quote already deducted on sells. */
  quoteAmount: Decimal;
};

export type StrategyInput<Memory> = {
  market: MarketView;
  liveOrders: readonly LiveOrder[];
  memory: Memory;
};

export function minimumTradable(amount: Decimal, price: Decimal, rules: MarketRules): boolean {
  const rounded = amount.toStep(rules.stepSize, "floor");
  return rounded.gte(rules.minQty) && rounded.isPositive() && rounded.times(price).gte(rules.minNotional);
}
