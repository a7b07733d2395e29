// The database stops mid-run: the runtime fails closed (no new orders; its open orders stay as they are),
// retries with backoff and logs `database connection` errors, then resumes when the database is back and
// records everything that happened at the exchange meanwhile; no audit row is lost. A database dropped
// under it is an outage too: the runtime stays, so a halt still cancels its orders. This suite stops and
// starts its own PostgreSQL server, not the shared one.
import { chmodSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExchangeSim } from "../../exchange-sim/index.ts";
import { postgresConnectionString } from "../postgres/connection-string.ts";
import { waitFor } from "../support/wait-for.ts";
import {
  type BotDatabase,
  cleanup,
  createBotDatabase,
  RuntimeProcess,
  scratchDir,
  startSimulator,
  writeBot,
} from "./fixtures.ts";
import { expectAuditChainIntact, expectDatabaseMatchesExchange } from "./harness.ts";
import { type RestartablePostgres, startRestartablePostgres } from "./restartable-postgres.ts";

const dir = scratchDir("rt-outage");
let postgres: RestartablePostgres;
let db: BotDatabase;
let sim: ExchangeSim;

beforeAll(async () => {
  // PostgreSQL runs as its own user when the tests run as root: it must be able to traverse to its folder.
  chmodSync(dir, 0o711);
  postgres = await startRestartablePostgres(`${dir}/postgres`);
  db = await createBotDatabase("rt_outage", postgres.server, `${dir}/secrets`);
});

afterAll(async () => {
  await sim?.close();
  await postgres?.stop();
  cleanup(dir);
});

/** A grid bot on the simulator `sim` that places six buys at once. */
function gridBot(at: string, account: { apiKey: string; secret: string }) {
  const price = Number(sim.price("BTCUSDT"));
  return writeBot(at, sim, account, {
    symbol: "BTC/USDT",
    strategy: {
      type: "grid",
      grid: {
        lowerPrice: (price * 0.97).toFixed(2),
        upperPrice: (price * 1.03).toFixed(2),
        levels: 13,
        quotePerOrder: "20",
      },
    },
    risk: {
      maxOrderQuote: "100",
      maxPositionQuote: "5000",
      maxDailyLossQuote: "1000",
      maxDrawdownPct: "50",
      maxOpenOrders: 20,
      maxOrdersPerMinute: 300,
      priceBandPct: "10",
    },
    onStop: "CancelOrders",
  });
}

describe("database outage", () => {
  it("fails closed while the database is down, then resumes and records what happened meanwhile", async () => {
    const started = await startSimulator();
    sim = started.sim;
    const { account } = started;
    const setup = gridBot(`${dir}/bot`, account);
    const bot = RuntimeProcess.start(setup, db.tradingCredentials);
    const openAtExchange = () =>
      sim.orders({ apiKey: account.apiKey }).filter((order) => order.status === "NEW");
    await waitFor(() => openAtExchange().length === 6, { what: `six grid buys\n${bot.tail()}` });

    await postgres.stop();
    const ordersWhenDown = sim.orders({ apiKey: account.apiKey }).length;
    // Buys fill at the exchange while the database is away; the grid would now like to place sells.
    sim.setPrice({ symbol: "BTCUSDT", movePct: -1.2 });
    await bot.waitForLog(
      (line) => line.event === "database connection" && line.level === "error",
      "the outage noticed",
    );
    await waitFor(async () => JSON.parse((await bot.get("/status")).body).state === "FailClosed", {
      what: "state FailClosed",
    });
    expect((await bot.get("/readyz")).status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(sim.orders({ apiKey: account.apiKey })).toHaveLength(ordersWhenDown);
    expect(
      sim.orders({ apiKey: account.apiKey }).filter((order) => order.status === "FILLED").length,
    ).toBeGreaterThan(0);
    const filledWhileDown = sim.trades({ apiKey: account.apiKey }).length;

    await postgres.start();
    await bot.waitForLog(
      (line) => line.event === "database connection" && /restored/.test(String(line.msg)),
      "the database back",
      60_000,
    );
    await waitFor(() => bot.events("order_placed").some((line) => line.side === "sell"), {
      what: `sells after the outage\n${bot.tail()}`,
    });
    expect(JSON.parse((await bot.get("/status")).body).state).toBe("Trading");
    expect(await bot.stop()).toEqual({ code: 0, signal: null });

    const rows = await expectDatabaseMatchesExchange(db, sim, account, setup.config.bot.uid);
    expect(rows.fills.length).toBeGreaterThanOrEqual(filledWhileDown);
    const events = rows.audit.map((row) => row.event);
    expect(events).toContain("database_unavailable");
    expect(events).toContain("database_restored");
    expect(events.indexOf("database_unavailable")).toBeLessThan(events.indexOf("database_restored"));
    await expectAuditChainIntact(db);
  });

  it("fails closed when its database is dropped, and a stop still cancels its orders at the exchange", async () => {
    const dropped = await createBotDatabase("rt_dropped", postgres.server, `${dir}/dropped-secrets`);
    const { sim: exchange, account } = await startSimulator();
    const previous = sim;
    sim = exchange;
    await previous?.close();
    const bot = RuntimeProcess.start(gridBot(`${dir}/dropped-bot`, account), dropped.tradingCredentials);
    const openAtExchange = () =>
      sim.orders({ apiKey: account.apiKey }).filter((order) => order.status === "NEW");
    await waitFor(() => openAtExchange().length === 6, { what: `six grid buys\n${bot.tail()}` });

    const superuser = new pg.Client({
      connectionString: postgresConnectionString(postgres.server, "postgres"),
    });
    await superuser.connect();
    try {
      await superuser.query(`DROP DATABASE "${dropped.name}" WITH (FORCE)`);
    } finally {
      await superuser.end();
    }
    await waitFor(async () => JSON.parse((await bot.get("/status")).body).state === "FailClosed", {
      what: `state FailClosed\n${bot.tail()}`,
    });
    expect(bot.child.exitCode).toBeNull();
    expect(openAtExchange()).toHaveLength(6);

    expect(await bot.stop()).toEqual({ code: 0, signal: null });
    expect(openAtExchange()).toEqual([]);
  });
});
