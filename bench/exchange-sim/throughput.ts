// Order placements per second the exchange simulator sustains on one core, through its HTTP API with signed
// requests: raw node:http clients and ccxt's binance class. The simulator runs as its own process (pinned to
// one CPU with taskset when available); its CPU time is read from /proc to report orders per CPU-second.
//
// Usage: node bench/exchange-sim/throughput.ts [RESULTS.json] [--seconds N] [--concurrency N]
// Prints a table; writes the raw samples as JSON to RESULTS.json, or to stdout when no path is given.

import { spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import ccxt from "ccxt";
import { binanceConfigForEndpoint } from "../../bot-runtime/exchange/binance-urls.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { seconds: { type: "string", default: "5" }, concurrency: { type: "string", default: "32" } },
});
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const WARMUP_MS = 1000;
const API_KEY = "bench-key";
const SECRET = "bench-secret";
const outputPath = positionals[0];

interface ScenarioResult {
  scenario: string;
  client: "node:http" | "ccxt";
  concurrency: number;
  seconds: number;
  orders: number;
  errors: number;
  ordersPerSecond: number;
  simCpuSeconds: number;
  simCpuShare: number;
  ordersPerSimCpuSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  ordersPerWallSecond: number[];
}

/** Starts the simulator CLI as a child process and resolves with its URL and pid. */
async function startSimulator(directory: string) {
  const accounts = join(directory, "accounts.json");
  writeFileSync(
    accounts,
    JSON.stringify([{ apiKey: API_KEY, secret: SECRET, balances: { USDT: "1000000000", BTC: "100000" } }]),
  );
  const main = fileURLToPath(new URL("../../exchange-sim/main.ts", import.meta.url));
  const limits = JSON.stringify({ requestWeightPerMinute: 1e9, ordersPer10Seconds: 1e9, ordersPerDay: 1e12 });
  const args = [main, "--port", "0", "--accounts", accounts, "--seed", "bench", "--rate-limits", limits];
  const pinned = spawnSync("taskset", ["--version"]).status === 0;
  const child = pinned
    ? spawn("taskset", ["-c", "0", process.execPath, ...args], { stdio: ["ignore", "pipe", "inherit"] })
    : spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve, reject) => {
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (\S+)/.exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.on("exit", (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  return { child, url, pinned };
}

/** utime + stime of a process, in seconds (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  const ticksPerSecond = 100;
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Runs `place` from `concurrency` loops for the duration; counts successes after the warm-up. */
async function drive(
  name: string,
  client: ScenarioResult["client"],
  simPid: number,
  place: (n: number) => Promise<boolean>,
): Promise<ScenarioResult> {
  const warmupEnd = Date.now() + WARMUP_MS;
  const end = warmupEnd + SECONDS * 1000;
  const latencies: number[] = [];
  const perSecond = new Array<number>(SECONDS).fill(0);
  let orders = 0;
  let errors = 0;
  let counter = 0;
  let cpuAtStart = 0;
  let measuring = false;
  const loop = async () => {
    while (Date.now() < end) {
      const started = performance.now();
      const ok = await place(counter++).catch(() => false);
      const now = Date.now();
      if (now < warmupEnd || now >= end) continue;
      if (!measuring) {
        measuring = true;
        cpuAtStart = cpuSeconds(simPid);
      }
      if (!ok) {
        errors++;
        continue;
      }
      orders++;
      latencies.push(performance.now() - started);
      const bucket = Math.floor((now - warmupEnd) / 1000);
      perSecond[bucket] = (perSecond[bucket] ?? 0) + 1;
    }
  };
  await new Promise((resolve) => setTimeout(resolve, 0));
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  const simCpuSeconds = cpuSeconds(simPid) - cpuAtStart;
  latencies.sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    scenario: name,
    client,
    concurrency: CONCURRENCY,
    seconds: SECONDS,
    orders,
    errors,
    ordersPerSecond: Math.round(orders / SECONDS),
    simCpuSeconds: round(simCpuSeconds),
    simCpuShare: round(simCpuSeconds / SECONDS),
    ordersPerSimCpuSecond: simCpuSeconds > 0 ? Math.round(orders / simCpuSeconds) : 0,
    latencyMs: {
      p50: round(percentile(latencies, 50)),
      p90: round(percentile(latencies, 90)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies[latencies.length - 1] ?? 0),
    },
    ordersPerWallSecond: perSecond,
  };
}

/** Signed POST /api/v3/order (or an unsigned GET) over a keep-alive node:http agent. */
function rawClient(url: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const { hostname, port } = new URL(url);
  const send = (method: string, path: string, body: string, headers: Record<string, string | number>) =>
    new Promise<boolean>((resolve, reject) => {
      const call = request({ agent, hostname, port, method, path, headers }, (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode === 200));
      });
      call.on("error", reject);
      call.end(body);
    });
  return {
    get: (path: string) => send("GET", path, "", {}),
    order: (params: string) => {
      const query = `${params}&timestamp=${Date.now()}`;
      const body = `${query}&signature=${createHmac("sha256", SECRET).update(query).digest("hex")}`;
      return send("POST", "/api/v3/order", body, {
        "X-MBX-APIKEY": API_KEY,
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Length": Buffer.byteLength(body),
      });
    },
  };
}

