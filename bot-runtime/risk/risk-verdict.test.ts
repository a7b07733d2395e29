import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Decimal } from "../money/decimal.ts";
import {
  haltingBreach,
  type ParsedRiskLimits,
  parseRiskLimits,
  type RiskState,
  riskVerdict,
} from "./risk-verdict.ts";

const d = Decimal.parse;
const limits: ParsedRiskLimits = parseRiskLimits({
  maxOrderQuote: "100",
  maxPositionQuote: "500",
  maxDailyLossQuote: "50",
  maxDrawdownPct: "10",
  maxOpenOrders: 3,
  maxOrdersPerMinute: 5,
  priceBandPct: "5",
});
const calm: RiskState = {
  last: d("100"),
  position: Decimal.ZERO,
  liveOrders: [],
  ordersLastMinute: 0,
  dailyLoss: Decimal.ZERO,
  drawdownPct: Decimal.ZERO,
};
const buy = (amount: string, price?: string) => ({
  side: "buy" as const,
  type: price === undefined ? ("market" as const) : ("limit" as const),
  amount: d(amount),
  ...(price === undefined ? {} : { price: d(price) }),
});

describe("riskVerdict", () => {
  it("allows an order within every limit", () => {
    expect(riskVerdict(buy("0.5", "99"), calm, limits)).toEqual({ decision: "allow" });
  });

  it("refuses an order whose notional exceeds maxOrderQuote, at the limit price or the last price", () => {
    expect(riskVerdict(buy("1.01", "100"), calm, limits)).toMatchObject({
      decision: "refuse",
      limit: "maxOrderQuote",
    });
    expect(riskVerdict(buy("1.01"), calm, limits)).toMatchObject({
      decision: "refuse",
      limit: "maxOrderQuote",
      value: d("101"),
    });
    expect(riskVerdict(buy("1", "100"), calm, limits)).toEqual({ decision: "allow" });
  });

  it("lets a sell above maxOrderQuote through only when it, with the open sells, does not exceed the position", () => {
    const sell = (amount: string) => ({
      side: "sell" as const,
      type: "limit" as const,
      amount: d(amount),
      price: d("101"),
    });
    const holding = { ...calm, position: d("2") };
    // A take-profit of the whole position (202 quote) reduces exposure: allowed.
    expect(riskVerdict(sell("2"), holding, limits)).toEqual({ decision: "allow" });
    // More than the position would open a short exposure: the order limit applies.
    expect(riskVerdict(sell("2.5"), holding, limits)).toMatchObject({
      decision: "refuse",
      limit: "maxOrderQuote",
    });
    // So do open sells that already cover part of the position.
    const covered = { ...holding, liveOrders: [{ side: "sell" as const, remaining: d("0.5") }] };
    expect(riskVerdict(sell("2"), covered, limits)).toMatchObject({
      decision: "refuse",
      limit: "maxOrderQuote",
    });
    // The price band still applies to a reducing sell.
    expect(riskVerdict({ ...sell("2"), price: d("106") }, holding, limits)).toMatchObject({
      decision: "refuse",
      limit: "priceBandPct",
    });
  });

  it("refuses a limit price further from the last price than priceBandPct, in either direction", () => {
    expect(riskVerdict(buy("0.1", "94.9"), calm, limits)).toMatchObject({
      decision: "refuse",
      limit: "priceBandPct",
    });
    expect(riskVerdict({ ...buy("0.1", "105.1"), side: "sell" }, calm, limits)).toMatchObject({
      limit: "priceBandPct",
    });
    expect(riskVerdict(buy("0.1", "95"), calm, limits)).toEqual({ decision: "allow" });
  });

  it("refuses a new order when maxOpenOrders are open or maxOrdersPerMinute were sent", () => {
    const busy = {
      ...calm,
      liveOrders: [1, 2, 3].map(() => ({ side: "sell" as const, remaining: d("0.1") })),
    };
    expect(riskVerdict(buy("0.1", "100"), busy, limits)).toMatchObject({
      limit: "maxOpenOrders",
      threshold: d("3"),
    });
    expect(riskVerdict(buy("0.1", "100"), { ...calm, ordersLastMinute: 5 }, limits)).toMatchObject({
      limit: "maxOrdersPerMinute",
    });
  });

  it("counts open buys toward maxPositionQuote, and never refuses a sell for position", () => {
    const holding = {
      ...calm,
      position: d("3"),
      liveOrders: [{ side: "buy" as const, remaining: d("1.5") }],
    };
    expect(riskVerdict(buy("0.6", "100"), holding, limits)).toMatchObject({
      limit: "maxPositionQuote",
      value: d("510"),
    });
    expect(riskVerdict(buy("0.5", "100"), holding, limits)).toEqual({ decision: "allow" });
    expect(
      riskVerdict({ ...buy("1", "100"), side: "sell" }, { ...holding, position: d("10") }, limits),
    ).toEqual({ decision: "allow" });
  });

  it("halts, whatever the order, once the daily loss or the drawdown reaches its limit", () => {
    expect(riskVerdict(buy("0.1", "100"), { ...calm, dailyLoss: d("50") }, limits)).toMatchObject({
      decision: "halt",
      limit: "maxDailyLossQuote",
    });
    expect(haltingBreach({ dailyLoss: d("49.99"), drawdownPct: d("10") }, limits)).toMatchObject({
      limit: "maxDrawdownPct",
    });
    expect(haltingBreach({ dailyLoss: d("49.99"), drawdownPct: d("9.99") }, limits)).toBeUndefined();
  });

  it("never allows an order that breaks any refusing limit (property)", () => {
    const decimal = (max: number) =>
      fc.integer({ min: 1, max: max * 100 }).map((n) => Decimal.fromUnits(BigInt(n) * 10n ** 16n));
    fc.assert(
      fc.property(
        decimal(5),
        decimal(200),
        decimal(20),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 8 }),
        fc.boolean(),
        (amount, price, position, openCount, sentLastMinute, isBuy) => {
          const state: RiskState = {
            ...calm,
            position,
            liveOrders: Array.from({ length: openCount }, () => ({
              side: "buy" as const,
              remaining: d("0.1"),
            })),
            ordersLastMinute: sentLastMinute,
          };
          const order = {
            side: isBuy ? ("buy" as const) : ("sell" as const),
            type: "limit" as const,
            amount,
            price,
          };
          const verdict = riskVerdict(order, state, limits);
          if (verdict.decision !== "allow") return;
          // Only a sell within the position may exceed maxOrderQuote (here the position is what the case drew).
          if (isBuy || amount.gt(position)) expect(amount.times(price).lte(limits.maxOrderQuote)).toBe(true);
          expect(price.minus(calm.last).abs().lte(d("5"))).toBe(true);
          expect(openCount).toBeLessThan(3);
          expect(sentLastMinute).toBeLessThan(5);
          if (isBuy) {
            const exposure = position
              .plus(d("0.1").times(Decimal.fromInteger(openCount)))
              .plus(amount)
              .times(calm.last);
            expect(exposure.lte(limits.maxPositionQuote)).toBe(true);
          }
        },
      ),
    );
  });
});
