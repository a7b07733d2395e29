import { describe, expect, it } from "vitest";
import type { MarketRules } from "../exchange/port.ts";
import { Decimal } from "../money/decimal.ts";
import { roundToMarket } from "./round-to-market.ts";

const d = Decimal.parse;
const rules: MarketRules = {
  symbol: "BTC/USDT",
  base: "BTC",
  quote: "USDT",
  tickSize: d("0.01"),
  minPrice: d("0.01"),
  maxPrice: d("1000000"),
  stepSize: d("0.00001"),
  minQty: d("0.00001"),
  maxQty: d("9000"),
  minNotional: d("5"),
};
const intent = (side: "buy" | "sell", amount: string, price?: string) => ({
  kind: "place" as const,
  slot: "g1",
  side,
  type: price === undefined ? ("market" as const) : ("limit" as const),
  amount: d(amount),
  ...(price === undefined ? {} : { price: d(price) }),
  reason: "test",
});

describe("rounding to the market before the risk gate", () => {
  it("rounds quantities down, buy prices down and sell prices up", () => {
    expect(roundToMarket(intent("buy", "0.0012349", "60000.019"), rules, d("60000"))).toEqual({
      order: { side: "buy", type: "limit", amount: d("0.00123"), price: d("60000.01") },
    });
    expect(roundToMarket(intent("sell", "0.0012349", "60000.011"), rules, d("60000"))).toEqual({
      order: { side: "sell", type: "limit", amount: d("0.00123"), price: d("60000.02") },
    });
  });

  it("skips what the exchange would reject: below the lot minimum or the notional minimum", () => {
    expect(roundToMarket(intent("buy", "0.000009", "60000"), rules, d("60000"))).toMatchObject({
      skipped: expect.stringContaining("below the market's minimum"),
    });
    expect(roundToMarket(intent("buy", "0.00008"), rules, d("60000"))).toMatchObject({
      skipped: expect.stringContaining("notional 4.8"),
    });
  });

  it("values a market order at the last price for the notional minimum", () => {
    expect(roundToMarket(intent("sell", "0.0001"), rules, d("60000"))).toEqual({
      order: { side: "sell", type: "market", amount: d("0.0001") },
    });
  });
});
