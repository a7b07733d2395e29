// Each strategy trades on the exchange simulator through real ccxt and records into real PostgreSQL: its
// orders are placed, filled and cancelled at the exchange, and the database's orders, fills and audit rows
// say exactly what the simulator's admin read-back says.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

const risk = {
  maxOrderQuote: "100",
  maxPositionQuote: "2000",
  maxDailyLossQuote: "1000",
  maxDrawdownPct: "50",
  maxOpenOrders: 20,
  maxOrdersPerMinute: 120,
  priceBandPct: "10",
};

let db: BotDatabase;
const dir = scratchDir("rt-strategies");
const sims: ExchangeSim[] = [];

beforeAll(async () => {
  db = await createSuiteDatabase("rt_strategies");
});

afterAll(async () => {
  await Promise.all(sims.map((sim) => sim.close()));
  cleanup(dir);
});

const placed = (bot: RuntimeProcess, side: string) =>
  bot.events("order_placed").filter((line) => line.side === side);
const fills = (bot: RuntimeProcess, side: string) => bot.events("fill").filter((line) => line.side === side);

describe("strategies on the simulator", () => {
  it("grid places buys below the price, sells what fills one level up, and cancels its orders on SIGTERM", async () => {
    const { sim, account } = await startSimulator();
    sims.push(sim);
    const price = Number(sim.price("BTCUSDT"));
    const setup = writeBot(`${dir}/grid`, sim, account, {
      symbol: "BTC/USDT",
      strategy: {
        type: "grid",
        grid: {
          lowerPrice: (price * 0.97).toFixed(2),
          upperPrice: (price * 1.03).toFixed(2),
          levels: 7,
          quotePerOrder: "50",
        },
      },
      risk,
      onStop: "CancelOrders",
    });
    const bot = RuntimeProcess.start(setup, db.tradingCredentials);
    await waitFor(() => placed(bot, "buy").length >= 3, { what: "three grid buys", timeoutMs: 30_000 });

    sim.setPrice({ symbol: "BTCUSDT", movePct: -1.6 });
    await waitFor(() => fills(bot, "buy").length >= 1 && placed(bot, "sell").length >= 1, {
      what: `a buy fill and the sell one level up\n${bot.tail()}`,
    });
    sim.setPrice({ symbol: "BTCUSDT", movePct: 2.2 });
    await waitFor(() => fills(bot, "sell").length >= 1, { what: `a sell fill\n${bot.tail()}` });

    expect(await bot.stop()).toEqual({ code: 0, signal: null });
    expect(sim.orders({ apiKey: account.apiKey }).filter((order) => order.status === "NEW")).toEqual([]);
    const rows = await expectDatabaseMatchesExchange(db, sim, account, setup.config.bot.uid);
    expect(rows.orders.filter((order) => order.status === "canceled").length).toBeGreaterThan(0);
    expect(rows.fills.map((fill) => fill.side)).toEqual(expect.arrayContaining(["buy", "sell"]));
    expect(rows.audit.at(-1)?.event).toBe("stopped");
    await expectAuditChainIntact(db);
  });

  it("DCA buys at market, keeps a take-profit, cancels it on SIGTERM and sells at it after a restart", async () => {
    const { sim, account } = await startSimulator();
    sims.push(sim);
    const setup = writeBot(`${dir}/dca`, sim, account, {
      symbol: "BTC/USDT",
      strategy: { type: "dca", dca: { interval: "1d", quotePerBuy: "60", maxBuys: 3, takeProfitPct: "1" } },
      risk,
      onStop: "CancelOrders",
    });
    const first = RuntimeProcess.start(setup, db.tradingCredentials);
    await waitFor(() => fills(first, "buy").length >= 1 && placed(first, "sell").length >= 1, {
      what: `the first DCA buy and its take-profit\n${first.tail()}`,
    });
    expect(await first.stop()).toEqual({ code: 0, signal: null });
    expect(first.events("order_cancelled").length).toBe(1);

    // Same interval after the restart: no second buy; the take-profit is placed again and fills.
    const second = RuntimeProcess.start(setup, db.tradingCredentials);
    await waitFor(() => placed(second, "sell").length >= 1, {
      what: `the take-profit again\n${second.tail()}`,
    });
    sim.setPrice({ symbol: "BTCUSDT", movePct: 1.5 });
    await waitFor(() => fills(second, "sell").length >= 1, {
      what: `the take-profit fill\n${second.tail()}`,
    });
    expect(await second.stop()).toEqual({ code: 0, signal: null });
    expect(placed(second, "buy")).toEqual([]);

    const rows = await expectDatabaseMatchesExchange(db, sim, account, setup.config.bot.uid);
    expect(rows.orders.map((order) => `${order.side} ${order.type} ${order.status}`)).toEqual([
      "buy market filled",
      "sell limit canceled",
      "sell limit filled",
    ]);
    await expectAuditChainIntact(db);
  });

  it("smaCross buys on a golden cross, cancels a signal order left unfilled for a candle, and sells on the death cross", async () => {
    // The simulator's clock jumps to just past the next minute to close a candle; each jump also shows the
    // runtime resynchronising its clock after Binance's -1021. Landing 1 s into a minute leaves 59 s before
    // the wall clock would close a candle of its own, which would cancel a signal order before it fills.
    const shift = { ms: 0 };
    const { sim, account } = await startSimulator({ clock: () => Date.now() + shift.ms });
    sims.push(sim);
    const setup = writeBot(`${dir}/sma`, sim, account, {
      symbol: "BTC/USDT",
      strategy: {
        type: "smaCross",
        smaCross: { fastPeriod: 2, slowPeriod: 3, timeframe: "1m", quotePerOrder: "50" },
      },
      risk,
      onStop: "CancelOrders",
    });
    const closedCloses = async () => {
      const response = await fetch(`${sim.url}/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=4`);
      const rows = (await response.json()) as [number, string, string, string, string][];
      return rows.slice(0, -1).map((row) => Number(row[4]));
    };
    // With fast 2 and slow 3 the fast average is above the slow one exactly when the newest close is above
    // 2·c[n-2] − c[n-1]; each step closes a candle 2% to one side of that line.
    const closeCandle = async (side: "above" | "below" | "flat") => {
      if (side !== "flat") {
        const [, older, previous] = (await closedCloses()).slice(-3) as [number, number, number];
        const line = 2 * older - previous;
        sim.setPrice({ symbol: "BTCUSDT", price: (line * (side === "above" ? 1.02 : 0.98)).toFixed(2) });
      }
      const now = Date.now() + shift.ms;
      shift.ms += Math.floor(now / 60_000) * 60_000 + 61_000 - now;
    };
    // Closing a candle below the line first means the bot starts without a golden cross to act on.
    await closeCandle("below");
    const bot = RuntimeProcess.start(setup, db.tradingCredentials);
    await bot.waitForEvent("trading");

    await closeCandle("above");
    await waitFor(() => placed(bot, "buy").length === 1, { what: `a golden-cross buy\n${bot.tail()}` });
    // The price rises away from the limit, so the buy stays unfilled through the next candle.
    sim.setPrice({ symbol: "BTCUSDT", movePct: 2 });
    await closeCandle("flat");
    await bot.waitForEvent("order_cancelled");

    await closeCandle("below");
    await closeCandle("above");
    await waitFor(() => placed(bot, "buy").length === 2, {
      what: `a second golden-cross buy\n${bot.tail()}`,
    });
    sim.setPrice({ symbol: "BTCUSDT", movePct: -0.3 });
    await waitFor(() => fills(bot, "buy").length >= 1, { what: `the buy filled\n${bot.tail()}` });

    await closeCandle("above");
    await closeCandle("below");
    await waitFor(() => placed(bot, "sell").length >= 1, { what: `a death-cross sell\n${bot.tail()}` });
    sim.setPrice({ symbol: "BTCUSDT", movePct: 0.3 });
    await waitFor(() => fills(bot, "sell").length >= 1, { what: `the sell filled\n${bot.tail()}` });

    expect(await bot.stop()).toEqual({ code: 0, signal: null });
    expect(bot.events("clock_resynced").length).toBeGreaterThan(0);
    await expectDatabaseMatchesExchange(db, sim, account, setup.config.bot.uid);
    await expectAuditChainIntact(db);
  });
});
