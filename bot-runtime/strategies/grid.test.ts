import { describe, expect, it } from "vitest";
import type { MarketRules } from "../exchange/port.ts";
import { Decimal } from "../money/decimal.ts";
import { applyGridFill, gridIntents, gridLevels, initialGridMemory } from "./grid.ts";
import { replayPricePath } from "./price-path-replay.ts";
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
const params = { lowerPrice: "90000", upperPrice: "110000", levels: 5, quotePerOrder: "100" };
const strategy = { type: "grid" as const, grid: params };

const path = (prices: string[]) =>
  prices.map((price, index) => ({ price, time: 1_700_000_000_000 + index * 1000 }));

describe("grid strategy", () => {
  it("spaces levels evenly from lower to upper price inclusive", () => {
    expect(gridLevels(params, rules).map(String)).toEqual(["90000", "95000", "100000", "105000", "110000"]);
  });

  it("places buys at every level below the price, nearest first, and nothing above it (amounts before rounding)", () => {
    const intents = gridIntents(params, {
      market: { rules, last: Decimal.parse("101000"), now: 0, closedCandles: [] },
      liveOrders: [],
      memory: initialGridMemory(),
    });
    expect(intents.map((i) => (i.kind === "place" ? `${i.side} ${i.price} ${i.amount}` : i.kind))).toEqual([
      "buy 100000 0.001",
      "buy 95000 0.001052631578947368",
      "buy 90000 0.001111111111111111",
    ]);
  });

  it("sells what a cell's buy filled one level up, and buys again after that sell fills", () => {
    const result = replayPricePath(
      strategyFor(strategy),
      rules,
      path(["101000", "99500", "100800", "105100", "102000"]),
    );
    const trades = result.actions.filter((a) => a.slot === "g2");
    expect(
      trades.map((a) => `${a.action} ${a.slot} ${"side" in a ? a.side : ""} ${"price" in a ? a.price : ""}`),
    ).toEqual([
      "place g2 buy 100000",
      "fill g2 buy 100000",
      "place g2 sell 105000",
      "fill g2 sell 105000",
      "place g2 buy 100000",
    ]);
    expect(result.memory).toEqual({ holdings: { "3": "0.00095" } }); // cell 3 bought at 105000 on the way down
  });

  it("keeps the holding of a cell whose sell has not filled, across a fall through the grid", () => {
    const result = replayPricePath(strategyFor(strategy), rules, path(["101000", "94000", "89000", "89500"]));
    expect(result.memory).toEqual({ holdings: { "0": "0.00111", "1": "0.00105", "2": "0.001" } });
    expect(result.liveOrders.map((o) => `${o.slot} ${o.side} ${o.price}`).sort()).toEqual([
      "g0 sell 95000",
      "g1 sell 100000",
      "g2 sell 105000",
    ]);
  });

  it("places nothing in a cell that already has a live order", () => {
    const intents = gridIntents(params, {
      market: { rules, last: Decimal.parse("101000"), now: 0, closedCandles: [] },
      liveOrders: [
        {
          clientOrderId: "x",
          slot: "g2",
          side: "buy",
          type: "limit",
          price: Decimal.parse("100000"),
          amount: Decimal.parse("0.001"),
          filled: Decimal.ZERO,
        },
      ],
      memory: initialGridMemory(),
    });
    expect(intents.map((i) => (i.kind === "place" ? i.slot : ""))).toEqual(["g1", "g0"]);
  });

  it("treats a holding below the market minimum as empty and buys again", () => {
    const memory = applyGridFill(initialGridMemory(), {
      slot: "g2",
      side: "buy",
      baseAmount: Decimal.parse("0.00002"),
      price: Decimal.parse("100000"),
      quoteAmount: Decimal.parse("2"),
    });
    const intents = gridIntents(params, {
      market: { rules, last: Decimal.parse("101000"), now: 0, closedCandles: [] },
      liveOrders: [],
      memory,
    });
    expect(intents[0]).toMatchObject({ slot: "g2", side: "buy" });
  });
});
