// `make bench`: the scenarios of the project's performance claims, each next to a baseline measured in the
// same run where one exists, on the local control plane (KWOK nodes) with the operator under its real
// RBAC. Prints a table and writes bench/results/latest.json plus a dated copy (machine facts, versions,
// every raw sample). See bench/README.md.
//
// usage: node bench/run.ts [--only 1,3] [--size 1000] [--large 10000] [--quick] [more flags: --help]
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { RUNTIME_PROCESS_ENV } from "../operator/desired-state/bot-pod.ts";
import { parseVersions } from "../test/cluster/binaries.ts";
import { REPO_ROOT } from "../test/operator/harness.ts";
import { type PostgresServer, startPostgres } from "../test/postgres/index.ts";
import { measureConsole } from "./console/console-bench.ts";
import { measureRealFleetHalt } from "./e2e/fleet-halt-e2e.ts";
import { type HaltSeries, measureEndToEndHalt } from "./e2e/halt-e2e.ts";
import { type BenchCluster, openBenchCluster } from "./operator/bench-env.ts";
import { Fleet, replicaSetConvergence } from "./operator/fleet.ts";
import { measureHaltLatency } from "./operator/halt-latency.ts";
import { measureWriteCost } from "./operator/write-cost.ts";
import {
  loadAverage,
  type MachineFacts,
  machineFacts,
  type Row,
  renderMarkdown,
  renderTable,
  type ScenarioRecord,
  verdict,
} from "./report.ts";
import { runtimeBench } from "./runtime/runtime-bench.ts";

const USAGE = `usage: node bench/run.ts [flags]   (make bench ARGS="...")
  --only 1,3            scenarios to run (default: all, 1-8)
  --quick               reduced smoke sizes (size 100, 20 halts, 30 s steady state, 30 s trading, ...)
  --size N              fleet size of scenarios 2-5 (default 1000)
  --large N             fleet size of the second memory reading of scenario 5 (default 10000; 0 skips it)
  --real-bots N,M       scenario 2 with real runtimes on the simulator, at each size (default 20,100; 0 skips it)
  --halts N             scenario 1 halts (default 100)
  --e2e-halts N         scenario 7 halts (default 20)
  --steady-minutes M    scenario 4 idle period (default 5)
  --trade-minutes M     scenario 6 trading period before the RSS reading (default 5)
  --repeat N            scenario 6 repetitions of the SIGTERM and orders/s measurements (default 5)
  --console-bots N      scenario 8 fleet size on the console's page (default 1000)
  --browsers N          scenario 8 open browsers that see a status change (default 20)
  --results DIR         where latest.json and the dated copy go (default bench/results)
Environment: OPERATOR_NODE_ARGS="--cpu-prof --cpu-prof-dir=..." profiles the operator of scenarios 1-5.`;

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    quick: { type: "boolean", default: false },
    size: { type: "string" },
    large: { type: "string" },
    "real-bots": { type: "string" },
    halts: { type: "string" },
    "e2e-halts": { type: "string" },
    "steady-minutes": { type: "string" },
    "trade-minutes": { type: "string" },
    repeat: { type: "string" },
    "console-bots": { type: "string" },
    browsers: { type: "string" },
    results: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const quick = values.quick === true;
const numberFlag = (name: string, text: string | undefined, full: number, smoke: number): number => {
  if (text === undefined) return quick ? smoke : full;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`--${name}: expected a non-negative number, got "${text}"\n${USAGE}`);
    process.exit(2);
  }
  return value;
};
const settings = {
  quick,
  size: numberFlag("size", values.size, 1000, 100),
  large: numberFlag("large", values.large, 10_000, 0),
  realBots: (values["real-bots"] ?? (quick ? "5" : "20,100"))
    .split(",")
    .map((text) => numberFlag("real-bots", text.trim(), 0, 0))
    .filter((bots) => bots > 0),
  halts: numberFlag("halts", values.halts, 100, 20),
  e2eHalts: numberFlag("e2e-halts", values["e2e-halts"], 20, 5),
  steadyMinutes: numberFlag("steady-minutes", values["steady-minutes"], 5, 0.5),
  tradeMinutes: numberFlag("trade-minutes", values["trade-minutes"], 5, 0.5),
  repeat: numberFlag("repeat", values.repeat, 5, 2),
  consoleBots: numberFlag("console-bots", values["console-bots"], 1000, 100),
  browsers: numberFlag("browsers", values.browsers, 20, 3),
  only: (values.only ?? "1,2,3,4,5,6,7,8")
    .split(",")
    .map((s) => Number(s.trim()))
    .filter((n) => n >= 1 && n <= 8),
};
const resultsDir = values.results ?? join(REPO_ROOT, "bench", "results");
const selected = (scenario: number) => settings.only.includes(scenario);
const log = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

