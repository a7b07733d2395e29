// Scenarios 2 to 5 of `make bench` (bench/run.ts): one operator and a fleet of TradingBots whose pods
// KWOK marks Running without processes.
//  - convergence: N TradingBots created at once until every pod is Running, against N single-replica
//    ReplicaSets of the in-tree controller in the same cluster and run (measured first, then removed);
//  - steady state: the operator's writes, from the API server's audit log, while nothing changes and
//    through a forced full resync (SIGHUP);
//  - memory: the operator's resident memory and heap (its /metrics and /proc) at each fleet size;
//  - fleet halt: one KillSwitch over the namespace until every bot's own halt watch has stopped it (the
//    runtime's watch module, one per bot, in a process of its own: halt-watchers.ts), every pod's
//    deletion is requested and every status says Halted.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { KubeObject } from "../../operator/kube/types.ts";
import { RESOURCES } from "../../operator/resources.ts";
import { botManifest } from "../../test/operator/fixtures.ts";
import { applyObjects, kubectlRun } from "../../test/operator/harness.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import {
  auditLogSize,
  auditTime,
  type BenchCluster,
  type BenchOperator,
  controlPlaneCpuSeconds,
  controlPlaneProcesses,
  inParallel,
  operatorUser,
  percentile,
  readAuditEvents,
  startBenchOperator,
  type WatchedObject,
  watchEvents,
} from "./bench-env.ts";
import { HaltWatchers, type HaltWatchersStart } from "./halt-watchers.ts";
import type { WatchersPauses } from "./halt-watchers-process.ts";

type Log = (line: string) => void;

const REPLICA_SETS = {
  group: "apps",
  version: "v1",
  kind: "ReplicaSet",
  plural: "replicasets",
  namespaced: true,
};

interface PodState {
  running: boolean;
  deleting: boolean;
}

/**
 * The pods and TradingBots of one namespace as plain watches see them, with the arrival time of each
 * event: `until(condition)` resolves with the arrival time of the event after which the condition holds.
 */
class NamespaceView {
  readonly pods = new Map<string, PodState>();
  readonly botPhases = new Map<string, string | undefined>();
  readonly #watches: { stop(): void }[] = [];
  #waiters: { condition: () => boolean; resolve: (at: number) => void }[] = [];

