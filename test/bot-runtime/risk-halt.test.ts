// The risk gate against the simulator: non-halting limits refuse single orders and record risk events;
// a price crash that breaches a halting limit makes the runtime cancel its orders, record the halt, write
// the termination message the operator latches, and exit with the risk-halt code.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RiskHaltMessage, RUNTIME_EXIT_CODES } from "../../api/v1alpha1/runtime-config.ts";
import type { ExchangeSim } from "../../exchange-sim/index.ts";
import { waitFor } from "../support/wait-for.ts";
import {
  type BotDatabase,
  cleanup,
  RuntimeProcess,
  scratchDir,
  startSimulator,
  writeBot,
} from "./fixtures.ts";
import { createSuiteDatabase, expectAuditChainIntact, expectDatabaseMatchesExchange } from "./harness.ts";

let db: BotDatabase;
const dir = scratchDir("rt-risk");
const sims: ExchangeSim[] = [];

beforeAll(async () => {
  db = await createSuiteDatabase("rt_risk");
});

afterAll(async () => {
  await Promise.all(sims.map((sim) => sim.close()));
  cleanup(dir);
});

const openAtExchange = (sim: ExchangeSim, apiKey: string) =>
  sim.orders({ apiKey }).filter((order) => order.status === "NEW" || order.status === "PARTIALLY_FILLED");

async function riskEvents(botUid: string) {
  const client = await db.admin();
  try {
    const { rows } = await client.query<{
      limit_name: string;
      halting: boolean;
      value: string;
      threshold: string;
    }>(
      "SELECT limit_name, halting, value::text, threshold::text FROM tradingbot.risk_events WHERE bot_uid = $1 ORDER BY id",
      [botUid],
    );
    return rows;
  } finally {
    await client.end();
  }
}

