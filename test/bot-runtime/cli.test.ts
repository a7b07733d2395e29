// The process contract the operator relies on: exit codes (2 invalid config, 4 unsafe or unusable
// credentials, 1 unmigrated database), error messages naming the field or file, the status endpoints,
// and a migration that can run any number of times.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUNTIME_EXIT_CODES, RuntimeReport } from "../../api/v1alpha1/runtime-config.ts";
import type { ExchangeSim } from "../../exchange-sim/index.ts";
import { postgresContext } from "../support/context.ts";
import { waitFor } from "../support/wait-for.ts";
import {
  type BotDatabase,
  type BotSetup,
  cleanup,
  RuntimeProcess,
  runCli,
  type SimAccount,
  scratchDir,
  smallGrid,
  startSimulator,
  writeBot,
} from "./fixtures.ts";
import { createSuiteDatabase } from "./harness.ts";

let db: BotDatabase;
let sim: ExchangeSim;
let account: SimAccount;
const dir = scratchDir("rt-cli");

const risk = {
  maxOrderQuote: "100",
  maxPositionQuote: "5000",
  maxDailyLossQuote: "1000",
  maxDrawdownPct: "50",
  maxOpenOrders: 20,
  maxOrdersPerMinute: 120,
  priceBandPct: "10",
};

function validBot(name: string): BotSetup {
  const price = Number(sim.price("BTCUSDT"));
  return writeBot(`${dir}/${name}`, sim, account, {
    ...smallGrid(price),
    onStop: "CancelOrders",
  });
}

beforeAll(async () => {
  db = await createSuiteDatabase("rt_cli");
  ({ sim, account } = await startSimulator());
});

afterAll(async () => {
  await sim?.close();
  cleanup(dir);
});

describe("bot-runtime command line", () => {
  it("exits 2 on a config that breaks the schema, naming the field", async () => {
    const setup = validBot("bad-config");
    const config = {
      ...setup.config,
      strategy: { type: "grid", grid: { ...setup.config.strategy, levels: 1 } },
    };
    writeFileSync(
      setup.configPath,
      JSON.stringify({
        ...config,
        strategy: { type: "grid", grid: { lowerPrice: "1", upperPrice: "2", levels: 1, quotePerOrder: "5" } },
      }),
    );
    const bot = RuntimeProcess.start(setup, db.tradingCredentials);
    expect(await bot.exited).toEqual({ code: RUNTIME_EXIT_CODES.invalidConfig, signal: null });
    expect(bot.events("invalid_config")[0]?.msg).toContain("strategy.grid.levels");

    writeFileSync(setup.configPath, "{ not json");
    const garbled = RuntimeProcess.start(setup, db.tradingCredentials);
    expect(await garbled.exited).toEqual({ code: RUNTIME_EXIT_CODES.invalidConfig, signal: null });
    expect(garbled.events("invalid_config")[0]?.msg).toContain("is not valid JSON");

    const usage = await runCli(["run", "--no-such-flag"]);
    expect(usage.code).toBe(RUNTIME_EXIT_CODES.invalidConfig);
    expect(usage.output).toContain("usage:");
  });

  it("exits 4 when the exchange Secret lacks a key, naming the file", async () => {
    const setup = validBot("no-secret");
    const empty = join(dir, "empty-exchange-secret");
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, "apiKey"), account.apiKey);
    const bot = RuntimeProcess.start({ ...setup, exchangeCredentials: empty }, db.tradingCredentials);
    expect(await bot.exited).toEqual({ code: RUNTIME_EXIT_CODES.unsafeCredentials, signal: null });
    expect(bot.events("credentials_unusable")[0]?.msg).toContain(`${join(empty, "secret")}`);
  });

  it("refuses a key that can withdraw: clear log line, exit 4, no order sent", async () => {
    const withdrawing = await startSimulator({ canWithdraw: true });
    try {
      const price = Number(withdrawing.sim.price("BTCUSDT"));
      const setup = writeBot(`${dir}/withdraw`, withdrawing.sim, withdrawing.account, {
        symbol: "BTC/USDT",
        strategy: {
          type: "grid",
          grid: {
            lowerPrice: (price * 0.98).toFixed(2),
            upperPrice: (price * 1.02).toFixed(2),
            levels: 5,
            quotePerOrder: "20",
          },
        },
        risk,
        onStop: "CancelOrders",
      });
      const bot = RuntimeProcess.start(setup, db.tradingCredentials);
      expect(await bot.exited).toEqual({ code: RUNTIME_EXIT_CODES.unsafeCredentials, signal: null });
      expect(bot.events("unsafe_credentials")[0]?.msg).toContain("can withdraw");
      expect(withdrawing.sim.orders({ apiKey: withdrawing.account.apiKey })).toEqual([]);
    } finally {
      await withdrawing.sim.close();
    }
  });

  it("exits 1 against a database that was never migrated, saying what to run", async () => {
    const unmigrated = await createSuiteDatabase("rt_cli_unmigrated");
    const endpoint = postgresContext();
    const secretDir = join(dir, "unmigrated-secret");
    mkdirSync(secretDir, { recursive: true });
    // The superuser of a database with no schema: the runtime must stop before trading.
    const values = {
      host: endpoint.host,
      port: String(endpoint.port),
      database: `${unmigrated.name}_fresh`,
      user: endpoint.user,
      password: endpoint.password,
    };
    const admin = await unmigrated.admin();
    await admin.query(`CREATE DATABASE "${values.database}"`);
    await admin.end();
    for (const [key, value] of Object.entries(values)) writeFileSync(join(secretDir, key), value);
    const bot = RuntimeProcess.start(validBot("unmigrated"), secretDir);
    expect(await bot.exited).toEqual({ code: RUNTIME_EXIT_CODES.failure, signal: null });
    expect(bot.events("schema_outdated")[0]?.msg, bot.raw).toContain("bot-runtime migrate");
  });

  it("migrates idempotently: a second run applies nothing and re-grants", async () => {
    const again = await runCli([
      "migrate",
      "--database-credentials",
      db.migrationCredentials,
      "--trading-credentials",
      db.tradingCredentials,
    ]);
    expect(again.code).toBe(0);
    expect(again.output).toContain('"applied":[]');
    expect(again.output).toContain(`"grantedTo":"${db.tradingRole}"`);
  });

  it("serves /healthz, /readyz, /status (the RuntimeReport) and /metrics, and nothing else", async () => {
    const bot = RuntimeProcess.start(validBot("status"), db.tradingCredentials);
    await waitFor(() => bot.events("order_placed").length >= 2, { what: `orders\n${bot.tail()}` });
    expect((await bot.get("/healthz")).status).toBe(200);
    expect((await bot.get("/readyz")).status).toBe(200);
    const report = RuntimeReport.parse(JSON.parse((await bot.get("/status")).body));
    expect(report).toMatchObject({ state: "Trading", halted: false, position: "0", realizedPnl: "0" });
    expect(report.openOrders).toBeGreaterThanOrEqual(2);
    const metrics = (await bot.get("/metrics")).body;
    for (const name of [
      "tradingbot_runtime_orders_total",
      "tradingbot_runtime_order_round_trip_seconds",
      "tradingbot_runtime_request_weight_used",
      "tradingbot_runtime_last_heartbeat_timestamp_seconds",
      "tradingbot_runtime_equity_quote",
    ]) {
      expect(metrics).toContain(name);
    }
    expect((await bot.get("/nope")).status).toBe(404);
    const post = await fetch(`${await bot.statusUrl()}/status`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(await bot.stop()).toEqual({ code: 0, signal: null });
  });
});
