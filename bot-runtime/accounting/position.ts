import type { OrderSide } from "../exchange/port.ts";
import { Decimal } from "../money/decimal.ts";

// The bot's own position and realized PnL, by the average-cost method, folded from its fills. The
// account may hold more of the base asset than the bot bought; only what the bot's fills add up to is
// its position, so Flatten never sells coins the bot did not buy.

export type Position = {
  /** Base held by the bot. */
  base: Decimal;
  /** Quote the held base cost, fees included. */
  cost: Decimal;
  realizedPnl: Decimal;
};

export const EMPTY_POSITION: Position = { base: Decimal.ZERO, cost: Decimal.ZERO, realizedPnl: Decimal.ZERO };

export type Fill = {
  side: OrderSide;
  price: Decimal;
  amount: Decimal;
  fee: Decimal;
  feeCurrency: string;
};

export type MarketAssets = { base: string; quote: string };

/** Base the bot gains (buy) or gives up (sell), and quote it spends (buy) or receives (sell). */
export function fillEffect(fill: Fill, assets: MarketAssets): { baseAmount: Decimal; quoteAmount: Decimal } {
  const gross = fill.amount.times(fill.price);
  const baseFee = fill.feeCurrency === assets.base ? fill.fee : Decimal.ZERO;
  const quoteFee = fill.feeCurrency === assets.quote ? fill.fee : Decimal.ZERO;
  if (fill.side === "buy") {
    return { baseAmount: fill.amount.minus(baseFee), quoteAmount: gross.plus(quoteFee) };
  }
  return { baseAmount: fill.amount.plus(baseFee), quoteAmount: gross.minus(quoteFee) };
}

/**
 * Fees paid in a third currency (BNB) are not in the PnL: they cannot be valued without a second market.
 * A sell of more than the bot holds (pre-existing coins) realizes only the part the bot held.
 */
export function applyFill(position: Position, fill: Fill, assets: MarketAssets): Position {
  const { baseAmount, quoteAmount } = fillEffect(fill, assets);
  if (fill.side === "buy") {
    return { ...position, base: position.base.plus(baseAmount), cost: position.cost.plus(quoteAmount) };
  }
  const covered = Decimal.min(baseAmount, position.base);
  if (!covered.isPositive()) return position;
  const coveredProceeds = baseAmount.isZero()
    ? Decimal.ZERO
    : quoteAmount.times(covered).dividedBy(baseAmount);
  const costOfSold = position.cost.times(covered).dividedBy(position.base);
  return {
    base: position.base.minus(covered),
    cost: position.cost.minus(costOfSold),
    realizedPnl: position.realizedPnl.plus(coveredProceeds).minus(costOfSold),
  };
}

export function unrealizedPnl(position: Position, last: Decimal): Decimal {
  return position.base.times(last).minus(position.cost);
}

export function totalPnl(position: Position, last: Decimal): Decimal {
  return position.realizedPnl.plus(unrealizedPnl(position, last));
}