describe("risk limits on the simulator", () => {
  it("refuses orders beyond maxOpenOrders, then halts on a crash past maxDailyLossQuote: orders cancelled, message written, exit 3", async () => {
    const { sim, account } = await startSimulator();
    sims.push(sim);
    const price = Number(sim.price("BTCUSDT"));
    const setup = writeBot(`${dir}/daily-loss`, sim, account, {
      symbol: "BTC/USDT",
      strategy: {
        type: "grid",
        grid: {
          lowerPrice: (price * 0.7).toFixed(2),
          upperPrice: (price * 0.999).toFixed(2),
          levels: 11,
          quotePerOrder: "30",
        },
      },
      risk: {
        maxOrderQuote: "50",
        maxPositionQuote: "5000",
        maxDailyLossQuote: "10",
        maxDrawdownPct: "50",
        maxOpenOrders: 8,
        maxOrdersPerMinute: 120,
        priceBandPct: "50",
      },
      onStop: "CancelOrders",
    });
    const bot = RuntimeProcess.start(setup, db.tradingCredentials);
    await waitFor(() => openAtExchange(sim, account.apiKey).length === 8, {
      what: `8 open orders\n${bot.tail()}`,
    });
    await waitFor(() => bot.events("risk_event").length >= 2, {
      what: `refusals beyond maxOpenOrders\n${bot.tail()}`,
    });
    expect(
      bot.events("risk_event").every((line) => line.limit === "maxOpenOrders" && line.halting === false),
    ).toBe(true);

    sim.setPrice({ symbol: "BTCUSDT", movePct: -20 });
    const exit = await bot.exited;
    expect(exit).toEqual({ code: RUNTIME_EXIT_CODES.riskHalt, signal: null });

    const message = RiskHaltMessage.parse(JSON.parse(readFileSync(setup.terminationLog, "utf8")));
    expect(message).toMatchObject({
      reason: "RiskLimitBreached",
      limit: "maxDailyLossQuote",
      threshold: "10",
    });
    expect(Number(message.value)).toBeGreaterThanOrEqual(10);
    expect(openAtExchange(sim, account.apiKey)).toEqual([]);

    const events = await riskEvents(setup.config.bot.uid);
    expect(events.filter((event) => !event.halting).map((event) => event.limit_name)).toContain(
      "maxOpenOrders",
    );
    expect(events.filter((event) => event.halting)).toEqual([
      { limit_name: "maxDailyLossQuote", halting: true, value: message.value, threshold: "10" },
    ]);
    const rows = await expectDatabaseMatchesExchange(db, sim, account, setup.config.bot.uid);
    expect(rows.audit.find((row) => row.event === "halt")?.payload).toMatchObject({
      haltId: message.haltId,
      limit: "maxDailyLossQuote",
    });
    await expectAuditChainIntact(db);
  });

  it("halts on a drawdown from the equity peak past maxDrawdownPct, refusing limit prices outside the band meanwhile", async () => {
    const { sim, account: drawdownAccount } = await startSimulator({ balances: { USDT: "400" } });
    sims.push(sim);
    const price = Number(sim.price("BTCUSDT"));
    const setup = writeBot(`${dir}/drawdown`, sim, drawdownAccount, {
      symbol: "BTC/USDT",
      strategy: {
        type: "grid",
        grid: {
          lowerPrice: (price * 0.9).toFixed(2),
          upperPrice: (price * 0.999).toFixed(2),
          levels: 5,
          quotePerOrder: "90",
        },
      },
      risk: {
        maxOrderQuote: "100",
        maxPositionQuote: "1000",
        maxDailyLossQuote: "1000",
        maxDrawdownPct: "10",
        maxOpenOrders: 20,
        maxOrdersPerMinute: 120,
        priceBandPct: "6",
      },
      onStop: "CancelOrders",
    });
    const bot = RuntimeProcess.start(setup, db.tradingCredentials);
    await waitFor(() => bot.events("risk_event").some((line) => line.limit === "priceBandPct"), {
      what: `a price-band refusal\n${bot.tail()}`,
    });
    await waitFor(() => openAtExchange(sim, drawdownAccount.apiKey).length === 2, {
      what: `2 open orders\n${bot.tail()}`,
    });

    sim.setPrice({ symbol: "BTCUSDT", movePct: -35 });
    expect(await bot.exited).toEqual({ code: RUNTIME_EXIT_CODES.riskHalt, signal: null });
    const message = RiskHaltMessage.parse(JSON.parse(readFileSync(setup.terminationLog, "utf8")));
    expect(message).toMatchObject({ limit: "maxDrawdownPct", threshold: "10" });
    expect(Number(message.value)).toBeGreaterThanOrEqual(10);
    expect(openAtExchange(sim, drawdownAccount.apiKey)).toEqual([]);
    await expectDatabaseMatchesExchange(db, sim, drawdownAccount, setup.config.bot.uid);
  });

  it("keeps a latch in the database: a runtime started again on it refuses to trade until its config acknowledges that latch", async () => {
    const { sim, account } = await startSimulator();
    sims.push(sim);
    const price = Number(sim.price("BTCUSDT"));
    const config = {
      symbol: "BTC/USDT",
      strategy: {
        type: "grid" as const,
        grid: {
          lowerPrice: (price * 0.7).toFixed(2),
          upperPrice: (price * 0.999).toFixed(2),
          levels: 5,
          quotePerOrder: "30",
        },
      },
      risk: {
        maxOrderQuote: "50",
        maxPositionQuote: "5000",
        maxDailyLossQuote: "5",
        maxDrawdownPct: "50",
        maxOpenOrders: 8,
        maxOrdersPerMinute: 120,
        priceBandPct: "50",
      },
      onStop: "CancelOrders" as const,
      bot: { namespace: "trading", name: "latched", uid: `latched-${Date.now()}` },
    };
    const setup = writeBot(`${dir}/latch`, sim, account, config);
    const first = RuntimeProcess.start(setup, db.tradingCredentials);
    await waitFor(() => openAtExchange(sim, account.apiKey).length >= 2, { what: `orders\n${first.tail()}` });
    sim.setPrice({ symbol: "BTCUSDT", movePct: -30 });
    expect((await first.exited).code, first.tail()).toBe(RUNTIME_EXIT_CODES.riskHalt);
    const latched = RiskHaltMessage.parse(JSON.parse(readFileSync(setup.terminationLog, "utf8")));
    sim.setPrice({ symbol: "BTCUSDT", price: String(price) });

    // The pod is gone and nobody recorded the latch anywhere else: the database still holds it.
    const ordersBefore = sim.orders({ apiKey: account.apiKey }).length;
    const second = RuntimeProcess.start(
      writeBot(`${dir}/latch`, sim, account, config),
      db.tradingCredentials,
    );
    expect((await second.exited).code, second.tail()).toBe(RUNTIME_EXIT_CODES.riskHalt);
    expect(RiskHaltMessage.parse(JSON.parse(readFileSync(setup.terminationLog, "utf8")))).toMatchObject({
      haltId: latched.haltId,
      limit: "maxDailyLossQuote",
      threshold: "5",
    });
    expect(second.events("halt").at(-1)?.msg).toContain(`risk halt ${latched.haltId} is latched`);
    expect(sim.orders({ apiKey: account.apiKey })).toHaveLength(ordersBefore);

    // An acknowledgement of another halt changes nothing; the latch's own id releases it.
    const wrong = RuntimeProcess.start(
      writeBot(`${dir}/latch`, sim, account, { ...config, acknowledgedHalt: "risk-not-this-one" }),
      db.tradingCredentials,
    );
    expect((await wrong.exited).code).toBe(RUNTIME_EXIT_CODES.riskHalt);
    expect(sim.orders({ apiKey: account.apiKey })).toHaveLength(ordersBefore);

    const released = RuntimeProcess.start(
      writeBot(`${dir}/latch`, sim, account, { ...config, acknowledgedHalt: latched.haltId }),
      db.tradingCredentials,
    );
    await waitFor(() => sim.orders({ apiKey: account.apiKey }).length > ordersBefore, {
      what: "orders after the acknowledgement",
    }).catch((error) => {
      throw new Error(`${(error as Error).message}; the runtime's log:\n${released.tail(30)}`);
    });
    expect((await released.stop()).code).toBe(RUNTIME_EXIT_CODES.stopped);
  });
});
