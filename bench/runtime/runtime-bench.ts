// Benchmark of one bot runtime against the exchange simulator and a private PostgreSQL (issue 9, scenario 6):
//  - start-up: process spawn to `listening` and to `trading`;
//  - resident memory while trading (a grid bot with the price moved every few seconds, so it places,
//    fills and cancels), sampled from /proc;
//  - SIGTERM with 50 open orders: time until the simulator lists none, and until the process has exited;
//  - orders per second through the whole path: strategy, rounding, risk gate, intent written to the
//    database, ccxt request, simulator, answer written to the database.
//
// Scenario 6 of `make bench` (bench/run.ts); standalone:
// usage: node bench/runtime/runtime-bench.ts [--trade-minutes N] [--repeat N] [--out FILE]
//          [--entry dist/bot-runtime/main.js] [--node-options="--max-semi-space-size=1"] [--malloc-arena-max 2]
// By default the runtime runs from source (TypeScript stripped by Node at load, which costs memory and
// start-up time); --entry runs the compiled build as the container does.
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { ExchangeSim } from "../../exchange-sim/index.ts";
import {
  type BotDatabase,
  cleanup,
  createBotDatabase,
  RuntimeProcess,
  type SimAccount,
  scratchDir,
  startSimulator,
  writeBot,
} from "../../test/bot-runtime/fixtures.ts";
import { type PostgresEndpoint, startPostgres } from "../../test/postgres/index.ts";
import { waitFor } from "../../test/support/wait-for.ts";

export interface RuntimeBenchOptions {
  tradeMinutes: number;
  repeat: number;
  /** The runtime's entry point; the sources (bot-runtime/main.ts) when left out. */
  entry?: string;
  nodeArgs?: string[];
  env?: Record<string, string>;
}

type RuntimeProcessOptions = { entry?: string; nodeArgs: string[]; env: Record<string, string> };

const roomyRisk = {
  maxOrderQuote: "100",
  maxPositionQuote: "100000",
  maxDailyLossQuote: "10000",
  maxDrawdownPct: "90",
  maxOpenOrders: 200,
  maxOrdersPerMinute: 600,
  priceBandPct: "20",
};

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((entry) => entry.startsWith("VmRSS:"));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

/** Anonymous (private) memory: RSS without the shared, clean pages of the node binary and libraries. */
function anonymousMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8")
    .split("\n")
    .find((entry) => entry.startsWith("Anonymous:"));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

function quantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const openAtExchange = (sim: ExchangeSim, account: SimAccount) =>
  sim.orders({ apiKey: account.apiKey }).filter((order) => order.status === "NEW");

function gridBelow(price: number, buys: number) {
  return {
    type: "grid" as const,
    grid: {
      lowerPrice: (price * 0.9).toFixed(2),
      upperPrice: (price * 0.999).toFixed(2),
      levels: buys + 1,
      quotePerOrder: "10",
    },
  };
}

