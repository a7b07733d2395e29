// Exchange faults through real ccxt: an order the exchange accepted but whose answer was lost, 5xx answers
// and hanging requests never lead to a duplicate order or an orphan after a restart; a 429 storm makes the
// runtime wait out Retry-After instead of hammering (no ban); a skewed clock is resynchronised.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RECV_WINDOW_MS } from "../../bot-runtime/exchange/ccxt-binance.ts";
import type { ExchangeSim } from "../../exchange-sim/index.ts";
import { waitFor } from "../support/wait-for.ts";
import {
  type BotDatabase,
  cleanup,
  RuntimeProcess,
  type SimAccount,
  scratchDir,
  startSimulator,
  writeBot,
} from "./fixtures.ts";
import { createSuiteDatabase, expectAuditChainIntact, expectDatabaseMatchesExchange } from "./harness.ts";

let db: BotDatabase;
const dir = scratchDir("rt-faults");
const sims: ExchangeSim[] = [];

beforeAll(async () => {
  db = await createSuiteDatabase("rt_faults");
});

afterAll(async () => {
  await Promise.all(sims.map((sim) => sim.close()));
  cleanup(dir);
});

const risk = {
  maxOrderQuote: "100",
  maxPositionQuote: "5000",
  maxDailyLossQuote: "1000",
  maxDrawdownPct: "50",
  maxOpenOrders: 20,
  maxOrdersPerMinute: 300,
  priceBandPct: "10",
};

const openAtExchange = (sim: ExchangeSim, apiKey: string) =>
  sim.orders({ apiKey }).filter((order) => order.status === "NEW" || order.status === "PARTIALLY_FILLED");

async function gridBot(name: string, options: Parameters<typeof startSimulator>[0] = {}) {
  const { sim, account } = await startSimulator(options);
  sims.push(sim);
  const price = Number(sim.price("BTCUSDT"));
  const setup = writeBot(`${dir}/${name}`, sim, account, {
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
    risk,
    onStop: "CancelOrders",
  });
  return { sim, account, setup };
}

/** No client order id reached the exchange twice, and no slot ever had two orders open at once. */
function expectNoDuplicates(sim: ExchangeSim, account: SimAccount) {
  const orders = sim.orders({ apiKey: account.apiKey });
  const ids = orders.map((order) => order.clientOrderId);
  expect(new Set(ids).size).toBe(ids.length);
  const openSlots = openAtExchange(sim, account.apiKey).map((order) => order.clientOrderId.split("-")[1]);
  expect(new Set(openSlots).size).toBe(openSlots.length);
}

/** Every order open at the exchange is one the database knows as live. */
async function expectNoOrphans(sim: ExchangeSim, account: SimAccount, botUid: string) {
  const client = await db.admin();
  try {
    const { rows } = await client.query<{ client_order_id: string }>(
      "SELECT client_order_id FROM tradingbot.orders WHERE bot_uid = $1 AND status = 'open'",
      [botUid],
    );
    expect(
      openAtExchange(sim, account.apiKey)
        .map((order) => order.clientOrderId)
        .sort(),
    ).toEqual(rows.map((row) => row.client_order_id).sort());
  } finally {
    await client.end();
  }
}

