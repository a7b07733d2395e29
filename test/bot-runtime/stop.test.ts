// SIGTERM applies onStop (spec.killSwitch.onEngage) before the runtime exits 0: CancelOrders cancels every
// open order of the bot at the exchange, Flatten also sells its position at market, Freeze leaves orders.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExchangeSim } from "../../exchange-sim/index.ts";
import { waitFor } from "../support/wait-for.ts";
import {
  type BotDatabase,
  cleanup,
  placeOrder,
  RuntimeProcess,
  scratchDir,
  startSimulator,
  writeBot,
} from "./fixtures.ts";
import { createSuiteDatabase, expectAuditChainIntact, expectDatabaseMatchesExchange } from "./harness.ts";

let db: BotDatabase;
const dir = scratchDir("rt-stop");
const sims: ExchangeSim[] = [];

beforeAll(async () => {
  db = await createSuiteDatabase("rt_stop");
});

afterAll(async () => {
  await Promise.all(sims.map((sim) => sim.close()));
  cleanup(dir);
});

const openAtExchange = (sim: ExchangeSim, apiKey: string) =>
  sim.orders({ apiKey }).filter((order) => order.status === "NEW" || order.status === "PARTIALLY_FILLED");

/** A grid of `buys` buy levels just below the price. */
function gridBelow(price: number, buys: number, quotePerOrder: string) {
  return {
    type: "grid" as const,
    grid: {
      lowerPrice: (price * 0.95).toFixed(2),
      upperPrice: (price * 0.999).toFixed(2),
      levels: buys + 1,
      quotePerOrder,
    },
  };
}

const roomyRisk = {
  maxOrderQuote: "100",
  maxPositionQuote: "5000",
  maxDailyLossQuote: "1000",
  maxDrawdownPct: "50",
  maxOpenOrders: 60,
  maxOrdersPerMinute: 120,
  priceBandPct: "10",
};

