import { describe, expect, it } from "vitest";
import { DEMO_SWINGS, demoPrices, swingPrice } from "./market.ts";

const btc = DEMO_SWINGS.find((swing) => swing.symbol === "BTCUSDT");
const eth = DEMO_SWINGS.find((swing) => swing.symbol === "ETHUSDT");

describe("the live view's market", () => {
  it("starts where the simulator starts and returns there after each period", () => {
    if (!btc) throw new Error("no BTC swing");
    expect(swingPrice(btc, 0)).toBe("65000.00");
    expect(swingPrice(btc, btc.periodMs)).toBe("65000.00");
  });

  it("falls first, through the grid's first buy level within 15 s, and is back at the start after half a period", () => {
    if (!btc) throw new Error("no BTC swing");
    expect(Number(swingPrice(btc, 15_000))).toBeLessThan(64_000);
    expect(swingPrice(btc, btc.periodMs / 2)).toBe("65000.00");
  });

  it("takes BTC through the grid sample's neighbouring levels, 64000 and 66000", () => {
    if (!btc) throw new Error("no BTC swing");
    const prices = Array.from({ length: 121 }, (_, second) => Number(swingPrice(btc, second * 1000)));
    expect(Math.min(...prices)).toBeLessThan(64_000);
    expect(Math.max(...prices)).toBeGreaterThan(66_000);
  });

  it("takes ETH above the DCA sample's 3 % take-profit", () => {
    if (!eth) throw new Error("no ETH swing");
    const prices = Array.from({ length: 151 }, (_, second) => Number(swingPrice(eth, second * 1000)));
    expect(Math.max(...prices)).toBeGreaterThan(3_000 * 1.03);
  });

  it("moves gently between two refreshes (at most 0.5 % in 2 s)", () => {
    for (const swing of DEMO_SWINGS) {
      for (let t = 0; t < swing.periodMs; t += 2_000) {
        const change = Math.abs(Number(swingPrice(swing, t + 2_000)) / Number(swingPrice(swing, t)) - 1);
        expect(change).toBeLessThan(0.005);
      }
    }
  });

  it("prices every swing at the pairs' 0.01 tick", () => {
    for (const { price } of demoPrices(12_345)) expect(price).toMatch(/^\d+\.\d{2}$/);
  });
});
