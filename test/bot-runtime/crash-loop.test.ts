// Five crashes (SIGKILL, no chance to clean up) at arbitrary points while trading, with some order answers
// lost on the way: after the last restart the database and the exchange still tell the same story, no
// order reached the exchange twice, and the audit chain is intact.
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

let db: BotDatabase;
let sim: ExchangeSim;
const dir = scratchDir("rt-crash");

beforeAll(async () => {
  db = await createSuiteDatabase("rt_crash");
});

afterAll(async () => {
  await sim?.close();
  cleanup(dir);
});

describe("crash loop", () => {
  it("after 5 crashes mid-trading the database and the exchange agree", async () => {
    const started = await startSimulator({ faults: { dropResponseAfterOrderAccepted: { rate: 0.2 } } });
    sim = started.sim;
    const { account } = started;
    const price = Number(sim.price("BTCUSDT"));
    const setup = writeBot(`${dir}/bot`, sim, account, {
      symbol: "BTC/USDT",
      strategy: {
        type: "grid",
        grid: {
          lowerPrice: (price * 0.96).toFixed(2),
          upperPrice: (price * 1.04).toFixed(2),
          levels: 17,
          quotePerOrder: "20",
        },
      },
      risk: {
        maxOrderQuote: "100",
        maxPositionQuote: "5000",
        maxDailyLossQuote: "1000",
        maxDrawdownPct: "50",
        maxOpenOrders: 30,
        maxOrdersPerMinute: 300,
        priceBandPct: "10",
      },
      onStop: "CancelOrders",
    });

    for (let crash = 1; crash <= 5; crash++) {
      const bot = RuntimeProcess.start(setup, db.tradingCredentials);
      // Once it has taken stock, a move across two grid levels fills orders it must replace: there is
      // always work to crash in the middle of (a grid left complete by the run before would have none).
      await bot.waitForEvent("reconciled");
      const placedBefore = sim.orders({ apiKey: account.apiKey }).length;
      sim.setPrice({ symbol: "BTCUSDT", movePct: crash % 2 === 1 ? -1.1 : 1.3 });
      await waitFor(
        () => sim.orders({ apiKey: account.apiKey }).length > placedBefore || bot.events("fill").length > 0,
        {
          what: `activity before crash ${crash}\n${bot.tail()}`,
        },
      );
      // Crash at a different point of the work each time.
      await new Promise((resolve) => setTimeout(resolve, 150 * crash));
      expect(await bot.stop("SIGKILL")).toMatchObject({ signal: "SIGKILL" });
    }

    sim.clearFaults();
    const last = RuntimeProcess.start(setup, db.tradingCredentials);
    expect(await last.waitForEvent("reconciled")).toMatchObject({ foreign: 0 });
    await waitFor(
      async () => {
        const client = await db.admin();
        try {
          const { rows } = await client.query(
            "SELECT 1 FROM tradingbot.orders WHERE bot_uid = $1 AND status IN ('pending', 'unknown')",
            [setup.config.bot.uid],
          );
          return rows.length === 0;
        } finally {
          await client.end();
        }
      },
      { what: `every order of the crashed runs resolved\n${last.tail()}` },
    );
    expect(await last.stop()).toEqual({ code: 0, signal: null });

    const orders = sim.orders({ apiKey: account.apiKey });
    expect(new Set(orders.map((order) => order.clientOrderId)).size).toBe(orders.length);
    const rows = await expectDatabaseMatchesExchange(db, sim, account, setup.config.bot.uid);
    expect(rows.audit.filter((row) => row.event === "started")).toHaveLength(6);
    await expectAuditChainIntact(db);
  });
});
