import { describe, expect, it } from "vitest";
import { Decimal } from "../money/decimal.ts";
import { advanceBaseline, lossMeasures } from "./loss-tracking.ts";

const d = Decimal.parse;
const day1 = Date.parse("2026-05-21T10:00:00Z");
const day2 = Date.parse("2026-05-22T00:00:01Z");

describe("loss baselines", () => {
  it("measures the daily loss from the PnL at the day's first observation, and resets at 00:00 UTC", () => {
    const first = advanceBaseline(undefined, day1, d("12"), d("1000"));
    expect(lossMeasures(first, d("-8"), d("980")).dailyLoss.toString()).toBe("20");
    const nextDay = advanceBaseline(first, day2, d("-8"), d("980"));
    expect(nextDay.day).toBe("2026-05-22");
    expect(lossMeasures(nextDay, d("-8"), d("980")).dailyLoss.toString()).toBe("0");
  });

  it("counts a gain as no loss", () => {
    const first = advanceBaseline(undefined, day1, d("0"), d("1000"));
    expect(lossMeasures(first, d("30"), d("1030")).dailyLoss.toString()).toBe("0");
  });

  it("measures drawdown from the highest equity seen, which only rises", () => {
    let baseline = advanceBaseline(undefined, day1, d("0"), d("1000"));
    baseline = advanceBaseline(baseline, day1 + 1000, d("0"), d("1200"));
    baseline = advanceBaseline(baseline, day1 + 2000, d("0"), d("900"));
    expect(baseline.peakEquity.toString()).toBe("1200");
    expect(lossMeasures(baseline, d("0"), d("900")).drawdownPct.toString()).toBe("25");
  });
});
