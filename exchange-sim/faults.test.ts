import ccxt from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binanceConfigForEndpoint } from "../bot-runtime/exchange/binance-urls.ts";
import { type ExchangeSim, manualClock, startExchangeSim } from "./index.ts";

const client = (sim: ExchangeSim, extra: Record<string, unknown> = {}) =>
  new ccxt.binance({ apiKey: "bot", secret: "bot-secret", ...binanceConfigForEndpoint(sim.url), ...extra });

async function errorOf(action: Promise<unknown>): Promise<Error> {
  try {
    await action;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to fail");
}

describe("injected faults", () => {
  let sim: ExchangeSim;
  beforeAll(async () => {
    sim = await startExchangeSim({
      seed: "faults",
      accounts: [{ apiKey: "bot", secret: "bot-secret", balances: { USDT: "5000", BTC: "0.1" } }],
    });
    await client(sim).loadMarkets();
  });
  afterAll(() => sim.close());

  it("an accepted order whose response is lost exists at the exchange, findable by its client order id", async () => {
    const exchange = client(sim);
    sim.setFaults({ dropResponseAfterOrderAccepted: 1 });
    const lost = await errorOf(
      exchange.createOrder("BTC/USDT", "limit", "buy", 0.001, 40000, { clientOrderId: "lost-1" }),
    );
    expect(lost).toBeInstanceOf(ccxt.NetworkError);
    expect(sim.requests({ apiKey: "bot" }).at(-1)).toMatchObject({ path: "/api/v3/order", fault: "dropped" });

    const found = await exchange.fetchOrder("", "BTC/USDT", { clientOrderId: "lost-1" });
    expect(found).toMatchObject({ clientOrderId: "lost-1", status: "open", price: 40000, amount: 0.001 });
    expect(sim.orders({ apiKey: "bot" }).filter((order) => order.clientOrderId === "lost-1")).toHaveLength(1);

    // Retrying with the same client order id cannot double the order.
    const retry = await errorOf(
      exchange.createOrder("BTC/USDT", "limit", "buy", 0.001, 40000, { clientOrderId: "lost-1" }),
    );
    expect(retry).toBeInstanceOf(ccxt.InvalidOrder);
    expect(retry.message).toContain("Duplicate order sent.");
    expect(sim.faults().dropResponseAfterOrderAccepted).toBe(0);
    await exchange.cancelAllOrders("BTC/USDT");
  });

  it("a lost market order response still moved the balances", async () => {
    const exchange = client(sim);
    const before = await exchange.fetchBalance();
    sim.setFaults({ dropResponseAfterOrderAccepted: { rate: 1 } });
    expect(
      await errorOf(
        exchange.createOrder("BTC/USDT", "market", "sell", 0.01, undefined, { clientOrderId: "m-1" }),
      ),
    ).toBeInstanceOf(ccxt.NetworkError);
    sim.clearFaults();
    const after = await exchange.fetchBalance();
    expect(after.BTC?.total).toBeCloseTo((before.BTC?.total ?? 0) - 0.01, 8);
    expect((await exchange.fetchOrder("", "BTC/USDT", { clientOrderId: "m-1" })).status).toBe("closed");
  });

  it("5xx answers carry Binance's -1001 and do not execute; ccxt raises OperationFailed", async () => {
    const exchange = client(sim);
    sim.setFaults({ errorRate5xx: 1, paths: ["/api/v3/order"] });
    expect((await exchange.fetchTicker("BTC/USDT")).last).toBeGreaterThan(0);
    const error = await errorOf(
      exchange.createOrder("BTC/USDT", "limit", "buy", 0.001, 40000, { clientOrderId: "5xx-1" }),
    );
    expect(error).toBeInstanceOf(ccxt.OperationFailed);
    expect(error.message).toContain(
      '{"code":-1001,"msg":"Internal error; unable to process your request. Please try again."}',
    );
    expect(sim.requests({ apiKey: "bot" }).at(-1)).toMatchObject({
      status: 503,
      code: -1001,
      fault: "error5xx",
    });
    expect(sim.orders({ apiKey: "bot" }).some((order) => order.clientOrderId === "5xx-1")).toBe(false);
    sim.setFaults({ clear: true, errorRate5xx: 0.5 });
    const outcomes = new Set<string>();
    for (let i = 0; i < 30; i++) {
      outcomes.add(
        await exchange.fetchTime().then(
          () => "ok",
          (failure: Error) => failure.constructor.name,
        ),
      );
    }
    expect([...outcomes].sort()).toEqual(["OperationFailed", "ok"]);
    sim.clearFaults();
  });

  it("hanging requests get no answer; ccxt gives up with RequestTimeout", async () => {
    sim.setFaults({ hangRate: 1 });
    const error = await errorOf(client(sim, { timeout: 300 }).fetchTime());
    expect(error).toBeInstanceOf(ccxt.RequestTimeout);
    expect(sim.requests().at(-1)).toMatchObject({ path: "/api/v3/time", status: 0, fault: "hang" });
    sim.clearFaults();
    expect(await client(sim).fetchTime()).toBeGreaterThan(0);
  });

  it("added latency delays every answer past a short client timeout", async () => {
    sim.setFaults({ latencyMs: 1000 });
    expect(await errorOf(client(sim, { timeout: 200 }).fetchTime())).toBeInstanceOf(ccxt.RequestTimeout);
    sim.clearFaults();
    expect(await client(sim).fetchTime()).toBeGreaterThan(0);
  });
});

describe("a 429 storm and clock skew", () => {
  it("answer 429 with Retry-After for the storm's duration, and shift the reported server time", async () => {
    const clock = manualClock(Date.UTC(2031, 5, 1, 10, 0, 0));
    const sim = await startExchangeSim({ clock, accounts: [{ apiKey: "bot", secret: "bot-secret" }] });
    try {
      sim.setFaults({ rate429Storm: { durationMs: 30_000 } });
      const response = await fetch(`${sim.url}/api/v3/time`);
      expect(response.status).toBe(429);
      expect(response.headers.get("retry-after")).toBe("60");
      expect(await response.json()).toEqual({
        code: -1003,
        msg: "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.",
      });
      expect(await errorOf(client(sim).fetchTime())).toBeInstanceOf(ccxt.DDoSProtection);
      clock.advance(30_000);
      expect(sim.faults().rate429Storm).toBe(false);
      sim.setFaults({ clockSkewMs: -2500 });
      expect(await client(sim).fetchTime()).toBe(clock() - 2500);
    } finally {
      await sim.close();
    }
  });
});