async function tradingMemory(
  db: BotDatabase,
  dir: string,
  tradeMinutes: number,
  runtimeProcess: RuntimeProcessOptions,
) {
  const { sim, account } = await startSimulator({ balances: { USDT: "100000", BTC: "1" } });
  const price = Number(sim.price("BTCUSDT"));
  const setup = writeBot(`${dir}/memory`, sim, account, {
    symbol: "BTC/USDT",
    strategy: {
      type: "grid",
      grid: {
        lowerPrice: (price * 0.95).toFixed(2),
        upperPrice: (price * 1.05).toFixed(2),
        levels: 21,
        quotePerOrder: "20",
      },
    },
    risk: roomyRisk,
    onStop: "CancelOrders",
  });
  const spawned = performance.now();
  const bot = RuntimeProcess.start(
    setup,
    db.tradingCredentials,
    ["--tick-interval-ms", "1000"],
    runtimeProcess,
  );
  await bot.waitForEvent("listening", 60_000);
  const listeningMs = performance.now() - spawned;
  await bot.waitForEvent("trading", 60_000);
  const tradingMs = performance.now() - spawned;
  const pid = bot.child.pid as number;
  const samples: { atS: number; rssMiB: number; anonymousMiB: number }[] = [];
  const started = Date.now();
  let step = 0;
  while (Date.now() - started < tradeMinutes * 60_000) {
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    step += 1;
    sim.setPrice({ symbol: "BTCUSDT", movePct: step % 4 < 2 ? -0.7 : 0.7 });
    samples.push({
      atS: Math.round((Date.now() - started) / 1000),
      rssMiB: rssMiB(pid),
      anonymousMiB: anonymousMiB(pid),
    });
  }
  const orders = sim.orders({ apiKey: account.apiKey }).length;
  const fills = sim.trades({ apiKey: account.apiKey }).length;
  await bot.stop();
  await sim.close();
  return {
    startupToListeningMs: Math.round(listeningMs),
    startupToTradingMs: Math.round(tradingMs),
    rssMiBAtStart: samples[0]?.rssMiB,
    rssMiBSteadyState: samples.at(-1)?.rssMiB,
    rssMiBMax: Math.max(...samples.map((sample) => sample.rssMiB)),
    anonymousMiBSteadyState: samples.at(-1)?.anonymousMiB,
    orders,
    fills,
    samples,
  };
}

