import { Decimal } from "../money/decimal.ts";

// The reference points of the halting limits: PnL at the start of the UTC day (daily loss) and the
// highest equity seen (drawdown). Both are persisted, so a restart does not forgive a loss.

export type LossBaseline = {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  /** Total PnL (realized + unrealized) when the day was first observed. */
  dayStartPnl: Decimal;
  /** Highest equity observed. */
  peakEquity: Decimal;
};

export function utcDay(timeMs: number): string {
  return new Date(timeMs).toISOString().slice(0, 10);
}

export function advanceBaseline(
  baseline: LossBaseline | undefined,
  nowMs: number,
  pnl: Decimal,
  equity: Decimal,
): LossBaseline {
  const day = utcDay(nowMs);
  if (baseline === undefined) return { day, dayStartPnl: pnl, peakEquity: equity };
  return {
    day,
    dayStartPnl: baseline.day === day ? baseline.dayStartPnl : pnl,
    peakEquity: Decimal.max(baseline.peakEquity, equity),
  };
}

export function lossMeasures(
  baseline: LossBaseline,
  pnl: Decimal,
  equity: Decimal,
): { dailyLoss: Decimal; drawdownPct: Decimal } {
  const dailyLoss = Decimal.max(Decimal.ZERO, baseline.dayStartPnl.minus(pnl));
  const drawdownPct = baseline.peakEquity.isPositive()
    ? Decimal.max(Decimal.ZERO, baseline.peakEquity.minus(equity))
        .times(Decimal.HUNDRED)
        .dividedBy(baseline.peakEquity)
    : Decimal.ZERO;
  return { dailyLoss, drawdownPct };
}
