// With a planted API key, secret and database password, and errors forced on every path (5xx, hanging
// requests, lost answers, a 429 storm, clock skew, a revoked key, a bad signature, a refused database
// password, an unreachable database, an Ed25519 key), neither value appears in any log line, metric or
// status output: not raw, not JSON-escaped, not URL-encoded, not one PEM line at a time.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUNTIME_EXIT_CODES } from "../../api/v1alpha1/runtime-config.ts";
import type { ExchangeSim } from "../../exchange-sim/index.ts";
import { startExchangeSim } from "../../exchange-sim/index.ts";
import { waitFor } from "../support/wait-for.ts";
import { type BotDatabase, cleanup, RuntimeProcess, scratchDir, writeBot } from "./fixtures.ts";
import { createSuiteDatabase } from "./harness.ts";

let db: BotDatabase;
const dir = scratchDir("rt-secrets");
const sims: ExchangeSim[] = [];
let databasePassword = "";

const apiKey = `PLANTEDkey${randomBytes(16).toString("hex")}`;
const secret = `PLANTEDsecret${randomBytes(16).toString("hex")}`;
const ed25519 = generateKeyPairSync("ed25519");
const ed25519Key = `PLANTEDed25519${randomBytes(8).toString("hex")}`;
const privatePem = ed25519.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
const publicPem = ed25519.publicKey.export({ format: "pem", type: "spki" }).toString();

const risk = {
  maxOrderQuote: "100",
  maxPositionQuote: "5000",
  maxDailyLossQuote: "1000",
  maxDrawdownPct: "50",
  maxOpenOrders: 20,
  maxOrdersPerMinute: 300,
  priceBandPct: "10",
};

beforeAll(async () => {
  db = await createSuiteDatabase("rt_secrets");
  databasePassword = readFileSync(join(db.tradingCredentials, "password"), "utf8").trim();
});

afterAll(async () => {
  await Promise.all(sims.map((sim) => sim.close()));
  cleanup(dir);
});

function forms(value: string): string[] {
  const lines = value
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length >= 16 && !line.startsWith("-----"));
  return [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value), ...lines];
}

function expectNoSecrets(text: string, where: string) {
  for (const planted of [apiKey, secret, ed25519Key, privatePem, databasePassword]) {
    for (const form of forms(planted)) {
      if (text.includes(form)) throw new Error(`${where} contains a secret (${form.slice(0, 12)}...)`);
    }
  }
}

async function simWith(accounts: Parameters<typeof startExchangeSim>[0]["accounts"]) {
  const sim = await startExchangeSim({ seed: 3, accounts });
  sims.push(sim);
  return sim;
}

function gridFor(sim: ExchangeSim) {
  const price = Number(sim.price("BTCUSDT"));
  return {
    type: "grid" as const,
    grid: {
      lowerPrice: (price * 0.97).toFixed(2),
      upperPrice: (price * 1.03).toFixed(2),
      levels: 13,
      quotePerOrder: "20",
    },
  };
}