async function sigtermWithFiftyOrders(
  db: BotDatabase,
  dir: string,
  repeat: number,
  runtimeProcess: RuntimeProcessOptions,
) {
  const cancelledMs: number[] = [];
  const exitedMs: number[] = [];
  for (let run = 0; run < repeat; run++) {
    const { sim, account } = await startSimulator();
    const setup = writeBot(`${dir}/sigterm-${run}`, sim, account, {
      symbol: "BTC/USDT",
      strategy: gridBelow(Number(sim.price("BTCUSDT")), 50),
      risk: roomyRisk,
      onStop: "CancelOrders",
    });
    const bot = RuntimeProcess.start(
      setup,
      db.tradingCredentials,
      ["--tick-interval-ms", "200"],
      runtimeProcess,
    );
    await waitFor(() => openAtExchange(sim, account).length === 50, {
      what: "50 open orders",
      timeoutMs: 120_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const signalled = performance.now();
    bot.child.kill("SIGTERM");
    let cancelled: number | undefined;
    const watch = setInterval(() => {
      if (cancelled === undefined && openAtExchange(sim, account).length === 0)
        cancelled = performance.now() - signalled;
    }, 1);
    const exit = await bot.exited;
    exitedMs.push(performance.now() - signalled);
    clearInterval(watch);
    if (exit.code !== 0 || cancelled === undefined)
      throw new Error(`run ${run}: exit ${JSON.stringify(exit)}, cancelled ${cancelled}`);
    cancelledMs.push(cancelled);
    await sim.close();
  }
  return {
    runs: repeat,
    allCancelledMsP50: Math.round(quantile(cancelledMs, 0.5)),
    allCancelledMsMax: Math.round(Math.max(...cancelledMs)),
    exitedMsP50: Math.round(quantile(exitedMs, 0.5)),
    exitedMsMax: Math.round(Math.max(...exitedMs)),
    cancelledMs: cancelledMs.map(Math.round),
    exitedMs: exitedMs.map(Math.round),
  };
}

async function ordersPerSecond(
  db: BotDatabase,
  dir: string,
  repeat: number,
  runtimeProcess: RuntimeProcessOptions,
) {
  const rates: number[] = [];
  for (let run = 0; run < repeat; run++) {
    const { sim, account } = await startSimulator();
    const setup = writeBot(`${dir}/rate-${run}`, sim, account, {
      symbol: "BTC/USDT",
      strategy: gridBelow(Number(sim.price("BTCUSDT")), 99),
      risk: roomyRisk,
      onStop: "CancelOrders",
    });
    const bot = RuntimeProcess.start(
      setup,
      db.tradingCredentials,
      ["--tick-interval-ms", "200"],
      runtimeProcess,
    );
    await waitFor(() => bot.events("order_placed").length >= 99, {
      what: "99 orders placed",
      timeoutMs: 120_000,
    });
    const times = bot.events("order_placed").map((line) => Date.parse(String(line.time)));
    const first = times[0] as number;
    const last = times[98] as number;
    rates.push((98 * 1000) / Math.max(1, last - first));
    await bot.stop();
    await sim.close();
  }
  return {
    runs: repeat,
    ordersPerSecondP50: Math.round(quantile(rates, 0.5)),
    ordersPerSecond: rates.map(Math.round),
  };
}

/** Scenario 6 of `make bench` against a running PostgreSQL server: every sample, as data. */
export async function runtimeBench(postgres: PostgresEndpoint, options: RuntimeBenchOptions) {
  const runtimeProcess: RuntimeProcessOptions = {
    ...(options.entry === undefined ? {} : { entry: resolve(options.entry) }),
    nodeArgs: options.nodeArgs ?? [],
    env: options.env ?? {},
  };
  const dir = scratchDir("runtime-bench");
  try {
    const db = await createBotDatabase("bench_runtime", postgres, `${dir}/secrets`);
    return {
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      at: new Date().toISOString(),
      tradeMinutes: options.tradeMinutes,
      // The entry as the repository names it: results are compared across machines.
      runtime: {
        ...runtimeProcess,
        entry:
          runtimeProcess.entry === undefined
            ? "bot-runtime/main.ts (source)"
            : relative(process.cwd(), runtimeProcess.entry),
      },
      sigterm: await sigtermWithFiftyOrders(db, dir, options.repeat, runtimeProcess),
      throughput: await ordersPerSecond(db, dir, options.repeat, runtimeProcess),
      memory: await tradingMemory(db, dir, options.tradeMinutes, runtimeProcess),
    };
  } finally {
    cleanup(dir);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      "trade-minutes": { type: "string", default: "5" },
      repeat: { type: "string", default: "5" },
      out: { type: "string" },
      entry: { type: "string" },
      "node-options": { type: "string" },
      "malloc-arena-max": { type: "string" },
    },
  });
  const tradeMinutes = Number(values["trade-minutes"]);
  const postgres = await startPostgres();
  try {
    const results = await runtimeBench(postgres, {
      tradeMinutes,
      repeat: Number(values.repeat),
      ...(values.entry === undefined ? {} : { entry: values.entry }),
      nodeArgs: values["node-options"]?.split(/\s+/).filter((flag) => flag !== "") ?? [],
      env: values["malloc-arena-max"] === undefined ? {} : { MALLOC_ARENA_MAX: values["malloc-arena-max"] },
    });
    console.table({
      "start-up to listening (ms)": results.memory.startupToListeningMs,
      "start-up to trading (ms)": results.memory.startupToTradingMs,
      [`RSS after ${tradeMinutes} min trading (MiB)`]: results.memory.rssMiBSteadyState?.toFixed(1),
      "RSS max (MiB)": results.memory.rssMiBMax.toFixed(1),
      "of which private (anonymous) at the end (MiB)": results.memory.anonymousMiBSteadyState?.toFixed(1),
      "SIGTERM -> 50 cancelled, p50 (ms)": results.sigterm.allCancelledMsP50,
      "SIGTERM -> 50 cancelled, max (ms)": results.sigterm.allCancelledMsMax,
      "SIGTERM -> exited, p50 (ms)": results.sigterm.exitedMsP50,
      "orders/s through risk gate + DB, p50": results.throughput.ordersPerSecondP50,
    });
    if (values.out !== undefined) writeFileSync(values.out, `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await postgres.stop();
  }
}
