import ccxt from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binanceConfigForEndpoint } from "../bot-runtime/exchange/binance-urls.ts";
import { apiKeyId, type ExchangeSim, startExchangeSim } from "./index.ts";

const client = (sim: ExchangeSim, apiKey: string, secret: string) =>
  new ccxt.binance({ apiKey, secret, ...binanceConfigForEndpoint(sim.url) });

async function admin(sim: ExchangeSim, method: string, path: string, body?: unknown) {
  const response = await fetch(`${sim.adminUrl}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  return { status: response.status, body: (await response.json()) as never };
}

describe("admin API", () => {
  let sim: ExchangeSim;
  beforeAll(async () => {
    sim = await startExchangeSim({
      seed: "admin",
      accounts: [
        {
          apiKey: "alpha-key-1",
          secret: "alpha-secret-1",
          accountId: "alpha",
          balances: { USDT: "5000", BTC: "0.2" },
        },
        { apiKey: "beta-key-1", secret: "beta-secret-1", balances: { ETH: "3" } },
      ],
    });
  });
  afterAll(() => sim.close());

  it("listens on loopback only, on its own port", () => {
    expect(sim.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.adminUrl).not.toBe(sim.url);
  });

  it("lists accounts with balances and key ids, never keys or secrets", async () => {
    const { status, body } = await admin(sim, "GET", "/admin/accounts");
    expect(status).toBe(200);
    expect(body).toEqual([
      {
        accountId: "alpha",
        keys: [
          {
            keyId: apiKeyId("alpha-key-1"),
            kind: "HMAC_SHA256",
            canTrade: true,
            canWithdraw: false,
            revoked: false,
            createdAt: expect.any(Number),
          },
        ],
        balances: {
          BTC: { free: "0.20000000", locked: "0.00000000" },
          USDT: { free: "5000.00000000", locked: "0.00000000" },
        },
        commission: { maker: "0.00100000", taker: "0.00100000" },
      },
      expect.objectContaining({
        accountId: "account-1",
        balances: { ETH: { free: "3.00000000", locked: "0.00000000" } },
      }),
    ]);
    const text = JSON.stringify(body);
    for (const secret of ["alpha-key-1", "alpha-secret-1", "beta-key-1", "beta-secret-1"])
      expect(text).not.toContain(secret);
  });

  it("reads back every order and trade of an account, with the key that placed it", async () => {
    const exchange = client(sim, "alpha-key-1", "alpha-secret-1");
    await exchange.createOrder("BTC/USDT", "limit", "buy", 0.001, 40000, { clientOrderId: "admin-1" });
    await exchange.createOrder("BTC/USDT", "market", "sell", 0.001, undefined, { clientOrderId: "admin-2" });
    await exchange.cancelOrder("", "BTC/USDT", { clientOrderId: "admin-1" });
    const orders = await admin(sim, "GET", "/admin/orders?apiKey=alpha-key-1");
    expect(orders.status).toBe(200);
    expect(orders.body).toEqual([
      expect.objectContaining({
        clientOrderId: "admin-1",
        status: "CANCELED",
        accountId: "alpha",
        keyId: apiKeyId("alpha-key-1"),
      }),
      expect.objectContaining({ clientOrderId: "admin-2", status: "FILLED", executedQty: "0.00100000" }),
    ]);
    const trades = await admin(sim, "GET", "/admin/trades?accountId=alpha&symbol=BTC/USDT");
    expect((trades.body as Array<{ orderId: number }>).map((trade) => trade.orderId)).toEqual(
      Array((trades.body as unknown[]).length).fill((orders.body as Array<{ orderId: number }>)[1]?.orderId),
    );
    expect(sim.orders({ apiKey: "alpha-key-1" })).toEqual(orders.body);
  });

  it("adds a new key to an existing account at runtime and revokes the old one (key rotation)", async () => {
    const added = await admin(sim, "POST", "/admin/accounts", {
      apiKey: "alpha-key-2",
      secret: "alpha-secret-2",
      accountId: "alpha",
    });
    expect(added).toEqual({ status: 201, body: { accountId: "alpha", keyId: apiKeyId("alpha-key-2") } });
    const rotated = client(sim, "alpha-key-2", "alpha-secret-2");
    const since = Date.now();
    expect((await rotated.fetchBalance()).USDT?.total).toBe(
      (await client(sim, "alpha-key-1", "alpha-secret-1").fetchBalance()).USDT?.total,
    );
    const requests = await admin(sim, "GET", `/admin/requests?apiKey=alpha-key-2&since=${since}`);
    expect(requests.body).toEqual([
      expect.objectContaining({
        method: "GET",
        path: "/api/v3/account",
        keyId: apiKeyId("alpha-key-2"),
        status: 200,
      }),
    ]);

    expect(await admin(sim, "DELETE", "/admin/accounts/alpha-key-1")).toEqual({
      status: 200,
      body: { revoked: true },
    });
    await expect(client(sim, "alpha-key-1", "alpha-secret-1").fetchBalance()).rejects.toBeInstanceOf(
      ccxt.AuthenticationError,
    );
    expect(await admin(sim, "DELETE", "/admin/accounts/never-existed")).toEqual({
      status: 404,
      body: { error: "no such API key" },
    });
  });

  it("creates new accounts and explains invalid ones by field", async () => {
    const created = await admin(sim, "POST", "/admin/accounts", {
      apiKey: "gamma-key",
      secret: "gamma-secret",
      balances: { USDT: "100" },
    });
    expect(created.status).toBe(201);
    expect((await client(sim, "gamma-key", "gamma-secret").fetchBalance()).USDT?.total).toBe(100);
    const invalid = await admin(sim, "POST", "/admin/accounts", {
      apiKey: "delta",
      balances: { usdt: "1.5x" },
    });
    expect(invalid.status).toBe(400);
    expect((invalid.body as { error: string }).error).toBe(
      "account: balances.usdt: asset names are upper-case letters and digits, like USDT",
    );
    const existing = await admin(sim, "POST", "/admin/accounts", { apiKey: "gamma-key", secret: "other" });
    expect(existing.status).toBe(400);
  });

  it("forces a price absolutely or by a percentage, and the API reports it", async () => {
    expect(await admin(sim, "POST", "/admin/price", { symbol: "BTCUSDT", price: "30000" })).toEqual({
      status: 200,
      body: { symbol: "BTCUSDT", price: "30000.00000000" },
    });
    const ticker = await fetch(`${sim.url}/api/v3/ticker/price?symbol=BTCUSDT`).then((response) =>
      response.json(),
    );
    expect(Number((ticker as { price: string }).price)).toBeCloseTo(30000, -1);
    const moved = await admin(sim, "POST", "/admin/price", { symbol: "ETH/USDT", movePct: -50 });
    expect(moved.status).toBe(200);
    const bad = await admin(sim, "POST", "/admin/price", { symbol: "BTCUSDT" });
    expect(bad.status).toBe(400);
    expect((bad.body as { error: string }).error).toContain('send {"symbol": "BTCUSDT", "price": "50000"}');
  });

  it("sets, shows and clears faults, and rejects unknown fault settings", async () => {
    const set = await admin(sim, "POST", "/admin/faults", {
      latencyMs: 5,
      clockSkewMs: 100,
      rate429Storm: false,
    });
    expect(set.body).toEqual({
      latencyMs: 5,
      errorRate5xx: 0,
      hangRate: 0,
      rate429Storm: false,
      clockSkewMs: 100,
      dropResponseAfterOrderAccepted: 0,
      paths: null,
    });
    expect((await admin(sim, "GET", "/admin/faults")).body).toEqual(set.body);
    expect((await admin(sim, "DELETE", "/admin/faults")).body).toMatchObject({
      latencyMs: 0,
      clockSkewMs: 0,
    });
    const invalid = await admin(sim, "POST", "/admin/faults", { errorRate5xx: 2, typo: true });
    expect(invalid.status).toBe(400);
    expect((invalid.body as { error: string }).error).toBe(
      'faults: errorRate5xx: must be between 0 and 1; (top level): Unrecognized key: "typo"',
    );
  });

  it("answers unknown routes and invalid JSON with an explanation", async () => {
    const unknown = await admin(sim, "GET", "/admin/nothing");
    expect(unknown.status).toBe(404);
    expect((unknown.body as { error: string }).error).toContain("GET /admin/orders");
    const response = await fetch(`${sim.adminUrl}/admin/price`, { method: "POST", body: "{nope" });
    expect(response.status).toBe(400);
  });

  it("resets to the starting accounts, balances and keys", async () => {
    expect(await admin(sim, "POST", "/admin/reset")).toEqual({ status: 200, body: { reset: true } });
    expect(sim.orders()).toEqual([]);
    expect(sim.requests()).toEqual([]);
    const accounts = sim.accounts();
    expect(accounts.map((account) => account.accountId)).toEqual(["alpha", "account-1"]);
    expect(accounts[0]?.balances.USDT?.free).toBe("5000.00000000");
    expect(accounts[0]?.keys.map((key) => key.revoked)).toEqual([false]);
    await expect(client(sim, "gamma-key", "gamma-secret").fetchBalance()).rejects.toBeInstanceOf(
      ccxt.AuthenticationError,
    );
  });
});