const rows: Row[] = [];
const records: ScenarioRecord[] = [];
const notRun: string[] = [];
const loadNow = () => loadAverage()[0];

/** Runs one scenario, recording its wall time, the load around it and every raw figure; errors are kept. */
async function scenario<T>(
  id: string,
  title: string,
  measure: () => Promise<T>,
  toRows: (result: T) => Row[],
): Promise<T | undefined> {
  log(`scenario ${id}: ${title}`);
  const record: ScenarioRecord = {
    scenario: id,
    title,
    startedAt: new Date().toISOString(),
    wallSeconds: 0,
    loadBefore: loadAverage(),
    loadAfter: [],
    raw: undefined,
  };
  records.push(record);
  const started = performance.now();
  try {
    const result = await measure();
    record.raw = result;
    const load = loadNow();
    rows.push(...toRows(result).map((row) => ({ ...row, load: row.load ?? load })));
    return result;
  } catch (error) {
    // Paths relative to the repository: results files are committed and name no machine's paths.
    record.error = ((error as Error).stack ?? String(error))
      .replaceAll(`file://${REPO_ROOT}`, "")
      .replaceAll(REPO_ROOT, "");
    log(`scenario ${id} failed: ${(error as Error).message}`);
    rows.push({
      scenario: id,
      metric: title,
      value: undefined,
      unit: "",
      note: `failed: ${(error as Error).message}`,
    });
    return undefined;
  } finally {
    record.wallSeconds = Math.round((performance.now() - started) / 100) / 10;
    record.loadAfter = loadAverage();
    writeResults(false);
  }
}

/** The targets are stated in MB; RSS is read in MiB. */
const MB_IN_MIB = 1e6 / 2 ** 20;

async function runtimeScenario(postgres: PostgresServer) {
  await scenario(
    "6",
    "bot runtime: RSS while trading, SIGTERM with 50 open orders, orders/s through risk gate and DB",
    () =>
      runtimeBench(postgres, {
        tradeMinutes: settings.tradeMinutes,
        repeat: settings.repeat,
        // As the operator's pod runs it: the built runtime with the pod's memory settings.
        entry: join(REPO_ROOT, "dist", "bot-runtime", "main.js"),
        env: Object.fromEntries(RUNTIME_PROCESS_ENV.map(({ name, value }) => [name, value])),
      }),
    (r) => [
      {
        scenario: "6",
        metric: `runtime RSS after ${settings.tradeMinutes} min trading`,
        value: r.memory.rssMiBSteadyState,
        unit: "MiB",
        limit: 100 * MB_IN_MIB,
        target: "< 100 MB (95.4 MiB)",
      },
      { scenario: "6", metric: "runtime RSS max while trading", value: r.memory.rssMiBMax, unit: "MiB" },
      {
        scenario: "6",
        metric: `SIGTERM -> 50 orders cancelled, p50 of ${r.sigterm.runs}`,
        value: r.sigterm.allCancelledMsP50,
        unit: "ms",
      },
      {
        scenario: "6",
        metric: `SIGTERM -> 50 orders cancelled, max of ${r.sigterm.runs}`,
        value: r.sigterm.allCancelledMsMax,
        unit: "ms",
        limit: 1000,
        target: "< 1 s",
      },
      {
        scenario: "6",
        metric: "orders/s through strategy, risk gate, DB, simulator (p50)",
        value: r.throughput.ordersPerSecondP50,
        unit: "/s",
      },
    ],
  );
}

