import { describe, expect, it } from "vitest";
import { unitsOf } from "./decimal.ts";
import { type FilterCheckInput, failedFilter } from "./filters.ts";
import { defaultSymbolConfigs, symbolSpecFromConfig } from "./symbols.ts";

const btcusdt = symbolSpecFromConfig(defaultSymbolConfigs[0] ?? ({} as never));

const limitBuy = (price: string, quantity: string, openOrders = 0): FilterCheckInput => ({
  side: "BUY",
  isMarket: false,
  price: unitsOf(price),
  quantity: unitsOf(quantity),
  quoteOrderQty: undefined,
  averagePrice: unitsOf("60000"),
  openOrdersOnSymbol: openOrders,
});

describe("symbol filters", () => {
  it("pass an order that respects tick, step, notional and price band", () => {
    expect(failedFilter(btcusdt, limitBuy("59000.01", "0.00123"))).toBeUndefined();
  });

  it("PRICE_FILTER: tick size, minimum and maximum price", () => {
    expect(failedFilter(btcusdt, limitBuy("59000.015", "0.001"))).toBe("PRICE_FILTER");
    expect(failedFilter(btcusdt, limitBuy("0.001", "0.001"))).toBe("PRICE_FILTER");
    expect(failedFilter(btcusdt, limitBuy("1000000.01", "0.001"))).toBe("PRICE_FILTER");
  });

  it("PERCENT_PRICE_BY_SIDE: within 0.2x to 5x of the average price", () => {
    expect(failedFilter(btcusdt, limitBuy("300000.01", "0.001"))).toBe("PERCENT_PRICE_BY_SIDE");
    expect(failedFilter(btcusdt, limitBuy("11999.99", "0.001"))).toBe("PERCENT_PRICE_BY_SIDE");
    expect(failedFilter(btcusdt, limitBuy("300000", "0.001"))).toBeUndefined();
  });

  it("LOT_SIZE: step size, minimum and maximum quantity", () => {
    expect(failedFilter(btcusdt, limitBuy("60000", "0.000015"))).toBe("LOT_SIZE");
    expect(failedFilter(btcusdt, limitBuy("60000", "9000.00001"))).toBe("LOT_SIZE");
  });

  it("NOTIONAL: price x quantity at least minNotional; market orders use the average price", () => {
    expect(failedFilter(btcusdt, limitBuy("60000", "0.00008"))).toBe("NOTIONAL");
    expect(failedFilter(btcusdt, limitBuy("60000", "0.00009"))).toBeUndefined();
    const market = { ...limitBuy("60000", "0.00008"), isMarket: true, price: undefined };
    expect(failedFilter(btcusdt, market)).toBe("NOTIONAL");
    const byQuote = { ...market, quantity: undefined, quoteOrderQty: unitsOf("4.99") };
    expect(failedFilter(btcusdt, byQuote)).toBe("NOTIONAL");
  });

  it("MARKET_LOT_SIZE applies to market orders only", () => {
    const market = { ...limitBuy("60000", "121"), isMarket: true, price: undefined };
    expect(failedFilter(btcusdt, market)).toBe("MARKET_LOT_SIZE");
    expect(failedFilter(btcusdt, limitBuy("60000", "121"))).toBeUndefined();
  });

  it("MAX_NUM_ORDERS: at most 200 open orders per symbol and account", () => {
    expect(failedFilter(btcusdt, limitBuy("60000", "0.001", 199))).toBeUndefined();
    expect(failedFilter(btcusdt, limitBuy("60000", "0.001", 200))).toBe("MAX_NUM_ORDERS");
  });
});
