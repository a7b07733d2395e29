// The adapter against the simulator through real ccxt: `halt` calls go past ccxt's client-side pacing,
// routine calls queue behind it. This guards the adapter's reliance on ccxt reaching `throttle`
// synchronously from a call: an upgrade that changes it makes the halt call queue and this test fail.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExchangeSim, startExchangeSim } from "../../exchange-sim/index.ts";
import { Decimal } from "../money/decimal.ts";
import { createCcxtBinance } from "./ccxt-binance.ts";
import { ExchangeFailure, type ExchangePort } from "./port.ts";

const SYMBOL = "BTC/USDT";
const QUEUED = 30;

describe("ccxt adapter pacing", () => {
  let sim: ExchangeSim;
  let exchange: ExchangePort;
  beforeAll(async () => {
    sim = await startExchangeSim({
      seed: "pacing",
      accounts: [{ apiKey: "pacing", secret: "pacing-secret", balances: { USDT: "1000" } }],
    });
    exchange = await createCcxtBinance({
      mode: "paper",
      endpoint: sim.url,
      credentials: { apiKey: "pacing", secret: "pacing-secret", secretKind: "hmac" },
      observer: { error() {}, weightUsed() {}, rateLimited() {}, clockResynced() {} },
    });
    await exchange.market(SYMBOL);
  });
  afterAll(() => sim.close());

  /** Queues routine calls behind ccxt's limiter, then issues `call`; how many routine ones were still waiting. */
  async function routineStillQueuedWhen(call: () => Promise<unknown>): Promise<number> {
    let routineDone = 0;
    const routine = Array.from({ length: QUEUED }, () =>
      exchange.ticker(SYMBOL).then(() => {
        routineDone += 1;
      }),
    );
    let pendingAtAnswer = -1;
    await call().then(() => {
      pendingAtAnswer = QUEUED - routineDone;
    });
    await Promise.all(routine);
    return pendingAtAnswer;
  }

  it("a halt's open-orders read and cancels are answered while routine calls still queue in the limiter", async () => {
    expect(await routineStillQueuedWhen(() => exchange.openOrders(SYMBOL, "halt"))).toBeGreaterThan(
      QUEUED / 2,
    );
    expect(await routineStillQueuedWhen(() => exchange.cancelAll(SYMBOL))).toBeGreaterThan(QUEUED / 2);
    expect(
      await routineStillQueuedWhen(() => exchange.cancelOrder(SYMBOL, "no-such-order", "halt")),
    ).toBeGreaterThan(QUEUED / 2);
  });

  it("a routine call waits its turn behind the calls queued before it", async () => {
    expect(await routineStillQueuedWhen(() => exchange.openOrders(SYMBOL))).toBe(0);
  });

  it("a stop withdraws the routine calls still queued: they fail as withdrawn and never reach the exchange", async () => {
    const sentBefore = sim.requests({ apiKey: "pacing", path: "/api/v3/order" }).length;
    const placements = Array.from({ length: QUEUED }, (_, i) =>
      exchange.createOrder(SYMBOL, {
        clientOrderId: `withdrawn-${i}`,
        side: "buy",
        type: "limit",
        amount: Decimal.parse("0.001"),
        price: Decimal.parse("1000"),
      }),
    );
    exchange.withdrawQueued();
    const outcomes = await Promise.allSettled(placements);
    const withdrawn = outcomes.filter(
      (o) => o.status === "rejected" && o.reason instanceof ExchangeFailure && o.reason.kind === "withdrawn",
    );
    const sent = sim.requests({ apiKey: "pacing", path: "/api/v3/order" }).length - sentBefore;
    expect(withdrawn.length).toBeGreaterThan(QUEUED / 2);
    expect(sent).toBe(QUEUED - withdrawn.length);
    // Calls after the withdrawal are paced as before.
    await expect(exchange.ticker(SYMBOL)).resolves.toBeDefined();
  });
});

describe("ccxt adapter markets", () => {
  it("loads the markets again after a failed load, instead of repeating the first failure", async () => {
    const sim = await startExchangeSim({
      seed: "markets",
      accounts: [{ apiKey: "markets", secret: "markets-secret", balances: { USDT: "1000" } }],
    });
    try {
      const exchange = await createCcxtBinance({
        mode: "paper",
        endpoint: sim.url,
        credentials: { apiKey: "markets", secret: "markets-secret", secretKind: "hmac" },
        observer: { error() {}, weightUsed() {}, rateLimited() {}, clockResynced() {} },
      });
      sim.setFaults({ errorRate5xx: 1, paths: ["/api/v3/exchangeInfo"] });
      await expect(exchange.market(SYMBOL)).rejects.toMatchObject({ kind: "unavailable" });
      await expect(exchange.market(SYMBOL)).rejects.toMatchObject({ kind: "unavailable" });
      const asked = sim.requests({ path: "/api/v3/exchangeInfo" }).length;
      expect(asked).toBe(2);
      sim.clearFaults();
      await expect(exchange.market(SYMBOL)).resolves.toMatchObject({ symbol: SYMBOL });
      expect(sim.requests({ path: "/api/v3/exchangeInfo" }).length).toBe(3);
    } finally {
      await sim.close();
    }
  });
});