async function consoleScenario(cluster: BenchCluster) {
  const changes = 20;
  await scenario(
    "8",
    `console: the fleet page at ${settings.consoleBots} bots, and a status change reaching ${settings.browsers} browsers`,
    () => measureConsole(cluster, { bots: settings.consoleBots, browsers: settings.browsers, changes }, log),
    (r) => [
      {
        scenario: "8",
        metric: `GET /api/bots of ${r.bots} bots through the console, p50 (API server's own list as the person)`,
        value: r.listMs.console.p50,
        baseline: r.listMs.apiServer.p50,
        unit: "ms",
        note: `${r.listMs.samples} of each, alternating; p99 console ${r.listMs.console.p99} ms, API server ${r.listMs.apiServer.p99} ms (the same list, impersonating the person, straight to the API server)`,
      },
      {
        scenario: "8",
        metric: `fleet page first render in Chromium at ${r.bots} bots, p50`,
        value: r.firstRenderMs.p50,
        unit: "ms",
        note: `navigation start -> every bot in the table; samples (ms): ${r.firstRenderMs.samples.join(", ")}`,
      },
      {
        scenario: "8",
        metric: `status change -> shown in each of ${r.browsers} open browsers, p99`,
        value: r.changeSeenMs.p99,
        unit: "ms",
        limit: 200,
        target: "<= 200 ms",
        note: `${r.changeSeenMs.changes} changes x ${r.browsers} pages; p50 ${r.changeSeenMs.p50} ms, max ${r.changeSeenMs.max} ms; from the patch's answer to a MutationObserver in the page seeing the row change`,
      },
    ],
  );
}

async function haltLatencyScenario(cluster: BenchCluster) {
  await scenario(
    "1",
    `halt latency of one bot, ${settings.halts} halts, against a plain watch`,
    () => measureHaltLatency(cluster, settings.halts, log),
    (r) => [
      {
        scenario: "1",
        metric: "patch -> operator's pod DELETE seen, p50",
        value: r.podDeleteSeenMs.p50,
        baseline: r.baselineWatchMs.p50,
        unit: "ms",
      },
      {
        scenario: "1",
        metric: "patch -> operator's pod DELETE seen, p99",
        value: r.podDeleteSeenMs.p99,
        baseline: r.baselineWatchMs.p99,
        unit: "ms",
        limit: r.targetP99Ms,
        target: "<= 2x baseline + 50 ms",
      },
      ...(r.auditPatchToDeleteMs
        ? [
            {
              scenario: "1",
              metric: "audit log: PATCH -> DELETE at the server, p99",
              value: r.auditPatchToDeleteMs.p99,
              unit: "ms",
            },
          ]
        : []),
    ],
  );
}

/** Where scenario 7's time goes, from the runtime's log. */
const endToEndNote = (series: HaltSeries) =>
  `${series.halts} halts; noticed by the runtime through: ${JSON.stringify(series.noticedBy)}; from the patch's answer, the runtime logged the halt after ${series.runtimeLogMs.haltNoticed.p50} ms (p99 ${series.runtimeLogMs.haltNoticed.p99}) and its trading loop stopped after ${series.runtimeLogMs.loopStopped.p50} ms (p99 ${series.runtimeLogMs.loopStopped.p99})`;

async function endToEndScenario(cluster: BenchCluster, postgres: PostgresServer) {
  await scenario(
    "7",
    `end-to-end halt with the local node agent, ${settings.e2eHalts} halts, and as many with the operator stopped`,
    () => measureEndToEndHalt(cluster, postgres, settings.e2eHalts, log),
    (r) => [
      {
        scenario: "7",
        metric: "patch -> last open order cancelled at the simulator, p50",
        value: r.lastCancelMs.p50,
        unit: "ms",
      },
      {
        scenario: "7",
        metric: "patch -> last open order cancelled at the simulator, p99",
        value: r.lastCancelMs.p99,
        unit: "ms",
        limit: 100,
        target: "<= 100 ms",
        note: endToEndNote(r),
      },
      {
        scenario: "7",
        metric: "operator stopped (SIGSTOP): patch -> last open order cancelled, p50",
        value: r.operatorStopped.lastCancelMs.p50,
        unit: "ms",
      },
      {
        scenario: "7",
        metric: "operator stopped (SIGSTOP): patch -> last open order cancelled, p99",
        value: r.operatorStopped.lastCancelMs.p99,
        unit: "ms",
        limit: 1000,
        target: "<= 1 s",
        note: endToEndNote(r.operatorStopped),
      },
    ],
  );
}

