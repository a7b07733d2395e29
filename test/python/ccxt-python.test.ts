import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binanceUrlsForEndpoint } from "../../bot-runtime/exchange/binance-urls.ts";
import { type ExchangeSim, startExchangeSim } from "../../exchange-sim/index.ts";

// Python ccxt from PyPI (the pin of requirements.txt, installed once into .tools/ by ensure-ccxt.sh) with its
// default options, against the exchange simulator: what a Python ccxt bot does when it starts.

const ensureCcxt = fileURLToPath(new URL("./ensure-ccxt.sh", import.meta.url));
const clientScript = fileURLToPath(new URL("./ccxt_default_client.py", import.meta.url));
// The npm package's own `version` constant can lag its release, so the lock file says which ccxt JS runs.
const npmCcxtVersion = (
  JSON.parse(readFileSync(new URL("../../package-lock.json", import.meta.url), "utf8")) as {
    packages: Record<string, { version: string }>;
  }
).packages["node_modules/ccxt"]?.version;

/** Runs a command to its end; fails with its stderr when it exits non-zero. */
function run(command: string, args: string[], input = ""): Promise<string> {
  return new Promise((resolve, reject) => {
    // Loopback never goes through a proxy that the environment may name for Python's requests.
    const noProxy = ["127.0.0.1", "localhost", process.env.NO_PROXY].filter(Boolean).join(",");
    const child = spawn(command, args, { env: { ...process.env, NO_PROXY: noProxy, no_proxy: noProxy } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${stderr}`));
    });
    child.stdin.end(input);
  });
}

type ClientReport = {
  ccxtVersion: string;
  options: { fetchCurrencies: boolean; fetchMargins: boolean; fetchMarketsTypes: string[] };
  markets: Record<string, { type: string; margin: boolean; marginModes: Record<string, boolean> }>;
  quoteCurrency: { deposit: boolean; withdraw: boolean; precision: number; active: boolean };
  balance: Record<string, { free: number; used: number; total: number }>;
  placed: { id: string; status: string; price: number; amount: number };
  openOrderIds: string[];
  canceled: { id: string; status: string };
};

describe("Python ccxt with default options against the exchange simulator", () => {
  let python: string;
  let sim: ExchangeSim;
  beforeAll(async () => {
    // The first run installs ccxt from PyPI; later runs find the environment ready.
    python = (await run("bash", [ensureCcxt])).trim().split("\n").at(-1) as string;
    sim = await startExchangeSim({
      seed: "python-ccxt",
      accounts: [{ apiKey: "py-bot", secret: "py-secret", balances: { USDT: "10000", BTC: "0.5" } }],
    });
  }, 600_000);
  afterAll(() => sim?.close());

  it("loads spot markets, fetches the balance, and places and cancels an order at the exchange", async () => {
    const price = Math.floor(Number(sim.price("BTCUSDT")) / 2);
    const output = await run(
      python,
      [clientScript],
      JSON.stringify({
        apiKey: "py-bot",
        secret: "py-secret",
        urls: binanceUrlsForEndpoint(sim.url),
        symbol: "BTC/USDT",
        amount: 0.01,
        price,
      }),
    );
    const report = JSON.parse(output) as ClientReport;

    expect(report.ccxtVersion, "test/python/requirements.txt pins the npm ccxt's version").toBe(
      npmCcxtVersion,
    );
    expect(report.options).toEqual({
      fetchCurrencies: true,
      fetchMargins: true,
      fetchMarketsTypes: ["spot", "linear", "inverse"],
    });
    expect(Object.keys(report.markets).sort()).toEqual([
      "BNB/USDT",
      "BTC/USDT",
      "ETH/BTC",
      "ETH/USDT",
      "SOL/USDT",
    ]);
    for (const market of Object.values(report.markets)) {
      expect(market).toEqual({ type: "spot", margin: false, marginModes: { cross: false, isolated: false } });
    }
    expect(report.quoteCurrency).toEqual({
      deposit: false,
      withdraw: false,
      precision: 0.00000001,
      active: true,
    });
    expect(report.balance.USDT).toMatchObject({ free: 10000, used: 0, total: 10000 });
    expect(report.balance.BTC).toMatchObject({ free: 0.5, used: 0, total: 0.5 });
    expect(report.placed).toMatchObject({ status: "open", price, amount: 0.01 });
    expect(report.openOrderIds).toEqual([report.placed.id]);
    expect(report.canceled).toEqual({ id: report.placed.id, status: "canceled" });

    // At the exchange: the order was placed and is cancelled, and every loadMarkets call was answered.
    expect(sim.orders({ apiKey: "py-bot" })).toEqual([
      expect.objectContaining({ orderId: Number(report.placed.id), side: "BUY", status: "CANCELED" }),
    ]);
    expect(sim.accounts({ apiKey: "py-bot" })[0]?.balances.USDT).toEqual({
      free: "10000.00000000",
      locked: "0.00000000",
    });
    const answered = sim.requests().map((entry) => `${entry.method} ${entry.path} ${entry.status}`);
    expect(answered).toEqual(
      expect.arrayContaining([
        "GET /sapi/v1/capital/config/getall 200",
        "GET /sapi/v1/margin/allPairs 200",
        "GET /sapi/v1/margin/isolated/allPairs 200",
        "GET /api/v3/exchangeInfo 200",
        "GET /fapi/v1/exchangeInfo 200",
        "GET /dapi/v1/exchangeInfo 200",
      ]),
    );
    expect(answered.filter((line) => !line.endsWith(" 200"))).toEqual([]);
  });
});