  constructor(cluster: BenchCluster, namespace: string, withBots: boolean) {
    this.#watches.push(
      watchEvents(cluster.admin, `/api/v1/namespaces/${namespace}/pods`, {}, (type, pod, at) => {
        if (type === "DELETED") this.pods.delete(pod.metadata.name);
        else
          this.pods.set(pod.metadata.name, {
            running: pod.status?.phase === "Running" && !pod.metadata.deletionTimestamp,
            deleting: pod.metadata.deletionTimestamp !== undefined,
          });
        this.onPod?.(type, pod, at);
        this.#check(at);
      }),
    );
    if (withBots) {
      this.#watches.push(
        watchEvents(
          cluster.admin,
          `/apis/trading.botops.dev/v1alpha1/namespaces/${namespace}/tradingbots`,
          {},
          (type, bot, at) => {
            if (type === "DELETED") this.botPhases.delete(bot.metadata.name);
            else this.botPhases.set(bot.metadata.name, bot.status?.phase);
            this.onBot?.(type, bot, at);
            this.#check(at);
          },
        ),
      );
    }
  }

  onPod?: (type: string, pod: WatchedObject, at: number) => void;
  onBot?: (type: string, bot: WatchedObject, at: number) => void;

  runningPods(): number {
    let count = 0;
    for (const pod of this.pods.values()) if (pod.running) count++;
    return count;
  }

  botsIn(phase: string): number {
    let count = 0;
    for (const value of this.botPhases.values()) if (value === phase) count++;
    return count;
  }

  until(condition: () => boolean, what: string, timeoutMs: number): Promise<number> {
    if (condition()) return Promise.resolve(performance.now());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.condition !== condition);
        reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`));
      }, timeoutMs);
      this.#waiters.push({
        condition,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      });
    });
  }

  #check(at: number) {
    for (const waiter of [...this.#waiters]) {
      if (waiter.condition()) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(at);
      }
    }
  }

  stop() {
    for (const watch of this.#watches) watch.stop();
  }
}

/** Resident memory of a process from /proc, in MiB (undefined once it is gone). */
function procRssMiB(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((entry) => entry.startsWith("VmRSS:"));
    return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
  } catch {
    return undefined;
  }
}

const MiB = 2 ** 20;

/** Sum of every sample of a metric (all label sets), from /metrics text. */
function metricSum(text: string, name: string, excluding?: string): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!(line.startsWith(`${name}{`) || line.startsWith(`${name} `))) continue;
    if (excluding !== undefined && line.includes(excluding)) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

export interface OperatorMemory {
  bots: number;
  /** process_resident_memory_bytes of the operator's /metrics. */
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  /** VmRSS from /proc, the same figure read from outside. */
  procRssMiB: number | undefined;
  /** Highest /proc RSS sampled (every second) since the previous reading. */
  peakRssMiB: number | undefined;
  /**
   * The operator's longest event-loop pause since the previous reading (a garbage collection among
   * them): how long a halt arriving at the worst moment would have waited. Node's own monitor, 10 ms
   * resolution, read off every scrape of /metrics this bench makes.
   */
  maxEventLoopPauseMs: number;
}

const EVENT_LOOP_PAUSE = "tradingbot_operator_nodejs_eventloop_lag_max_seconds";

export interface ConvergenceResult {
  count: number;
  /** All create requests answered. */
  createdS: number;
  podsRunningS: number;
  /** TradingBots only: every status Ready (phase Running). */
  botsReadyS?: number;
}

export interface SteadyStateResult {
  minutes: number;
  /** The operator's writes while idle, by `verb resource[/subresource]`, the leader Lease included. */
  idleWrites: Record<string, number>;
  resyncWrites: Record<string, number>;
  resyncReconciles: number;
  resyncSettledS: number;
  idleWritesExcludingLease: number;
  resyncWritesExcludingLease: number;
}

export interface FleetHaltResult {
  bots: number;
  /**
   * KillSwitch create answered -> the onHalt of each bot's own halt watch (the moment its runtime stops
   * placing orders): the last one (the fleet stopped), and p50 and p99 over the bots.
   */
  everyBotStoppedS: number;
  botStoppedMs: { p50: number; p99: number; max: number };
  botStoppedByDecileS: number[];
  /** The halt source each watch fired for, with counts (all KillSwitch/<name> when nothing else interfered). */
  botStoppedSources: Record<string, number>;
  /** How the watches were set up: their identity, the time to mint tokens and to be served every watch. */
  watchers: HaltWatchersStart & { restarts: number; processRssMiB: number; processPauses: WatchersPauses };
  /** kube-apiserver's CPU time from the create until every DELETE and Halted=True was seen, per bot. */
  apiServerCpuMsPerBot?: number;
  /** KillSwitch create answered -> every pod deletion seen by a pod watch. */
  allDeletesSeenS: number;
  /**
   * KillSwitch create answered -> every TradingBot's status has the condition Halted=True (the halt on
   * record, written before the pod's DELETE).
   */
  allHaltRecordedS: number;
  /** KillSwitch create answered -> every TradingBot's status phase Halted (its pod is gone). */
  allHaltedS: number;
  /** Every deletion requested and every Halted condition True. */
  fleetHaltS: number;
  /** Every deletion requested and every phase Halted: the pods' grace period and KWOK's removal included. */
  fleetHaltedPhaseS: number;
  /** Server side, from the audit log: KillSwitch created -> the operator's last pod DELETE accepted. */
  auditLastDeleteS?: number;
  /** ... and its last status write of a bot of the fleet. */
  auditLastStatusWriteS?: number;
  /** The operator's writes during the halt by `verb resource[/subresource]`. */
  auditWrites?: Record<string, number>;
  /** Seconds after the create at which each tenth of the pods' deletions was seen. */
  deletesSeenByDecileS: number[];
  haltRecordedByDecileS: number[];
  haltedByDecileS: number[];
  /** API requests the operator saw throttled (HTTP 429), from its /metrics. */
  throttled: number;
  /**
   * API Priority and Fairness during the halt, from the API server's /metrics: requests dispatched,
   * rejected and the seconds they waited in queues, by priority level (only what changed).
   */
  flowControl?: Record<string, number>;
  /** The operator's CPU seconds over the halt, and its API latency: mean seconds per request by verb. */
  operatorCpuSeconds: number;
  operatorApiMeanSeconds: Record<string, number>;
  /**
   * CPU seconds of each control-plane process and of the operator from the KillSwitch's create until every
   * DELETE and every Halted=True was seen: what the halt's wall time is made of on a small machine.
   */
  controlPlaneCpuSecondsToHalt: Record<string, number>;
}

/** Sums and counts of the operator's API latency histogram by verb, and its CPU seconds. */
function operatorCounters(text: string) {
  const api = new Map<string, { sum: number; count: number }>();
  for (const line of text.split("\n")) {
    const match =
      /^tradingbot_operator_api_request_duration_seconds_(sum|count)\{verb="([^"]+)"\} (\S+)$/.exec(line);
    if (!match) continue;
    const entry = api.get(match[2] as string) ?? { sum: 0, count: 0 };
    entry[match[1] as "sum" | "count"] = Number(match[3]);
    api.set(match[2] as string, entry);
  }
  return { api, cpu: metricSum(text, "tradingbot_operator_process_cpu_seconds_total") };
}

const FLOW_CONTROL = [
  "apiserver_flowcontrol_dispatched_requests_total",
  "apiserver_flowcontrol_rejected_requests_total",
  "apiserver_flowcontrol_request_wait_duration_seconds_sum",
  "apiserver_flowcontrol_request_wait_duration_seconds_count",
];

/** The API server's flow-control counters summed by metric and priority level. */
async function flowControlCounters(cluster: BenchCluster): Promise<Map<string, number>> {
  const counters = new Map<string, number>();
  const text = await kubectlRun(cluster.access, ["get", "--raw", "/metrics"]);
  for (const line of text.split("\n")) {
    const name = FLOW_CONTROL.find((metric) => line.startsWith(`${metric}{`));
    if (!name) continue;
    const level = /priority_level="([^"]*)"/.exec(line)?.[1] ?? "?";
    const key = `${name.replace("apiserver_flowcontrol_", "")}{${level}}`;
    counters.set(key, (counters.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return counters;
}

function counterChanges(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const changes: Record<string, number> = {};
  for (const [key, value] of after) {
    const delta = value - (before.get(key) ?? 0);
    if (delta !== 0) changes[key] = round(delta);
  }
  return changes;
}

const deciles = (times: number[]) => {
  const sorted = [...times].sort((a, b) => a - b);
  return Array.from({ length: 10 }, (_, i) =>
    round((sorted[Math.max(0, Math.ceil(((i + 1) / 10) * sorted.length) - 1)] ?? Number.NaN) / 1000),
  );
};
const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

function countWrites(events: ReturnType<typeof readAuditEvents>, user: string) {
  const byKind: Record<string, number> = {};
  for (const event of events) {
    if (event.user?.username !== user) continue;
    const resource = event.objectRef?.subresource
      ? `${event.objectRef.resource}/${event.objectRef.subresource}`
      : (event.objectRef?.resource ?? "?");
    const key = `${event.verb} ${resource}`;
    byKind[key] = (byKind[key] ?? 0) + 1;
  }
  return byKind;
}

/** Requests the API server answered 429 (API Priority and Fairness rejected them), from /metrics text. */
function throttledRequests(text: string): number {
  let count = 0;
  for (const line of text.split("\n"))
    if (line.startsWith("tradingbot_operator_api_requests_total{") && line.includes('code="429"'))
      count += Number(line.slice(line.lastIndexOf(" ") + 1));
  return count;
}

const withoutLease = (writes: Record<string, number>) =>
  Object.entries(writes)
    .filter(([key]) => !key.endsWith(" leases"))
    .reduce((sum, [, count]) => sum + count, 0);

/** The fleet's namespace, its operator, and what watches and samples them. */
export class Fleet {
  readonly cluster: BenchCluster;
  readonly bench: BenchOperator;
  readonly view: NamespaceView;
  readonly log: Log;
  #bots = 0;
  #peak = 0;
  #maxPauseMs = 0;
  readonly #sampler: NodeJS.Timeout;

  private constructor(cluster: BenchCluster, bench: BenchOperator, log: Log) {
    this.cluster = cluster;
    this.bench = bench;
    this.log = log;
    this.view = new NamespaceView(cluster, bench.namespace, true);
    this.#sampler = setInterval(() => {
      this.#peak = Math.max(this.#peak, procRssMiB(bench.operator.process.pid) ?? 0);
    }, 1000);
  }

  static async open(cluster: BenchCluster, log: Log): Promise<Fleet> {
    return new Fleet(cluster, await startBenchOperator(cluster), log);
  }

  /** The operator's /metrics; each scrape resets its event-loop monitor, so the longest pause is kept here. */
  async #scrape(): Promise<string> {
    const text = await this.bench.operator.metrics();
    this.#maxPauseMs = Math.max(this.#maxPauseMs, metricSum(text, EVENT_LOOP_PAUSE) * 1000);
    return text;
  }

  get size() {
    return this.#bots;
  }

  /**
   * Waits until the operator has nothing left to do (empty queues, no reconcile for 5 s), at most
   * `timeoutMs`; resolves with the seconds waited, or undefined when it never went quiet.
   */
  async settle(timeoutMs = 300_000): Promise<number | undefined> {
    const started = performance.now();
    let last = -1;
    let quietSince = performance.now();
    try {
      await waitFor(
        async () => {
          const text = await this.#scrape();
          const reconciles = metricSum(text, "tradingbot_operator_reconcile_total");
          const depth = metricSum(text, "tradingbot_operator_workqueue_depth");
          if (reconciles !== last || depth > 0) {
            last = reconciles;
            quietSince = performance.now();
            return false;
          }
          return performance.now() - quietSince >= 5_000;
        },
        { what: "the operator to settle (empty queues, no reconcile for 5 s)", timeoutMs, intervalMs: 500 },
      );
    } catch (error) {
      this.log(`${(error as Error).message}: going on`);
      return undefined;
    }
    return round((performance.now() - started) / 1000, 1);
  }

  async memory(): Promise<OperatorMemory> {
    const text = await this.#scrape();
    const pid = this.bench.operator.process.pid;
    const reading: OperatorMemory = {
      bots: this.#bots,
      rssMiB: round(metricSum(text, "tradingbot_operator_process_resident_memory_bytes") / MiB, 1),
      heapUsedMiB: round(metricSum(text, "tradingbot_operator_nodejs_heap_size_used_bytes") / MiB, 1),
      heapTotalMiB: round(metricSum(text, "tradingbot_operator_nodejs_heap_size_total_bytes") / MiB, 1),
      externalMiB: round(metricSum(text, "tradingbot_operator_nodejs_external_memory_bytes") / MiB, 1),
      procRssMiB: round(procRssMiB(pid) ?? Number.NaN, 1),
      peakRssMiB: round(this.#peak, 1),
      maxEventLoopPauseMs: round(this.#maxPauseMs, 1),
    };
    this.#peak = 0;
    this.#maxPauseMs = 0;
    return reading;
  }

  /** Creates bots until there are `total`, 32 requests at a time, and waits until every one runs. */
  async grow(total: number, timeoutMs: number): Promise<ConvergenceResult> {
    const { namespace } = this.bench;
    const names = Array.from(
      { length: total - this.#bots },
      (_, i) => `fleet-${String(this.#bots + i).padStart(5, "0")}`,
    );
    const started = performance.now();
    await inParallel(names, 32, (name) =>
      this.cluster.admin.create(RESOURCES.tradingBots, botManifest(namespace, name) as unknown as KubeObject),
    );
    const created = performance.now();
    this.#bots = total;
    const podsRunning = this.view.until(
      () => this.view.runningPods() >= total,
      `${total} bot pods Running`,
      timeoutMs,
    );
    const botsReady = this.view.until(
      () => this.view.botsIn("Running") >= total,
      `${total} TradingBots in phase Running`,
      timeoutMs,
    );
    const [podsAt, readyAt] = await Promise.all([podsRunning, botsReady]);
    return {
      count: names.length,
      createdS: round((created - started) / 1000),
      podsRunningS: round((podsAt - started) / 1000),
      botsReadyS: round((readyAt - started) / 1000),
    };
  }

  /** The operator's writes during `minutes` of nothing happening, then through a forced full resync. */
  async steadyState(minutes: number): Promise<SteadyStateResult> {
    const auditLogPath = this.cluster.auditLogPath;
    if (!auditLogPath) throw new Error("steady state needs the audit log of a control plane started here");
    const user = operatorUser(this.bench.operatorNamespace);
    const idleFrom = auditLogSize(auditLogPath);
    await sleep(minutes * 60_000);
    const idleWrites = countWrites(readAuditEvents(auditLogPath, idleFrom, user), user);

    const reconcilesBefore = metricSum(await this.#scrape(), "tradingbot_operator_reconcile_total");
    const resyncFrom = auditLogSize(auditLogPath);
    process.kill(this.bench.operator.process.pid, "SIGHUP");
    const started = performance.now();
    await waitFor(
      async () =>
        metricSum(await this.#scrape(), "tradingbot_operator_reconcile_total") - reconcilesBefore >=
        this.#bots,
      { what: "every bot reconciled after SIGHUP", timeoutMs: 300_000, intervalMs: 250 },
    );
    const settled = await this.settle();
    const settledS = settled === undefined ? Number.NaN : (performance.now() - started) / 1000;
    const resyncWrites = countWrites(readAuditEvents(auditLogPath, resyncFrom, user), user);
    const reconcilesAfter = metricSum(await this.#scrape(), "tradingbot_operator_reconcile_total");
    return {
      minutes,
      idleWrites,
      resyncWrites,
      resyncReconciles: reconcilesAfter - reconcilesBefore,
      resyncSettledS: round(settledS, 1),
      idleWritesExcludingLease: withoutLease(idleWrites),
      resyncWritesExcludingLease: withoutLease(resyncWrites),
    };
  }

  /**
   * Applies one engaged KillSwitch over the namespace; resolves once every bot is halted: its own halt
   * watch fired, its pod's deletion was requested and its status says Halted.
   */
  async halt(switchName: string, timeoutMs: number): Promise<FleetHaltResult> {
    const total = this.#bots;
    const watchers = await HaltWatchers.start(
      this.cluster,
      this.bench.namespace,
      [...this.view.botPhases.keys()],
      timeoutMs,
    );
    this.log(`halt watches of ${total} bots served: ${JSON.stringify(watchers.started)}`);
    try {
      return await this.#halt(switchName, watchers, timeoutMs);
    } finally {
      // Stopped here too when the halt failed; after a success it has reported already.
      await watchers.stop().catch(() => undefined);
    }
  }

  async #halt(switchName: string, watchers: HaltWatchers, timeoutMs: number): Promise<FleetHaltResult> {
    const { namespace, operator } = this.bench;
    const total = this.#bots;
    const deleteSeen = new Map<string, number>();
    const haltedSeen = new Map<string, number>();
    const recordedSeen = new Map<string, number>();
    this.view.onPod = (type, pod, at) => {
      if ((type === "DELETED" || pod.metadata.deletionTimestamp) && !deleteSeen.has(pod.metadata.name))
        deleteSeen.set(pod.metadata.name, at);
    };
    this.view.onBot = (_type, bot, at) => {
      if (bot.status?.phase === "Halted" && !haltedSeen.has(bot.metadata.name))
        haltedSeen.set(bot.metadata.name, at);
      const recorded = bot.status?.conditions?.some((c) => c.type === "Halted" && c.status === "True");
      if (recorded && !recordedSeen.has(bot.metadata.name)) recordedSeen.set(bot.metadata.name, at);
    };
    const metricsBefore = await this.#scrape();
    const throttledBefore = throttledRequests(metricsBefore);
    const countersBefore = operatorCounters(metricsBefore);
    const flowBefore = await flowControlCounters(this.cluster).catch(() => undefined);
    const auditFrom = this.cluster.auditLogPath ? auditLogSize(this.cluster.auditLogPath) : 0;
    const processes = controlPlaneProcesses(this.cluster);
    if (operator.process.pid !== undefined) processes.set("operator", String(operator.process.pid));
    const cpuBefore = controlPlaneCpuSeconds(processes);
    let cpuAtHalt: Record<string, number> = {};
    const started = performance.now();
    const startedWall = Date.now();
    await this.cluster.admin.create(RESOURCES.killSwitches, {
      apiVersion: "trading.botops.dev/v1alpha1",
      kind: "KillSwitch",
      metadata: { name: switchName },
      spec: { engaged: true, reason: "bench: fleet halt", namespaces: [namespace] },
    } as KubeObject);
    const created = performance.now();
    const createdWallMs = performance.timeOrigin + created;
    const deletes = this.view.until(() => deleteSeen.size >= total, `${total} pod deletions`, timeoutMs);
    const recorded = this.view.until(
      () => recordedSeen.size >= total,
      `${total} bots with Halted=True`,
      timeoutMs,
    );
    // What each process spent until the halt was complete (every DELETE and every Halted=True seen).
    const halted = Promise.all([deletes, recorded]).then(() => {
      cpuAtHalt = controlPlaneCpuSeconds(processes);
    });
    const [deletesAt, recordedAt, haltedAt] = await Promise.all([
      deletes,
      recorded,
      this.view.until(() => haltedSeen.size >= total, `${total} bots Halted`, timeoutMs),
      halted,
      watchers.untilEveryBotHalted(timeoutMs),
    ]);
    this.view.onPod = undefined;
    this.view.onBot = undefined;
    const seen = await watchers.stop();
    const stoppedMs = seen.halts.map((halt) => halt.firedAtMs - createdWallMs);
    const sources: Record<string, number> = {};
    for (const halt of seen.halts) sources[halt.source] = (sources[halt.source] ?? 0) + 1;
    const result: FleetHaltResult = {
      bots: total,
      everyBotStoppedS: round(Math.max(...stoppedMs) / 1000),
      botStoppedMs: {
        p50: round(percentile(stoppedMs, 50), 1),
        p99: round(percentile(stoppedMs, 99), 1),
        max: round(Math.max(...stoppedMs), 1),
      },
      botStoppedByDecileS: deciles(stoppedMs),
      botStoppedSources: sources,
      watchers: {
        ...(watchers.started as HaltWatchersStart),
        restarts: seen.restarts,
        processRssMiB: seen.rssMiB,
        processPauses: seen.pauses,
      },
      allDeletesSeenS: round((deletesAt - created) / 1000),
      allHaltRecordedS: round((recordedAt - created) / 1000),
      allHaltedS: round((haltedAt - created) / 1000),
      fleetHaltS: round((Math.max(deletesAt, recordedAt) - created) / 1000),
      fleetHaltedPhaseS: round((Math.max(deletesAt, haltedAt) - created) / 1000),
      deletesSeenByDecileS: deciles([...deleteSeen.values()].map((at) => at - created)),
      haltRecordedByDecileS: deciles([...recordedSeen.values()].map((at) => at - created)),
      haltedByDecileS: deciles([...haltedSeen.values()].map((at) => at - created)),
      throttled: 0,
      operatorCpuSeconds: 0,
      operatorApiMeanSeconds: {},
      controlPlaneCpuSecondsToHalt: Object.fromEntries(
        Object.entries(cpuAtHalt).map(([binary, seconds]) => [
          binary,
          round(seconds - (cpuBefore[binary] ?? 0), 2),
        ]),
      ),
    };
    const apiServerCpuS = result.controlPlaneCpuSecondsToHalt["kube-apiserver"];
    if (apiServerCpuS !== undefined) result.apiServerCpuMsPerBot = round((apiServerCpuS * 1000) / total, 2);
    const metricsAfter = await this.#scrape();
    result.throttled = throttledRequests(metricsAfter) - throttledBefore;
    const countersAfter = operatorCounters(metricsAfter);
    result.operatorCpuSeconds = round(countersAfter.cpu - countersBefore.cpu, 2);
    for (const [verb, after] of countersAfter.api) {
      const before = countersBefore.api.get(verb) ?? { sum: 0, count: 0 };
      if (after.count > before.count)
        result.operatorApiMeanSeconds[`${verb} (${after.count - before.count})`] = round(
          (after.sum - before.sum) / (after.count - before.count),
          4,
        );
    }
    const flowAfter = await flowControlCounters(this.cluster).catch(() => undefined);
    if (flowBefore && flowAfter) result.flowControl = counterChanges(flowBefore, flowAfter);
    if (this.cluster.auditLogPath) {
      const user = operatorUser(this.bench.operatorNamespace);
      // Give the audit backend a moment to flush the last lines.
      await sleep(1000);
      const events = readAuditEvents(this.cluster.auditLogPath, auditFrom).filter(
        (event) => event.user?.username === user || event.objectRef?.resource === "killswitches",
      );
      const createdAt = events.find(
        (e) =>
          e.verb === "create" && e.objectRef?.resource === "killswitches" && e.objectRef.name === switchName,
      );
      const mine = events.filter((event) => event.user?.username === user);
      const lastOf = (accept: (e: (typeof events)[number]) => boolean) =>
        Math.max(...mine.filter(accept).map(auditTime));
      if (createdAt) {
        const at = auditTime(createdAt);
        result.auditLastDeleteS = round(
          (lastOf((e) => e.verb === "delete" && e.objectRef?.resource === "pods") - at) / 1000,
        );
        result.auditLastStatusWriteS = round(
          (lastOf(
            (e) =>
              e.objectRef?.resource === "tradingbots" &&
              e.objectRef.subresource === "status" &&
              e.objectRef.namespace === namespace,
          ) -
            at) /
            1000,
        );
      }
      result.auditWrites = countWrites(mine, user);
    }
    this.log(
      `fleet halt of ${total}: every bot's watch fired ${result.everyBotStoppedS} s, deletes ${result.allDeletesSeenS} s, Halted=True ${result.allHaltRecordedS} s, phase Halted ${result.allHaltedS} s (wall ${((Date.now() - startedWall) / 1000).toFixed(1)} s, create took ${((created - started) / 1000).toFixed(3)} s)`,
    );
    return result;
  }

  /** Deletes the KillSwitch and waits until every bot runs again. */
  async release(switchName: string, timeoutMs: number): Promise<number> {
    const started = performance.now();
    await kubectlRun(this.cluster.access, ["delete", "killswitch", switchName, "--wait=true"]);
    const total = this.#bots;
    const at = await this.view.until(
      () => this.view.runningPods() >= total && this.view.botsIn("Running") >= total,
      `${total} bots running again`,
      timeoutMs,
    );
    return round((at - started) / 1000);
  }

  /** Stops watching and the operator; `clean` first deletes the fleet (slow: every bot's finalizer). */
  async stop(clean: boolean): Promise<void> {
    clearInterval(this.#sampler);
    this.view.stop();
    if (clean) await this.bench.stop(Math.max(120_000, this.#bots * 200));
    else await this.bench.operator.stop();
  }
}

/**
 * The reference: `count` single-replica ReplicaSets created at once (same concurrency as the bots) in a
 * namespace of their own, until every pod is Running; then the namespace is removed and awaited, so the
 * bots that follow meet an idle cluster.
 */
export async function replicaSetConvergence(
  cluster: BenchCluster,
  count: number,
  timeoutMs: number,
  log: Log,
): Promise<ConvergenceResult & { removedS: number }> {
  const namespace = `bench-rs-${randomBytes(3).toString("hex")}`;
  await applyObjects(cluster.access, [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
  ]);
  const view = new NamespaceView(cluster, namespace, false);
  try {
    const sets = Array.from({ length: count }, (_, i) => {
      const name = `rs-${String(i).padStart(5, "0")}`;
      return {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        metadata: { name, namespace },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: {
              automountServiceAccountToken: false,
              containers: [{ name: "main", image: "registry.local/bench/pause:1" }],
            },
          },
        },
      };
    });
    const started = performance.now();
    await inParallel(sets, 32, (set) => cluster.admin.create(REPLICA_SETS, set as unknown as KubeObject));
    const created = performance.now();
    const runningAt = await view.until(
      () => view.runningPods() >= count,
      `${count} ReplicaSet pods Running`,
      timeoutMs,
    );
    const result = {
      count,
      createdS: round((created - started) / 1000),
      podsRunningS: round((runningAt - started) / 1000),
    };
    log(`${count} ReplicaSets: every pod Running after ${result.podsRunningS} s`);
    const removing = performance.now();
    await kubectlRun(cluster.access, [
      "delete",
      "namespace",
      namespace,
      `--timeout=${Math.round(timeoutMs / 1000)}s`,
    ]);
    return { ...result, removedS: round((performance.now() - removing) / 1000) };
  } finally {
    view.stop();
  }
}