describe("exchange faults", () => {
  it("an order accepted with its answer lost is found by its client id, never sent twice, and no orphan remains after a restart", async () => {
    const { sim, account, setup } = await gridBot("lost-answer", {
      faults: { dropResponseAfterOrderAccepted: 3 },
    });
    const bot = RuntimeProcess.start(setup, db.tradingCredentials);
    await waitFor(() => bot.events("order_unknown").length === 3 && bot.events("order_placed").length >= 6, {
      what: `three lost answers resolved\n${bot.tail()}`,
    });
    await waitFor(() => openAtExchange(sim, account.apiKey).length === 6, { what: "six grid buys open" });
    expectNoDuplicates(sim, account);
    expect(sim.orders({ apiKey: account.apiKey })).toHaveLength(6);

    // A crash, then a restart: the restarted runtime adopts nothing it did not already know.
    expect(await bot.stop("SIGKILL")).toMatchObject({ signal: "SIGKILL" });
    const again = RuntimeProcess.start(setup, db.tradingCredentials);
    expect(await again.waitForEvent("reconciled")).toMatchObject({ kept: 6, adopted: 0, foreign: 0 });
    await expectNoOrphans(sim, account, setup.config.bot.uid);
    expect(await again.stop()).toEqual({ code: 0, signal: null });
    expectNoDuplicates(sim, account);
    await expectDatabaseMatchesExchange(db, sim, account, setup.config.bot.uid);
    await expectAuditChainIntact(db);
  });

  it("5xx answers, hanging requests and lost answers while trading: zero duplicates, and the database agrees with the exchange", async () => {
    const { sim, account, setup } = await gridBot("5xx");
    sim.setFaults({
      errorRate5xx: 0.3,
      hangRate: 0.03,
      dropResponseAfterOrderAccepted: { rate: 0.3 },
      paths: ["/api/v3/order", "/api/v3/openOrders", "/api/v3/myTrades"],
    });
    const bot = RuntimeProcess.start(setup, db.tradingCredentials);
    await waitFor(() => bot.events("order_placed").length >= 4, {
      what: `orders despite the faults\n${bot.tail()}`,
      timeoutMs: 90_000,
    });
    sim.setPrice({ symbol: "BTCUSDT", movePct: -1.2 });
    await waitFor(() => bot.events("fill").length >= 1, {
      what: `a fill despite the faults\n${bot.tail()}`,
      timeoutMs: 90_000,
    });
    sim.setPrice({ symbol: "BTCUSDT", movePct: 1.5 });
    await waitFor(() => bot.events("fill").filter((line) => line.side === "sell").length >= 1, {
      what: `a sell fill despite the faults\n${bot.tail()}`,
      timeoutMs: 90_000,
    });
    expect(bot.events("exchange_error").length + bot.events("order_unknown").length).toBeGreaterThan(0);
    expectNoDuplicates(sim, account);
    // An order is declared never placed only once a late request could no longer be accepted.
    const lostAt = new Map(
      bot.events("order_unknown").map((line) => [line.clientOrderId, Date.parse(String(line.time))]),
    );
    for (const line of bot.events("order_not_placed")) {
      const since = lostAt.get(line.clientOrderId);
      if (since !== undefined)
        expect(Date.parse(String(line.time)) - since).toBeGreaterThanOrEqual(RECV_WINDOW_MS);
    }

    sim.clearFaults();
    expect(await bot.stop("SIGKILL")).toMatchObject({ signal: "SIGKILL" });
    const again = RuntimeProcess.start(setup, db.tradingCredentials);
    expect(await again.waitForEvent("reconciled")).toMatchObject({ adopted: 0, foreign: 0 });
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
      { what: "every lost answer resolved" },
    );
    await expectNoOrphans(sim, account, setup.config.bot.uid);
    expect(await again.stop()).toEqual({ code: 0, signal: null });
    expectNoDuplicates(sim, account);
    await expectDatabaseMatchesExchange(db, sim, account, setup.config.bot.uid);
    await expectAuditChainIntact(db);
  });

  it("a 429 storm makes the runtime wait out Retry-After without being banned, then trade on", async () => {
    const { sim, account, setup } = await gridBot("storm");
    const bot = RuntimeProcess.start(setup, db.tradingCredentials);
    await waitFor(() => openAtExchange(sim, account.apiKey).length === 6, {
      what: `six grid buys\n${bot.tail()}`,
    });
    // Start the storm late in the exchange's rate-limit minute, so Retry-After (the rest of it) is short.
    const intoMinute = () => Date.now() % 60_000;
    if (intoMinute() < 45_000) await new Promise((resolve) => setTimeout(resolve, 45_000 - intoMinute()));
    const stormStart = Date.now();
    sim.setFaults({ rate429Storm: { durationMs: 3_000 } });
    await waitFor(() => bot.events("rate_limited").length >= 1, {
      what: `the runtime seeing the 429\n${bot.tail()}`,
    });
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    const during = sim.requests({ sinceMs: stormStart }).filter((request) => request.fault === "storm");
    expect(during.length).toBeLessThanOrEqual(3);

    sim.setPrice({ symbol: "BTCUSDT", movePct: -1.2 });
    await waitFor(
      () => bot.events("fill").length >= 1 && bot.events("order_placed").some((line) => line.side === "sell"),
      {
        what: `trading after the storm\n${bot.tail()}`,
        timeoutMs: 60_000,
      },
    );
    expect(sim.requests({}).filter((request) => request.status === 418)).toEqual([]);
    expect(await bot.stop()).toEqual({ code: 0, signal: null });
    await expectDatabaseMatchesExchange(db, sim, account, setup.config.bot.uid);
  });

  it("a skewed exchange clock (-1021) is resynchronised once and trading continues", async () => {
    const { sim, account, setup } = await gridBot("skew");
    const bot = RuntimeProcess.start(setup, db.tradingCredentials);
    await waitFor(() => openAtExchange(sim, account.apiKey).length === 6, {
      what: `six grid buys\n${bot.tail()}`,
    });
    const skewStart = Date.now();
    sim.setFaults({ clockSkewMs: 30_000 });
    await waitFor(() => bot.events("clock_resynced").length >= 1, { what: `a resync\n${bot.tail()}` });
    sim.setPrice({ symbol: "BTCUSDT", movePct: -1.2 });
    await waitFor(
      () => bot.events("fill").length >= 1 && bot.events("order_placed").some((line) => line.side === "sell"),
      {
        what: `trading after the resync\n${bot.tail()}`,
      },
    );
    const rejected = sim.requests({ sinceMs: skewStart }).filter((request) => request.code === -1021);
    expect(rejected.length).toBeLessThanOrEqual(2);
    expect(await bot.stop()).toEqual({ code: 0, signal: null });
    await expectDatabaseMatchesExchange(db, sim, account, setup.config.bot.uid);
  });
});