async function realFleetScenario(cluster: BenchCluster, postgres: PostgresServer, bots: number) {
  await scenario(
    `2r@${bots}`,
    `fleet halt of ${bots} real runtimes on the simulator by one KillSwitch`,
    () => measureRealFleetHalt(cluster, postgres, bots, log),
    (r) => [
      {
        scenario: "2",
        metric: `fleet halt of ${r.trading} real runtimes: KillSwitch created -> last open order cancelled at the simulator`,
        // With orders left open there is no last cancel to report: they are named instead.
        value: r.ordersLeftOpen.length > 0 ? undefined : r.lastCancelS,
        unit: "s",
        note: `${r.ordersLeftOpen.length > 0 ? `${r.ordersLeftOpen.length} bots still had open orders 120 s after the create (${r.ordersLeftOpen.slice(0, 5).join(", ")}); their runtimes' warnings: ${JSON.stringify(r.haltNotRecorded)}; logs in ${r.logsKeptIn}; ` : ""}times from ${r.reference} (the bench read its answer ${r.createAnsweredAfterMs} ms later); ${r.trading} of ${r.bots} bots started traded; per bot (ms): p50 ${r.botLastCancelMs.p50}, p99 ${r.botLastCancelMs.p99}, by decile (s): ${r.botLastCancelByDecileS.join(", ")}; ${r.openOrders} open orders in ${r.namespaces} namespaces; noticed by the runtime through: ${JSON.stringify(r.noticedBy)}; runtimes whose cancels failed (stop_failed): ${r.stopFailed}${r.stopFailed > 0 ? ` (${JSON.stringify(r.haltNotRecorded.slice(0, 2))})` : ""}; halt logged by the runtimes (ms) p50 ${r.haltLoggedMs.p50}, p99 ${r.haltLoggedMs.p99}, max ${r.haltLoggedMs.max} (${r.haltLoggedMs.runtimes} logs); halt watch restarts while trading (idle timeout / 410 / other): ${r.haltWatchRestartsBeforeHalt.idleTimeout} / ${r.haltWatchRestartsBeforeHalt.gone} / ${r.haltWatchRestartsBeforeHalt.other} over ${r.haltWatchRestartsBeforeHalt.runtimeMinutes} runtime-minutes; every phase Halted after ${r.everyPhaseHaltedS} s; fleet trading ${r.tradingS} s after it was applied; runtime RSS p50 ${r.runtimeRssMiB.p50} MiB, ${r.runtimeRssMiB.total} MiB in all, ${r.memAvailableGiB} GiB left available`,
      },
      {
        scenario: "2",
        metric: `  per bot (${r.trading} real runtimes): KillSwitch created -> its last order cancelled, p99`,
        value: r.botLastCancelMs.p99,
        unit: "ms",
      },
    ],
  );
}