describe("secrets never leave the process", () => {
  it("stay out of logs, metrics and status through exchange faults and a revoked key", async () => {
    const sim = await simWith([{ apiKey, secret, balances: { USDT: "20000" } }]);
    const setup = writeBot(
      `${dir}/faults`,
      sim,
      { apiKey, secret },
      { symbol: "BTC/USDT", strategy: gridFor(sim), risk, onStop: "CancelOrders" },
    );
    const bot = RuntimeProcess.start(setup, db.tradingCredentials);
    await bot.waitForEvent("trading");
    sim.setFaults({ errorRate5xx: 0.3, hangRate: 0.02, dropResponseAfterOrderAccepted: { rate: 0.3 } });
    await waitFor(() => bot.events("exchange_error").length + bot.events("order_unknown").length >= 3, {
      what: `errors logged\n${bot.tail()}`,
      timeoutMs: 60_000,
    });
    sim.setFaults({ clear: true, clockSkewMs: 20_000 });
    await bot.waitForEvent("clock_resynced");
    sim.setFaults({ clear: true, rate429Storm: { durationMs: 1_500 } });
    await bot.waitForEvent("rate_limited");
    const metrics = (await bot.get("/metrics")).body;
    const status = (await bot.get("/status")).body;
    expect(metrics).toContain("tradingbot_runtime_exchange_errors_total");
    expectNoSecrets(metrics, "/metrics");
    expectNoSecrets(status, "/status");

    sim.setFaults({ clear: true });
    sim.revokeKey(apiKey);
    expect(await bot.exited).toEqual({ code: RUNTIME_EXIT_CODES.unsafeCredentials, signal: null });
    expect(bot.events("authentication failed").length).toBeGreaterThanOrEqual(3);
    expectNoSecrets(bot.raw, "the log");
  });

  it("stay out of the log when the exchange rejects the signature at start", async () => {
    const sim = await simWith([
      { apiKey, secret: "the-exchange-knows-another-secret", balances: { USDT: "100" } },
    ]);
    const setup = writeBot(
      `${dir}/bad-signature`,
      sim,
      { apiKey, secret },
      { symbol: "BTC/USDT", strategy: gridFor(sim), risk, onStop: "CancelOrders" },
    );
    const bot = RuntimeProcess.start(setup, db.tradingCredentials);
    expect(await bot.exited).toEqual({ code: RUNTIME_EXIT_CODES.unsafeCredentials, signal: null });
    expect(bot.events("authentication failed")).toHaveLength(1);
    expectNoSecrets(bot.raw, "the log");
  });

  it("stay out of the log when the database refuses the password or cannot be reached", async () => {
    const sim = await simWith([{ apiKey, secret, balances: { USDT: "100" } }]);
    const setup = writeBot(
      `${dir}/database`,
      sim,
      { apiKey, secret },
      { symbol: "BTC/USDT", strategy: gridFor(sim), risk, onStop: "CancelOrders" },
    );
    const refused = join(dir, "refused-db");
    cpSync(db.tradingCredentials, refused, { recursive: true });
    writeFileSync(join(refused, "password"), `${databasePassword}-but-wrong`);
    const wrongPassword = RuntimeProcess.start(setup, refused);
    expect(await wrongPassword.exited).toEqual({ code: RUNTIME_EXIT_CODES.unsafeCredentials, signal: null });
    expect(wrongPassword.events("database connection")).toHaveLength(1);
    expectNoSecrets(wrongPassword.raw, "the log");
    expect(wrongPassword.raw).not.toContain(`${databasePassword}-but-wrong`);

    const unreachable = join(dir, "unreachable-db");
    cpSync(db.tradingCredentials, unreachable, { recursive: true });
    writeFileSync(join(unreachable, "port"), "1");
    const down = RuntimeProcess.start(setup, unreachable);
    await waitFor(() => down.events("database connection").length >= 2, { what: `retries\n${down.tail()}` });
    expect(await down.stop()).toEqual({ code: 0, signal: null });
    expectNoSecrets(down.raw, "the log");
  });

  it("trade with an Ed25519 key from a CRLF PEM file, and keep every line of it out of the log", async () => {
    const sim = await simWith([{ apiKey: ed25519Key, publicKeyPem: publicPem, balances: { USDT: "20000" } }]);
    const setup = writeBot(
      `${dir}/ed25519`,
      sim,
      { apiKey: ed25519Key, secret: privatePem.replace(/\n/g, "\r\n") },
      {
        symbol: "BTC/USDT",
        strategy: gridFor(sim),
        risk,
        onStop: "CancelOrders",
      },
    );
    const bot = RuntimeProcess.start(setup, db.tradingCredentials);
    await waitFor(() => bot.events("order_placed").length >= 3, {
      what: `orders signed with Ed25519\n${bot.tail()}`,
    });
    sim.setFaults({ errorRate5xx: 0.5 });
    await waitFor(() => bot.events("exchange_error").length >= 2, { what: `errors\n${bot.tail()}` });
    sim.setFaults({ clear: true });
    expect(await bot.stop()).toEqual({ code: 0, signal: null });
    expectNoSecrets(bot.raw, "the log");
  });
});
