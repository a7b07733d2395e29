import type { MarketRules } from "../exchange/port.ts";
import type { Decimal } from "../money/decimal.ts";
import type { RoundedOrder } from "../risk/risk-verdict.ts";
import type { PlaceIntent } from "../strategies/intent.ts";

// Rounding happens before the risk gate, never after: the gate must judge the order that will be sent.
// Quantities round down (never more than intended); buy prices round down and sell prices up (never a
// worse price than intended).

export type RoundingResult = { order: RoundedOrder } | { skipped: string };

export function roundToMarket(intent: PlaceIntent, rules: MarketRules, last: Decimal): RoundingResult {
  const amount = intent.amount.toStep(rules.stepSize, "floor");
  if (!amount.isPositive() || amount.lt(rules.minQty)) {
    return {
      skipped: `amount ${intent.amount} rounds to ${amount}, below the market's minimum ${rules.minQty}`,
    };
  }
  if (rules.maxQty.isPositive() && amount.gt(rules.maxQty)) {
    return { skipped: `amount ${amount} is above the market's maximum quantity ${rules.maxQty}` };
  }
  let price: Decimal | undefined;
  if (intent.type === "limit") {
    if (intent.price === undefined) return { skipped: "limit intent without a price" };
    price = intent.price.toStep(rules.tickSize, intent.side === "buy" ? "floor" : "ceil");
    if (!price.isPositive() || price.lt(rules.minPrice)) {
      return { skipped: `price ${price} is below the market's minimum price ${rules.minPrice}` };
    }
    if (rules.maxPrice.isPositive() && price.gt(rules.maxPrice)) {
      return { skipped: `price ${price} is above the market's maximum price ${rules.maxPrice}` };
    }
  }
  const notional = amount.times(price ?? last);
  if (notional.lt(rules.minNotional)) {
    return { skipped: `notional ${notional} is below the market's minimum ${rules.minNotional}` };
  }
  return {
    order:
      price === undefined
        ? { side: intent.side, type: intent.type, amount }
        : { side: intent.side, type: intent.type, amount, price },
  };
}
