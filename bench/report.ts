import { execFileSync } from "node:child_process";
import { cpus, loadavg, totalmem } from "node:os";

// The shape of a `make bench` result and its rendering: rows of the table (one figure each, with its
// baseline, target and verdict) and the facts of the machine it was measured on. Pure apart from
// `machineFacts`, which reads the machine once.

export interface Row {
  scenario: string;
  metric: string;
  value: number | undefined;
  unit: string;
  /** The figure measured side by side in the same run, when the scenario has one. */
  baseline?: number;
  /** What the target allows, in the same unit (undefined: no numeric target for this row). */
  limit?: number;
  /** The target in words, e.g. "<= 2x baseline + 50 ms". */
  target?: string;
  /** 1-minute load average when the figure was taken: the machine is shared. */
  load?: number;
  /** Why a figure is missing or what it is owed to. */
  note?: string;
}

export interface ScenarioRecord {
  scenario: string;
  title: string;
  startedAt: string;
  wallSeconds: number;
  loadBefore: number[];
  loadAfter: number[];
  /** Every raw sample and intermediate figure of the scenario. */
  raw: unknown;
  error?: string;
}

export interface MachineFacts {
  cpus: number;
  cpuModel: string | undefined;
  memoryGiB: number;
  node: string;
  kubernetes: string | undefined;
  etcd: string | undefined;
  kwok: string | undefined;
  gitRevision: string | undefined;
  /** Files changed since that revision (the run measured the work tree, not only the commit). */
  gitDirty: boolean | undefined;
  loadBefore: number[];
  loadAfter?: number[];
}

export const loadAverage = (): number[] => loadavg().map((value) => Math.round(value * 100) / 100);

function git(args: string[], cwd: string): string | undefined {
  try {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

export function machineFacts(repoRoot: string, versions: Record<string, string>): MachineFacts {
  const status = git(["status", "--porcelain"], repoRoot);
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kubernetes: versions.KUBERNETES_VERSION,
    etcd: versions.ETCD_VERSION,
    kwok: versions.KWOK_VERSION,
    gitRevision: git(["rev-parse", "HEAD"], repoRoot),
    gitDirty: status === undefined ? undefined : status !== "",
    loadBefore: loadAverage(),
  };
}

/** `met` when the value is within the limit, `missed` when not, `-` when there is nothing to compare. */
export function verdict(row: Row): "met" | "missed" | "-" {
  if (row.limit === undefined || row.value === undefined || !Number.isFinite(row.value)) return "-";
  return row.value <= row.limit ? "met" : "missed";
}

export function ratio(row: Row): number | undefined {
  // A baseline at or below zero (a watch event that arrived before the request's answer) has no ratio.
  if (row.baseline === undefined || row.value === undefined || row.baseline <= 0) return undefined;
  return row.value / row.baseline;
}

const figure = (value: number | undefined, unit: string) => {
  if (value === undefined || !Number.isFinite(value)) return "n/a";
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)}${unit === "" ? "" : ` ${unit}`}`;
};

/** The result table as aligned text columns. */
export function renderTable(rows: Row[]): string {
  const header = ["scenario", "metric", "value", "baseline", "ratio", "target", "met?", "load"];
  const lines = rows.map((row) => {
    const r = ratio(row);
    return [
      row.scenario,
      row.metric,
      figure(row.value, row.unit),
      row.baseline === undefined ? "" : figure(row.baseline, row.unit),
      r === undefined ? "" : `${r.toFixed(2)}x`,
      row.target ?? "",
      verdict(row),
      row.load === undefined ? "" : row.load.toFixed(2),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => (line[i] as string).length)));
  const format = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] as number)).join("  ");
  const notes = rows.filter((row) => row.note).map((row) => `  ${row.scenario} ${row.metric}: ${row.note}`);
  return [
    format(header),
    format(widths.map((w) => "-".repeat(w))),
    ...lines.map(format),
    ...(notes.length > 0 ? ["", "notes:", ...notes] : []),
  ].join("\n");
}

/** The same table as Markdown, for bench/README.md. */
export function renderMarkdown(rows: Row[]): string {
  const lines = [
    "| scenario | metric | value | baseline | ratio | target | met? | load (1 min) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const row of rows) {
    const r = ratio(row);
    lines.push(
      `| ${row.scenario} | ${row.metric} | ${figure(row.value, row.unit)} | ${row.baseline === undefined ? "" : figure(row.baseline, row.unit)} | ${r === undefined ? "" : `${r.toFixed(2)}x`} | ${row.target ?? ""} | ${verdict(row)} | ${row.load?.toFixed(2) ?? ""} |`,
    );
  }
  return lines.join("\n");
}
