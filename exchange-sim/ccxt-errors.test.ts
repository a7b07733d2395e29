import ccxt from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binanceConfigForEndpoint } from "../bot-runtime/exchange/binance-urls.ts";
import { type Clock, type ExchangeSim, manualClock, startExchangeSim } from "./index.ts";

function client(
  sim: ExchangeSim,
  apiKey: string,
  secret: string,
  extra: { clock?: Clock; rateLimit?: boolean } = {},
) {
  const exchange = new ccxt.binance({
    apiKey,
    secret,
    enableRateLimit: extra.rateLimit ?? true,
    ...binanceConfigForEndpoint(sim.url),
  });
  const { clock } = extra;
  if (clock !== undefined) exchange.milliseconds = () => clock();
  return exchange;
}

async function errorOf(action: Promise<unknown>): Promise<Error> {
  try {
    await action;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to fail");
}

const lastAnswer = (sim: ExchangeSim) => {
  const entries = sim.requests();
  const last = entries[entries.length - 1];
  return { status: last?.status, code: last?.code };
};

describe("Binance errors raise ccxt's matching exception classes", () => {
  let sim: ExchangeSim;
  beforeAll(async () => {
    sim = await startExchangeSim({
      seed: "errors",
      accounts: [
        { apiKey: "good", secret: "good-secret", balances: { USDT: "1000", BTC: "0.01" } },
        { apiKey: "read-only", secret: "ro-secret", canTrade: false, balances: { USDT: "1000" } },
        { apiKey: "to-revoke", secret: "tr-secret" },
      ],
    });
  });
  afterAll(() => sim.close());
  const good = () => client(sim, "good", "good-secret");

  it("-1021 timestamp outside recvWindow (server clock ahead, or behind) → InvalidNonce", async () => {
    sim.setFaults({ clockSkewMs: 10_000 });
    const behind = await errorOf(good().fetchBalance());
    expect(behind).toBeInstanceOf(ccxt.InvalidNonce);
    expect(behind.message).toContain("Timestamp for this request is outside of the recvWindow.");
    sim.setFaults({ clockSkewMs: -5_000 });
    const ahead = await errorOf(good().fetchBalance());
    expect(ahead).toBeInstanceOf(ccxt.InvalidNonce);
    expect(ahead.message).toContain("Timestamp for this request was 1000ms ahead of the server's time.");
    expect(lastAnswer(sim)).toEqual({ status: 400, code: -1021 });
    sim.clearFaults();
  });

  it("-1022 invalid signature → AuthenticationError", async () => {
    const error = await errorOf(client(sim, "good", "wrong-secret").fetchBalance());
    expect(error).toBeInstanceOf(ccxt.AuthenticationError);
    expect(error.message).toContain('{"code":-1022,"msg":"Signature for this request is not valid."}');
  });

  it("-2015 unknown key, revoked key, or a key without trading permission → AuthenticationError", async () => {
    const unknown = await errorOf(client(sim, "nobody", "x").fetchBalance());
    expect(unknown).toBeInstanceOf(ccxt.AuthenticationError);
    expect(unknown.message).toContain(
      '{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}',
    );
    expect(lastAnswer(sim)).toEqual({ status: 401, code: -2015 });

    sim.revokeKey("to-revoke");
    expect(await errorOf(client(sim, "to-revoke", "tr-secret").fetchBalance())).toBeInstanceOf(
      ccxt.AuthenticationError,
    );

    const readOnly = client(sim, "read-only", "ro-secret");
    expect(await errorOf(readOnly.createOrder("BTC/USDT", "limit", "buy", 0.001, 50000))).toBeInstanceOf(
      ccxt.AuthenticationError,
    );
  });

  it("-2015 after the same client authenticated successfully is reported by ccxt as DDoSProtection", async () => {
    const readOnly = client(sim, "read-only", "ro-secret");
    await readOnly.fetchBalance();
    const error = await errorOf(readOnly.createOrder("BTC/USDT", "limit", "buy", 0.001, 50000));
    expect(error).toBeInstanceOf(ccxt.DDoSProtection);
    expect(error.message).toContain("-2015");
  });

  it("-1013 filter failures → InvalidOrder for LOT_SIZE and PRICE_FILTER, BadRequest for NOTIONAL", async () => {
    const lot = await errorOf(good().createOrder("BTC/USDT", "limit", "buy", 10000, 50000));
    expect(lot).toBeInstanceOf(ccxt.InvalidOrder);
    expect(lot.message).toContain('{"code":-1013,"msg":"Filter failure: LOT_SIZE"}');
    const price = await errorOf(good().createOrder("BTC/USDT", "limit", "buy", 0.001, 2_000_000));
    expect(price).toBeInstanceOf(ccxt.InvalidOrder);
    expect(price.message).toContain("Filter failure: PRICE_FILTER");
    // ccxt maps -1013 itself to BadRequest; only the LOT_SIZE and PRICE_FILTER texts are special-cased.
    const notional = await errorOf(good().createOrder("BTC/USDT", "limit", "buy", 0.00005, 50000));
    expect(notional).toBeInstanceOf(ccxt.BadRequest);
    expect(notional.message).toContain('{"code":-1013,"msg":"Filter failure: NOTIONAL"}');
  });

  it("-2010 insufficient balance → InsufficientFunds; duplicate client order id → InvalidOrder", async () => {
    const poor = await errorOf(good().createOrder("BTC/USDT", "limit", "buy", 1, 50000));
    expect(poor).toBeInstanceOf(ccxt.InsufficientFunds);
    expect(poor.message).toBe("binance Account has insufficient balance for requested action.");
    expect(lastAnswer(sim)).toEqual({ status: 400, code: -2010 });
    await good().createOrder("BTC/USDT", "limit", "buy", 0.001, 50000, { clientOrderId: "dup-1" });
    const duplicate = await errorOf(
      good().createOrder("BTC/USDT", "limit", "buy", 0.001, 50000, { clientOrderId: "dup-1" }),
    );
    expect(duplicate).toBeInstanceOf(ccxt.InvalidOrder);
    expect(duplicate.message).toContain('{"code":-2010,"msg":"Duplicate order sent."}');
  });

  it("-2010 a post-only order that would take → OrderImmediatelyFillable", async () => {
    const ask = (await good().fetchTicker("BTC/USDT")).ask ?? 0;
    const error = await errorOf(
      good().createOrder("BTC/USDT", "limit", "buy", 0.001, ask * 1.01, { postOnly: true }),
    );
    expect(error).toBeInstanceOf(ccxt.OrderImmediatelyFillable);
  });

  it("-2011 cancelling an unknown order and -2013 querying one → OrderNotFound", async () => {
    const cancel = await errorOf(good().cancelOrder("987654", "BTC/USDT"));
    expect(cancel).toBeInstanceOf(ccxt.OrderNotFound);
    expect(cancel.message).toContain('{"code":-2011,"msg":"Unknown order sent."}');
    const query = await errorOf(good().fetchOrder("987654", "BTC/USDT"));
    expect(query).toBeInstanceOf(ccxt.OrderNotFound);
    expect(query.message).toContain('{"code":-2013,"msg":"Order does not exist."}');
  });

  it("-1100 malformed and -1102 missing parameters → BadRequest; -1121 unknown symbol → BadSymbol", async () => {
    const exchange = good();
    const malformed = await errorOf(exchange.privateGetOrder({ symbol: "BTCUSDT", orderId: "12ab" }));
    expect(malformed).toBeInstanceOf(ccxt.BadRequest);
    expect(malformed.message).toContain(
      `{"code":-1100,"msg":"Illegal characters found in parameter 'orderId'; legal range is '^[0-9]{1,20}$'."}`,
    );
    const missing = await errorOf(exchange.privateGetOrder({ symbol: "BTCUSDT" }));
    expect(missing).toBeInstanceOf(ccxt.BadRequest);
    expect(missing.message).toContain(
      "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
    );
    const symbol = await errorOf(exchange.publicGetTicker24hr({ symbol: "NOPEUSDT" }));
    expect(symbol).toBeInstanceOf(ccxt.BadSymbol);
  });
});

describe("rate limits raise ccxt's exceptions", () => {
  it("429 past the request weight limit, then 418 and a ban for a client that keeps going → DDoSProtection", async () => {
    const clock = manualClock(Date.UTC(2031, 0, 1, 0, 0, 5));
    const sim = await startExchangeSim({
      clock,
      accounts: [{ apiKey: "k", secret: "s" }],
      rateLimits: { requestWeightPerMinute: 30, bannedAfter429s: 3 },
    });
    try {
      const exchange = client(sim, "k", "s", { rateLimit: false });
      await exchange.loadMarkets();
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) {
        const error = await errorOf(exchange.fetchTime()).catch(() => undefined);
        if (error !== undefined) {
          // ccxt's binance maps HTTP 429 and 418 alike to DDoSProtection (RateLimitExceeded is not raised for them).
          expect(error).toBeInstanceOf(ccxt.DDoSProtection);
          expect(error).not.toBeInstanceOf(ccxt.RateLimitExceeded);
        }
        statuses.push(lastAnswer(sim).status ?? 0);
      }
      expect(statuses.slice(0, 10)).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 200]);
      expect(statuses.slice(10, 13)).toEqual([429, 429, 429]);
      expect(statuses.slice(13)).toEqual([418, 418, 418, 418, 418, 418, 418]);
      expect(sim.requests().at(-1)?.code).toBe(-1003);
      clock.advance(121_000);
      expect(await exchange.fetchTime()).toBe(clock());
    } finally {
      await sim.close();
    }
  });

  it("429 -1015 past the order count limit → DDoSProtection", async () => {
    const clock = manualClock(Date.now());
    const sim = await startExchangeSim({
      clock,
      accounts: [{ apiKey: "k", secret: "s", balances: { USDT: "1000" } }],
      rateLimits: { ordersPer10Seconds: 2 },
    });
    try {
      const exchange = client(sim, "k", "s", { clock });
      await exchange.createOrder("BTC/USDT", "limit", "buy", 0.001, 40000);
      await exchange.createOrder("BTC/USDT", "limit", "buy", 0.001, 40000);
      const error = await errorOf(exchange.createOrder("BTC/USDT", "limit", "buy", 0.001, 40000));
      expect(error).toBeInstanceOf(ccxt.DDoSProtection);
      expect(error.message).toContain(
        '{"code":-1015,"msg":"Too many new orders; current limit is 2 orders per 10 SECOND."}',
      );
      clock.advance(10_000);
      expect((await exchange.createOrder("BTC/USDT", "limit", "buy", 0.001, 40000)).status).toBe("open");
    } finally {
      await sim.close();
    }
  });
});