async function fleetScenarios(cluster: BenchCluster) {
  const size = settings.size;
  const timeoutMs = Math.max(300_000, size * 600);
  const convergenceRows = (
    bots: number,
    rsSeconds: number | undefined,
    botsResult: { podsRunningS: number; botsReadyS?: number },
  ) => [
    {
      scenario: "3",
      metric: `${bots} TradingBots created -> every pod Running`,
      value: botsResult.podsRunningS,
      baseline: rsSeconds,
      unit: "s",
      ...(rsSeconds === undefined ? {} : { limit: 1.5 * rsSeconds, target: "<= 1.5x ReplicaSets" }),
    },
    {
      scenario: "3",
      metric: `${bots} TradingBots created -> every status Running`,
      value: botsResult.botsReadyS,
      unit: "s",
    },
  ];

  let replicaSetSeconds: number | undefined;
  if (selected(3)) {
    const rs = await scenario(
      "3a",
      `${size} single-replica ReplicaSets until every pod is Running (reference)`,
      () => replicaSetConvergence(cluster, size, timeoutMs, log),
      (r) => [
        {
          scenario: "3",
          metric: `${size} ReplicaSets created -> every pod Running (reference)`,
          value: r.podsRunningS,
          unit: "s",
        },
      ],
    );
    replicaSetSeconds = rs?.podsRunningS;
  }

  const fleet = await Fleet.open(cluster, log);
  try {
    const memoryReading = async () => {
      await fleet.settle();
      return fleet.memory();
    };
    const memoryToRows =
      (limitMiB?: number, targetText?: string) => (m: Awaited<ReturnType<Fleet["memory"]>>) => [
        {
          scenario: "5",
          metric: `operator RSS @ ${m.bots} bots`,
          value: m.rssMiB,
          unit: "MiB",
          ...(limitMiB === undefined ? {} : { limit: limitMiB, target: targetText }),
          note: `heap used ${m.heapUsedMiB} MiB of ${m.heapTotalMiB} MiB; /proc RSS ${m.procRssMiB} MiB, peak sampled ${m.peakRssMiB} MiB`,
        },
        {
          scenario: "5",
          metric: `operator's longest event-loop pause, up to ${m.bots} bots (what a halt could wait behind)`,
          value: m.maxEventLoopPauseMs,
          unit: "ms",
          limit: 50,
          target: "<= 50 ms",
        },
        { scenario: "5", metric: `operator heap used @ ${m.bots} bots`, value: m.heapUsedMiB, unit: "MiB" },
      ];
    if (selected(5)) await scenario("5@0", "operator memory with no bots", memoryReading, memoryToRows());

    const grown = await scenario(
      "3b",
      `${size} TradingBots created at once until every pod is Running`,
      () => fleet.grow(size, timeoutMs),
      (r) => (selected(3) ? convergenceRows(size, replicaSetSeconds, r) : []),
    );
    if (!grown) throw new Error(`the fleet of ${size} bots did not converge: scenarios 2, 4, 5 not run`);

    if (selected(5)) {
      await scenario(
        `5@${size}`,
        `operator memory with ${size} bots`,
        memoryReading,
        memoryToRows(size === 1000 ? 200 * MB_IN_MIB : undefined, "< 200 MB (190.7 MiB) @ 1000"),
      );
    }

    if (selected(4)) {
      await scenario(
        "4",
        `steady state: operator writes over ${settings.steadyMinutes} min idle and a forced full resync`,
        async () => {
          await fleet.settle();
          return fleet.steadyState(settings.steadyMinutes);
        },
        (r) => [
          {
            scenario: "4",
            metric: `operator writes over ${r.minutes} min idle (${size} bots), leader Lease excluded`,
            value: r.idleWritesExcludingLease,
            unit: "",
            limit: 0,
            target: "0",
            note: `all writes: ${JSON.stringify(r.idleWrites)}`,
          },
          {
            scenario: "4",
            metric: `operator writes through a full resync (SIGHUP, ${r.resyncReconciles} reconciles), Lease excluded`,
            value: r.resyncWritesExcludingLease,
            unit: "",
            limit: 0,
            target: "0",
            note: `all writes: ${JSON.stringify(r.resyncWrites)}; settled after ${r.resyncSettledS} s`,
          },
        ],
      );
    }

    let halted = false;
    const switchName = `bench-fleet-halt-${process.pid}`;
    if (selected(2)) {
      await fleet.settle();
      const result = await scenario(
        "2",
        `fleet halt of ${size} bots by one KillSwitch`,
        () => fleet.halt(switchName, timeoutMs),
        (r) => {
          const at1000 = r.bots === 1000;
          return [
            {
              scenario: "2",
              metric: `fleet halt of ${r.bots}: KillSwitch created -> every bot's own halt watch fired (last bot)`,
              value: r.botStoppedMs.max,
              unit: "ms",
              ...(at1000 ? { limit: 1000, target: "<= 1 s @ 1000" } : {}),
              note: `${r.bots} watches of the runtime's module in one process, as ${r.watchers.authenticatedAs}; sources: ${JSON.stringify(r.botStoppedSources)}; by decile (s): ${r.botStoppedByDecileS.join(", ")}; restarts of a list or watch: ${r.watchers.restarts}; the watchers' process: RSS ${r.watchers.processRssMiB} MiB, longest event-loop pause ${r.watchers.processPauses.longestEventLoopPauseMs} ms, longest GC ${r.watchers.processPauses.longestGcMs} ms (${r.watchers.processPauses.gcTotalMs} ms in all) until every bot halted`,
            },
            {
              scenario: "2",
              metric: "  per bot: KillSwitch created -> its halt watch fired, p50",
              value: r.botStoppedMs.p50,
              unit: "ms",
            },
            {
              scenario: "2",
              metric: "  per bot: KillSwitch created -> its halt watch fired, p99",
              value: r.botStoppedMs.p99,
              unit: "ms",
            },
            {
              scenario: "2",
              metric: `fleet halt of ${r.bots}: every pod deletion requested, every status Halted=True`,
              value: r.fleetHaltS,
              unit: "s",
              note: `deletions seen by decile (s): ${r.deletesSeenByDecileS.join(", ")}; Halted=True by decile (s): ${r.haltRecordedByDecileS.join(", ")}; phase Halted by decile (s): ${r.haltedByDecileS.join(", ")}; 429 answers: ${r.throttled}; CPU seconds until then (of ${(availableParallelism() * r.fleetHaltS).toFixed(1)} on ${availableParallelism()} cores): ${Object.entries(
                r.controlPlaneCpuSecondsToHalt,
              )
                .map(([process, seconds]) => `${process} ${seconds}`)
                .join(", ")}`,
            },
            {
              scenario: "2",
              metric: "  of which: every pod deletion seen",
              value: r.allDeletesSeenS,
              unit: "s",
              ...(at1000 ? { limit: 3, target: "<= 3 s @ 1000" } : {}),
            },
            {
              scenario: "2",
              metric: "  of which: every status condition Halted=True",
              value: r.allHaltRecordedS,
              unit: "s",
              ...(at1000 ? { limit: 10, target: "<= 10 s @ 1000" } : {}),
            },
            {
              scenario: "2",
              metric: `fleet halt of ${r.bots}, until every status phase Halted (pods gone)`,
              value: r.fleetHaltedPhaseS,
              unit: "s",
              ...(at1000 ? { limit: 10, target: "<= 10 s @ 1000" } : {}),
            },
            ...(r.auditLastDeleteS === undefined
              ? []
              : [
                  {
                    scenario: "2",
                    metric: "audit log: KillSwitch created -> last pod DELETE by the operator",
                    value: r.auditLastDeleteS,
                    unit: "s",
                  },
                ]),
            ...(r.apiServerCpuMsPerBot === undefined
              ? []
              : [
                  {
                    scenario: "2",
                    metric: "API server CPU per bot halted (create -> every DELETE and Halted=True)",
                    value: r.apiServerCpuMsPerBot,
                    unit: "ms",
                    note: `kube-apiserver ${r.controlPlaneCpuSecondsToHalt["kube-apiserver"]} CPU s over ${r.fleetHaltS} s for ${r.bots} bots, serving the operator's writes and the bots' watches`,
                  },
                ]),
          ];
        },
      );
      await scenario(
        "2w",
        "what the API server spends per write: TradingBot status beside ConfigMap",
        () => measureWriteCost(cluster, { objects: size, rounds: 3, log }),
        (r) => [
          {
            scenario: "2",
            metric: "API server CPU per TradingBot status write (median of 3 x N), vs a ConfigMap write",
            value: r.tradingBotStatusMs,
            unit: "ms",
            baseline: r.configMapMs,
            note: `per round (TradingBot status / ConfigMap, ms): ${r.perRound.map((x) => `${x.tradingBotStatusMs.toFixed(2)} / ${x.configMapMs.toFixed(2)}`).join(", ")}`,
          },
        ],
      );
      halted = result !== undefined;
    }

    if (selected(5)) {
      if (settings.large > size) {
        await scenario(
          `5@${settings.large}`,
          `operator memory with ${settings.large} bots`,
          async () => {
            if (halted) log(`fleet released after ${await fleet.release(switchName, timeoutMs)} s`);
            const grownLarge = await fleet.grow(settings.large, Math.max(timeoutMs, settings.large * 120));
            log(`${settings.large} bots converged: ${JSON.stringify(grownLarge)}`);
            await fleet.settle();
            return { ...(await fleet.memory()), convergence: grownLarge };
          },
          (m) => [
            ...memoryToRows(
              settings.large === 10_000 ? 400 * MB_IN_MIB : undefined,
              "< 400 MB (381.5 MiB) @ 10,000",
            )(m),
            {
              scenario: "3",
              metric: `${m.convergence.count} more TradingBots -> every pod Running (to ${settings.large})`,
              value: m.convergence.podsRunningS,
              unit: "s",
            },
          ],
        );
      } else {
        notRun.push(
          `5: operator memory at a larger fleet (--large ${settings.large} is not above --size ${size})`,
        );
      }
    }
  } finally {
    // A control plane started here is thrown away whole; an existing cluster gets its namespaces back.
    await fleet.stop(cluster.auditLogPath === undefined);
  }
}