async function main(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), "exchange-sim-bench-"));
  const sim = await startSimulator(directory);
  const pid = sim.child.pid ?? 0;
  const results: ScenarioResult[] = [];
  try {
    const raw = rawClient(sim.url);
    // The HTTP round trip alone, for scale.
    results.push(
      await drive("GET /api/v3/ping (HTTP floor)", "node:http", pid, () => raw.get("/api/v3/ping")),
    );
    results.push(
      await drive("MARKET orders, FULL response", "node:http", pid, (n) =>
        raw.order(
          `symbol=BTCUSDT&side=${n % 2 === 0 ? "BUY" : "SELL"}&type=MARKET&quantity=0.001&newOrderRespType=FULL`,
        ),
      ),
    );
    results.push(
      await drive("LIMIT IOC orders (not marketable)", "node:http", pid, (n) =>
        raw.order(
          `symbol=BTCUSDT&side=${n % 2 === 0 ? "BUY" : "SELL"}&type=LIMIT&timeInForce=IOC&quantity=0.001&price=${n % 2 === 0 ? "50000" : "70000"}`,
        ),
      ),
    );
    const exchange = new ccxt.binance({
      apiKey: API_KEY,
      secret: SECRET,
      enableRateLimit: false,
      ...binanceConfigForEndpoint(sim.url),
    });
    await exchange.loadMarkets();
    results.push(
      await drive("MARKET orders via ccxt createOrder", "ccxt", pid, async (n) => {
        await exchange.createOrder("BTC/USDT", "market", n % 2 === 0 ? "buy" : "sell", 0.001);
        return true;
      }),
    );
  } finally {
    sim.child.kill("SIGTERM");
    rmSync(directory, { recursive: true, force: true });
  }

  const environment = {
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown",
    cpuCount: cpus().length,
    simulatorPinnedToOneCpu: sim.pinned,
    seconds: SECONDS,
    concurrency: CONCURRENCY,
  };
  const table = [
    `exchange simulator throughput (${environment.cpu}, node ${environment.node}, simulator ${sim.pinned ? "pinned to CPU 0" : "not pinned"})`,
    "scenario                               client     orders/s  sim CPU  orders/CPU-s  p50 ms  p99 ms  errors",
    ...results.map(
      (result) =>
        `${result.scenario.padEnd(38)} ${result.client.padEnd(9)} ${String(result.ordersPerSecond).padStart(9)} ${`${Math.round(result.simCpuShare * 100)}%`.padStart(8)} ${String(result.ordersPerSimCpuSecond).padStart(13)} ${String(result.latencyMs.p50).padStart(7)} ${String(result.latencyMs.p99).padStart(7)} ${String(result.errors).padStart(7)}`,
    ),
  ].join("\n");
  const report = JSON.stringify({ benchmark: "exchange-sim/throughput", environment, results }, null, 2);
  if (outputPath === undefined) {
    console.error(table);
    console.log(report);
  } else {
    console.log(table);
    writeFileSync(outputPath, `${report}\n`);
  }
}

await main();
