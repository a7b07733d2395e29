// The market of the live view. The simulator's own synthetic path at real speed moves a few hundredths of a
// percent per minute, so a grid 1000 USDT wide would sit still for hours. The demo sweeps the price in a slow
// swing instead: BTC through the grid sample's neighbouring levels (64000 below, 66000 above the 65000 start),
// ETH through the DCA sample's 3 % take-profit, so orders fill and PnL moves within a couple of minutes,
// while staying far from the samples' daily-loss limits.

export interface Swing {
  /** Simulator symbol, such as BTCUSDT. */
  symbol: string;
  /** Price at the start and the centre of the swing. */
  centre: number;
  /** Half the swing, as a fraction of the centre. */
  amplitude: number;
  periodMs: number;
}

export const DEMO_SWINGS: readonly Swing[] = [
  { symbol: "BTCUSDT", centre: 65_000, amplitude: 0.025, periodMs: 120_000 },
  { symbol: "ETHUSDT", centre: 3_000, amplitude: 0.04, periodMs: 150_000 },
];

/**
 * The price of a swing `elapsedMs` after the demo started, at the pairs' 0.01 tick. It falls first: the
 * grids' buys fill within seconds and the way back up fills their sells, so PnL shows within a minute.
 */
export function swingPrice(swing: Swing, elapsedMs: number): string {
  const phase = (2 * Math.PI * elapsedMs) / swing.periodMs;
  return (swing.centre * (1 - swing.amplitude * Math.sin(phase))).toFixed(2);
}

export function demoPrices(
  elapsedMs: number,
  swings: readonly Swing[] = DEMO_SWINGS,
): { symbol: string; price: string }[] {
  return swings.map((swing) => ({ symbol: swing.symbol, price: swingPrice(swing, elapsedMs) }));
}
