import { describe, expect, it } from "vitest";
import type { MarketRules } from "../exchange/port.ts";
import { Decimal } from "../money/decimal.ts";
import { intervalMs } from "./dca.ts";
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
const params = { interval: "1m", quotePerBuy: "100", maxBuys: 3, takeProfitPct: "2" };
const strategy = { type: "dca" as const, dca: params };
const start = 1_700_000_040_000; // aligned to the minute

describe("DCA strategy", () => {
  it("reads intervals in minutes, hours and days", () => {
    expect(intervalMs("15m")).toBe(900_000);
    expect(intervalMs("4h")).toBe(14_400_000);
    expect(intervalMs("1d")).toBe(86_400_000);
  });

  it("buys once per interval, at most maxBuys times, and keeps the take-profit at the average entry plus the target", () => {
    const steps = ["100000", "100000", "95000", "90000", "90000"].map((price, index) => ({
      price,
      time: start + index * 60_000,
    }));
    const result = replayPricePath(strategyFor(strategy), rules, steps);
    const buys = result.actions.filter((a) => a.action === "fill" && a.side === "buy");
    expect(buys.map((a) => ("price" in a ? a.price : ""))).toEqual(["100000", "100000", "95000"]);
    // 0.001 + 0.001 + 0.00105 BTC for 100 + 100 + 99.75 USDT: average 98278.688..., +2% = 100244.26..., rounded up to the tick
    expect(result.memory).toMatchObject({ buys: 3, base: "0.00305", cost: "299.75" });
    expect(result.liveOrders.map((o) => `${o.slot} ${o.side} ${o.amount} @ ${o.price}`)).toEqual([
      "t0 sell 0.00305 @ 100244.27",
    ]);
  });

  it("ends the cycle when the take-profit fills and starts buying again", () => {
    const steps = ["100000", "100000", "103000", "103000"].map((price, index) => ({
      price,
      time: start + index * 60_000,
    }));
    const oneBuyPerCycle = { type: "dca" as const, dca: { ...params, maxBuys: 1 } };
    const result = replayPricePath(strategyFor(oneBuyPerCycle), rules, steps);
    const fills = result.actions
      .filter((a) => a.action === "fill")
      .map((a) => `${a.slot} ${"side" in a ? a.side : ""}`);
    expect(fills).toContain("t0 sell");
    expect(result.memory).toMatchObject({ cycle: 1 });
    expect(fills.at(-1)).toMatch(/^d.* buy$/);
  });

  it("replaces the take-profit when a new buy changes the position", () => {
    const steps = ["100000", "99000", "99000"].map((price, index) => ({
      price,
      time: start + index * 60_000,
    }));
    const result = replayPricePath(strategyFor(strategy), rules, steps);
    expect(result.actions.filter((a) => a.action === "cancel").map((a) => a.slot)).toEqual(["t0"]);
  });

  it("buys the same interval under the same slot, so a restart within it reuses the order id", () => {
    const runner = strategyFor(strategy);
    const view = {
      market: { rules, last: Decimal.parse("100000"), now: start + 10_000, closedCandles: [] },
      liveOrders: [],
      memory: runner.initialMemory(),
    };
    const first = runner.intents(view);
    const again = runner.intents({ ...view, market: { ...view.market, now: start + 50_000 } });
    expect(first[0]).toMatchObject({ kind: "place", slot: again[0]?.kind === "place" ? again[0].slot : "" });
  });
});
