import uPlot from "uplot";
import type { SnapshotPoint } from "./api.ts";
import { el, replace } from "./dom.ts";

// Equity and PnL over time, drawn by uPlot (bundled into app.js, its stylesheet served as /uplot.css):
// it draws on a canvas and sets element styles through the CSSOM, which the CSP's `style-src 'self'`
// allows. Decimal strings become numbers here only to be drawn.

const toNumber = (value: string | null): number | null => {
  if (value === null) return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
};

/** Column-wise data for uPlot: time in seconds, then equity, realized PnL, total PnL. */
export function chartData(points: readonly SnapshotPoint[]): uPlot.AlignedData {
  return [
    points.map((point) => Date.parse(point.at) / 1000),
    points.map((point) => toNumber(point.equity)),
    points.map((point) => toNumber(point.realizedPnl)),
    points.map((point) => {
      const realized = toNumber(point.realizedPnl);
      const unrealized = toNumber(point.unrealizedPnl);
      return realized === null || unrealized === null ? null : realized + unrealized;
    }),
  ];
}

export class PnlChart {
  readonly element = el("div", { class: "chart", "data-testid": "pnl-chart" });
  #plot: uPlot | undefined;
  /** The time axis spans the chosen range (seconds), not just the points: one point alone has no span. */
  #range = { from: 0, to: 0 };

  /** `range`: the window asked for, in ms since the epoch. */
  show(points: readonly SnapshotPoint[], range: { from: number; to: number }): void {
    this.#range = { from: range.from / 1000, to: range.to / 1000 };
    if (points.length === 0) {
      this.#plot?.destroy();
      this.#plot = undefined;
      replace(this.element, el("p", { class: "muted" }, "No snapshots in this range yet."));
      return;
    }
    const data = chartData(points);
    if (this.#plot) {
      this.#plot.setData(data);
      this.#plot.setScale("x", { min: this.#range.from, max: this.#range.to });
      return;
    }
    replace(this.element);
    this.#plot = new uPlot(
      {
        width: Math.max(320, Math.min(this.element.clientWidth || 900, 1200)),
        height: 260,
        scales: {
          x: { time: true, range: () => [this.#range.from, this.#range.to] },
          pnl: { auto: true },
          equity: { auto: true },
        },
        series: [
          {},
          { label: "Equity", scale: "equity", stroke: "#1d4ed8", width: 2 },
          { label: "Realized PnL", scale: "pnl", stroke: "#067647", width: 1.5 },
          { label: "Total PnL", scale: "pnl", stroke: "#b54708", width: 1.5 },
        ],
        axes: [{}, { scale: "equity", label: "Equity" }, { scale: "pnl", side: 1, label: "PnL" }],
      },
      data,
      this.element,
    );
  }

  destroy(): void {
    this.#plot?.destroy();
    this.#plot = undefined;
  }
}