const startedAt = new Date();
const datedPath = join(
  resultsDir,
  `${startedAt
    .toISOString()
    .replace(/:/g, "-")
    .replace(/\.\d+Z$/, "Z")}.json`,
);
const machine: MachineFacts = machineFacts(
  REPO_ROOT,
  parseVersions(readFileSync(join(REPO_ROOT, "test", "cluster", "versions.env"), "utf8")),
);

/** Writes latest.json and the dated copy; after every scenario too, so an interrupted run keeps its figures. */
function writeResults(finished: boolean) {
  const now = new Date();
  const result = {
    startedAt: startedAt.toISOString(),
    finishedAt: finished ? now.toISOString() : undefined,
    wallMinutes: Math.round((now.getTime() - startedAt.getTime()) / 6000) / 10,
    settings,
    machine,
    rows: rows.map((row) => ({ ...row, met: verdict(row) })),
    notRun,
    markdown: renderMarkdown(rows),
    scenarios: records,
  };
  const text = `${JSON.stringify(result, null, 2)}\n`;
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, "latest.json"), text);
  writeFileSync(datedPath, text);
}

async function main() {
  log(`settings ${JSON.stringify(settings)}; load ${machine.loadBefore.join(" ")}`);
  for (const id of [1, 2, 3, 4, 5, 6, 7, 8]) if (!selected(id)) notRun.push(`${id}: not selected (--only)`);

  const realFleet = selected(2) && settings.realBots.length > 0;
  if (selected(2) && !realFleet) notRun.push("2 with real runtimes: --real-bots 0");
  const needsPostgres = selected(6) || selected(7) || realFleet;
  const needsCluster = [1, 2, 3, 4, 5, 7, 8].some(selected);
  const postgres = needsPostgres ? await startPostgres() : undefined;
  try {
    // The runtime first, while the control plane does not run yet.
    if (selected(6) && postgres) await runtimeScenario(postgres);
    if (needsCluster) {
      const fleetSize = [2, 3, 4, 5].some(selected)
        ? Math.max(settings.size, selected(5) ? settings.large : 0)
        : 0;
      const cluster = await openBenchCluster(log, fleetSize);
      try {
        if (selected(1)) await haltLatencyScenario(cluster);
        if (selected(7) && postgres) await endToEndScenario(cluster, postgres);
        if (selected(8)) await consoleScenario(cluster);
        if ([2, 3, 4, 5].some(selected)) {
          try {
            await fleetScenarios(cluster);
          } catch (error) {
            log((error as Error).message);
            notRun.push((error as Error).message);
          }
        }
        // Last: a hundred runtimes load the machine for minutes after they are gone.
        if (realFleet && postgres) {
          for (const bots of settings.realBots) await realFleetScenario(cluster, postgres, bots);
        }
      } finally {
        await cluster.stop();
      }
    }
  } finally {
    await postgres?.stop();
  }

  machine.loadAfter = loadAverage();
  const table = renderTable(rows);
  console.log(`\n${table}\n`);
  if (notRun.length > 0) console.log(`not run:\n  ${notRun.join("\n  ")}\n`);
  writeResults(true);
  log(`results in ${join(resultsDir, "latest.json")} and ${datedPath}`);
  if (records.some((record) => record.error)) process.exitCode = 1;
}

await main();