describe("stopping on SIGTERM", () => {
  it("cancels all 50 open orders at the exchange before it exits", async () => {
    const { sim, account } = await startSimulator();
    sims.push(sim);
    const setup = writeBot(`${dir}/fifty`, sim, account, {
      symbol: "BTC/USDT",
      strategy: gridBelow(Number(sim.price("BTCUSDT")), 50, "10"),
      risk: roomyRisk,
      onStop: "CancelOrders",
    });
    const bot = RuntimeProcess.start(setup, db.tradingCredentials);
    await waitFor(() => openAtExchange(sim, account.apiKey).length === 50, {
      what: `50 open orders at the exchange\n${bot.tail()}`,
      timeoutMs: 60_000,
    });

    const signalled = performance.now();
    bot.child.kill("SIGTERM");
    let allCancelledMs: number | undefined;
    const watch = setInterval(() => {
      if (allCancelledMs === undefined && openAtExchange(sim, account.apiKey).length === 0) {
        allCancelledMs = performance.now() - signalled;
      }
    }, 2);
    const exit = await bot.exited;
    const exitedMs = performance.now() - signalled;
    clearInterval(watch);

    expect(exit).toEqual({ code: 0, signal: null });
    expect(openAtExchange(sim, account.apiKey)).toEqual([]);
    console.log(
      `SIGTERM with 50 open orders: all cancelled at the exchange after ${allCancelledMs?.toFixed(0)} ms, process exited after ${exitedMs.toFixed(0)} ms`,
    );
    const rows = await expectDatabaseMatchesExchange(db, sim, account, setup.config.bot.uid);
    expect(rows.orders.filter((order) => order.status === "canceled")).toHaveLength(50);
    // One audit row per cancelled order, however many paths saw the cancel.
    const cancelRows = rows.audit.filter((row) => row.event === "order_cancelled");
    expect(new Set(cancelRows.map((row) => row.payload.clientOrderId)).size).toBe(50);
    expect(cancelRows).toHaveLength(50);
    expect(rows.audit.at(-1)).toMatchObject({
      event: "stopped",
      payload: { onStop: "CancelOrders", cancelled: 50 },
    });
    await expectAuditChainIntact(db);
  });

  it("cancels only the bot's own orders when the account has others on the market", async () => {
    const { sim, account } = await startSimulator();
    sims.push(sim);
    const price = Number(sim.price("BTCUSDT"));
    const manual = await placeOrder(sim, account, {
      side: "BUY",
      price: (price * 0.9).toFixed(2),
      quantity: "0.001",
      newClientOrderId: "manual-order-1",
    });
    expect(manual.status).toBe(200);
    const setup = writeBot(`${dir}/foreign`, sim, account, {
      symbol: "BTC/USDT",
      strategy: gridBelow(price, 4, "20"),
      risk: roomyRisk,
      onStop: "CancelOrders",
    });
    const bot = RuntimeProcess.start(setup, db.tradingCredentials);
    expect(await bot.waitForEvent("reconciled")).toMatchObject({ foreign: 1, adopted: 0 });
    await waitFor(() => openAtExchange(sim, account.apiKey).length === 5, {
      what: `4 grid orders and the manual one\n${bot.tail()}`,
    });
    expect(await bot.stop()).toEqual({ code: 0, signal: null });
    expect(openAtExchange(sim, account.apiKey).map((order) => order.clientOrderId)).toEqual([
      "manual-order-1",
    ]);
  });

  it("records an order that filled while it was stopping, with its fill, before it exits", async () => {
    const { sim, account } = await startSimulator();
    sims.push(sim);
    const price = Number(sim.price("BTCUSDT"));
    const setup = writeBot(`${dir}/filled-at-stop`, sim, account, {
      symbol: "BTC/USDT",
      strategy: gridBelow(price, 4, "20"),
      risk: roomyRisk,
      onStop: "CancelOrders",
    });
    // One tick a minute: the first places the grid, and no later tick sees the fill before the stop.
    const bot = RuntimeProcess.start(setup, db.tradingCredentials, ["--tick-interval-ms", "60000"]);
    const buys = await waitFor(
      () => {
        const open = openAtExchange(sim, account.apiKey);
        return open.length === 4 ? open : undefined;
      },
      { what: `4 grid buys\n${bot.tail()}` },
    );
    const highest = Math.max(...buys.map((order) => Number(order.price)));
    sim.setPrice({ symbol: "BTCUSDT", price: (highest * 0.9995).toFixed(2) });
    await waitFor(
      () => sim.orders({ apiKey: account.apiKey }).filter((order) => order.status === "FILLED").length === 1,
      { what: "the highest buy filled at the simulator", timeoutMs: 10_000, intervalMs: 10 },
    );

    expect(await bot.stop()).toEqual({ code: 0, signal: null });
    const rows = await expectDatabaseMatchesExchange(db, sim, account, setup.config.bot.uid);
    expect(rows.orders.filter((order) => order.status === "filled")).toHaveLength(1);
    expect(rows.fills).toHaveLength(1);
    expect(rows.orders.filter((order) => order.status === "canceled")).toHaveLength(3);
  });

  it("Freeze leaves the open orders as they are", async () => {
    const { sim, account } = await startSimulator();
    sims.push(sim);
    const setup = writeBot(`${dir}/freeze`, sim, account, {
      symbol: "BTC/USDT",
      strategy: gridBelow(Number(sim.price("BTCUSDT")), 4, "20"),
      risk: roomyRisk,
      onStop: "Freeze",
    });
    const bot = RuntimeProcess.start(setup, db.tradingCredentials);
    await waitFor(() => openAtExchange(sim, account.apiKey).length === 4, {
      what: `4 open orders\n${bot.tail()}`,
    });
    expect(await bot.stop()).toEqual({ code: 0, signal: null });
    expect(openAtExchange(sim, account.apiKey)).toHaveLength(4);
    const rows = await expectDatabaseMatchesExchange(db, sim, account, setup.config.bot.uid);
    expect(rows.audit.at(-1)).toMatchObject({
      event: "stopped",
      payload: { onStop: "Freeze", cancelled: 0 },
    });

    // A restart adopts nothing new and keeps the frozen orders as its own.
    const again = RuntimeProcess.start(setup, db.tradingCredentials);
    const reconciled = await again.waitForEvent("reconciled");
    expect(reconciled).toMatchObject({ kept: 4, adopted: 0, foreign: 0 });
    await again.stop();
  });

  it("Flatten cancels the orders and sells the bot's position at market", async () => {
    const { sim, account } = await startSimulator();
    sims.push(sim);
    const setup = writeBot(`${dir}/flatten`, sim, account, {
      symbol: "BTC/USDT",
      strategy: gridBelow(Number(sim.price("BTCUSDT")), 4, "50"),
      risk: roomyRisk,
      onStop: "Flatten",
    });
    const bot = RuntimeProcess.start(setup, db.tradingCredentials);
    await waitFor(() => openAtExchange(sim, account.apiKey).length === 4, {
      what: `4 open orders\n${bot.tail()}`,
    });
    sim.setPrice({ symbol: "BTCUSDT", movePct: -3 });
    await waitFor(() => bot.events("fill").length >= 2, { what: `two buys filled\n${bot.tail()}` });
    expect(await bot.stop()).toEqual({ code: 0, signal: null });

    expect(openAtExchange(sim, account.apiKey)).toEqual([]);
    const flatten = sim.orders({ apiKey: account.apiKey }).filter((order) => order.type === "MARKET");
    expect(flatten).toHaveLength(1);
    expect(flatten[0]).toMatchObject({ side: "SELL", status: "FILLED" });
    expect(bot.events("stopped")[0]).toMatchObject({ onStop: "Flatten", flattened: true });
    const status = await db.admin();
    try {
      const { rows } = await status.query<{ position_base: string }>(
        "SELECT position_base::text FROM tradingbot.bot_state WHERE bot_uid = $1",
        [setup.config.bot.uid],
      );
      // Only dust below the lot step can remain.
      expect(Number(rows[0]?.position_base)).toBeLessThan(0.00001);
    } finally {
      await status.end();
    }
    await expectDatabaseMatchesExchange(db, sim, account, setup.config.bot.uid);
    await expectAuditChainIntact(db);
  });
});
