import { describe, expect, it } from "vitest";
import { Decimal } from "../money/decimal.ts";
import { applyFill, EMPTY_POSITION, type Fill, totalPnl, unrealizedPnl } from "./position.ts";

const d = Decimal.parse;
const assets = { base: "BTC", quote: "USDT" };
const fill = (
  side: "buy" | "sell",
  amount: string,
  price: string,
  fee: string,
  feeCurrency: string,
): Fill => ({
  side,
  amount: d(amount),
  price: d(price),
  fee: d(fee),
  feeCurrency,
});

describe("position accounting (average cost)", () => {
  it("adds buys net of a base-currency fee at their full quote cost", () => {
    const position = applyFill(EMPTY_POSITION, fill("buy", "0.01", "60000", "0.00001", "BTC"), assets);
    expect(position.base.toString()).toBe("0.00999");
    expect(position.cost.toString()).toBe("600");
  });

  it("realizes the proceeds net of a quote fee minus the average cost of what was sold", () => {
    let position = applyFill(EMPTY_POSITION, fill("buy", "0.01", "60000", "0", "BTC"), assets);
    position = applyFill(position, fill("buy", "0.01", "62000", "0", "BTC"), assets);
    position = applyFill(position, fill("sell", "0.01", "63000", "0.63", "USDT"), assets);
    expect(position.base.toString()).toBe("0.01");
    expect(position.cost.toString()).toBe("610");
    expect(position.realizedPnl.toString()).toBe("19.37");
    expect(unrealizedPnl(position, d("60000")).toString()).toBe("-10");
    expect(totalPnl(position, d("60000")).toString()).toBe("9.37");
  });

  it("realizes only the part of a sell the bot held, never going short", () => {
    const held = applyFill(EMPTY_POSITION, fill("buy", "0.01", "100", "0", "BTC"), assets);
    const sold = applyFill(held, fill("sell", "0.02", "110", "0", "USDT"), assets);
    expect(sold.base.toString()).toBe("0");
    expect(sold.cost.toString()).toBe("0");
    expect(sold.realizedPnl.toString()).toBe("0.1");
    expect(applyFill(EMPTY_POSITION, fill("sell", "1", "100", "0", "USDT"), assets)).toEqual(EMPTY_POSITION);
  });

  it("leaves fees paid in a third currency out of the PnL", () => {
    const position = applyFill(EMPTY_POSITION, fill("buy", "0.01", "60000", "0.002", "BNB"), assets);
    expect(position.base.toString()).toBe("0.01");
    expect(position.cost.toString()).toBe("600");
  });
});
