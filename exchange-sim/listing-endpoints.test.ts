import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExchangeSim, manualClock, startExchangeSim } from "./index.ts";

const API_KEY = "wallet-reader";
const SECRET = "wallet-secret";

async function call(sim: ExchangeSim, method: string, path: string, init: { apiKey?: string } = {}) {
  const response = await fetch(`${sim.url}${path}`, {
    method,
    headers: init.apiKey === undefined ? {} : { "X-MBX-APIKEY": init.apiKey },
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

const signature = (params: string, secret = SECRET) =>
  createHmac("sha256", secret).update(params).digest("hex");

describe("the listings an unmodified ccxt client reads while loading markets", () => {
  const clock = manualClock(Date.UTC(2025, 0, 6, 12));
  let sim: ExchangeSim;
  beforeAll(async () => {
    sim = await startExchangeSim({
      clock,
      accounts: [
        { apiKey: API_KEY, secret: SECRET, balances: { USDT: "10000", BTC: "0.5", XYZ: "3.25" } },
        { apiKey: "revoked", secret: "revoked-secret" },
      ],
    });
    sim.revokeKey("revoked");
  });
  afterAll(() => sim.close());

  const signed = (path: string, params = "", secret = SECRET) => {
    const query = `${params}${params === "" ? "" : "&"}recvWindow=5000&timestamp=${clock()}`;
    return `${path}?${query}&signature=${signature(query, secret)}`;
  };

  it("capital/config/getall lists every traded asset and the account's other holdings with its balances, none depositable or withdrawable", async () => {
    // A resting buy locks its cost, which the wallet reports as locked.
    const order = `symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&timestamp=${clock()}`;
    const placed = await fetch(`${sim.url}/api/v3/order`, {
      method: "POST",
      headers: { "X-MBX-APIKEY": API_KEY, "Content-Type": "application/x-www-form-urlencoded" },
      body: `${order}&signature=${signature(order)}`,
    });
    expect(placed.status).toBe(200);

    const { status, body } = await call(sim, "GET", signed("/sapi/v1/capital/config/getall"), {
      apiKey: API_KEY,
    });
    expect(status).toBe(200);
    const coins = body as Array<Record<string, unknown>>;
    expect(coins.map((coin) => coin.coin)).toEqual(["BNB", "BTC", "ETH", "SOL", "USDT", "XYZ"]);
    expect(coins.find((coin) => coin.coin === "USDT")).toEqual({
      coin: "USDT",
      depositAllEnable: false,
      withdrawAllEnable: false,
      name: "USDT",
      free: "9700",
      locked: "300",
      freeze: "0",
      withdrawing: "0",
      ipoing: "0",
      ipoable: "0",
      storage: "0",
      isLegalMoney: false,
      trading: true,
      networkList: [
        {
          network: "USDT",
          coin: "USDT",
          withdrawIntegerMultiple: "0.00000001",
          isDefault: true,
          depositEnable: false,
          withdrawEnable: false,
          depositDesc: "Deposits are not available on this paper exchange.",
          withdrawDesc: "Withdrawals are not available on this paper exchange.",
          specialTips: "",
          specialWithdrawTips: "",
          name: "USDT",
          resetAddressStatus: false,
          addressRegex: "",
          memoRegex: "",
          withdrawFee: "0",
          withdrawMin: "0",
          withdrawMax: "0",
          minConfirm: 0,
          unLockConfirm: 0,
          sameAddress: false,
          withdrawTag: false,
          estimatedArrivalTime: 0,
          busy: false,
        },
      ],
    });
    expect(coins.find((coin) => coin.coin === "BTC")).toMatchObject({
      free: "0.5",
      locked: "0",
      trading: true,
    });
    expect(coins.find((coin) => coin.coin === "ETH")).toMatchObject({
      free: "0",
      locked: "0",
      trading: true,
    });
    // Held, but no listed pair trades it.
    expect(coins.find((coin) => coin.coin === "XYZ")).toMatchObject({ free: "3.25", trading: false });
  });

  it("capital/config/getall and isolated allPairs check key, signature and timestamp as every signed endpoint does", async () => {
    for (const path of ["/sapi/v1/capital/config/getall", "/sapi/v1/margin/isolated/allPairs"]) {
      expect(await call(sim, "GET", signed(path))).toMatchObject({
        status: 401,
        body: { code: -2014, msg: "API-key format invalid." },
      });
      expect(await call(sim, "GET", signed(path), { apiKey: "nobody" })).toMatchObject({
        status: 401,
        body: { code: -2015 },
      });
      expect(await call(sim, "GET", signed(path, "", "revoked-secret"), { apiKey: "revoked" })).toMatchObject(
        { status: 401, body: { code: -2015 } },
      );
      expect(await call(sim, "GET", signed(path, "", "wrong-secret"), { apiKey: API_KEY })).toEqual({
        status: 400,
        body: { code: -1022, msg: "Signature for this request is not valid." },
      });
      expect(await call(sim, "GET", path, { apiKey: API_KEY })).toEqual({
        status: 400,
        body: {
          code: -1102,
          msg: "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
        },
      });
      const stale = `timestamp=${clock() - 6000}`;
      expect(
        await call(sim, "GET", `${path}?${stale}&signature=${signature(stale)}`, { apiKey: API_KEY }),
      ).toMatchObject({ status: 400, body: { code: -1021 } });
    }
  });

  it("margin/allPairs needs a valid API key but no signature, and lists no pair: no symbol allows margin trading", async () => {
    expect(await call(sim, "GET", "/sapi/v1/margin/allPairs", { apiKey: API_KEY })).toEqual({
      status: 200,
      body: [],
    });
    // ccxt signs every sapi call; the signature of a MARKET_DATA endpoint is not checked.
    expect(
      await call(sim, "GET", signed("/sapi/v1/margin/allPairs", "", "any-secret"), { apiKey: API_KEY }),
    ).toEqual({ status: 200, body: [] });
    expect(await call(sim, "GET", "/sapi/v1/margin/allPairs")).toEqual({
      status: 401,
      body: { code: -2014, msg: "API-key format invalid." },
    });
    expect(await call(sim, "GET", "/sapi/v1/margin/allPairs", { apiKey: "revoked" })).toMatchObject({
      status: 401,
      body: { code: -2015 },
    });
    expect(await call(sim, "GET", "/sapi/v1/margin/allPairs?symbol=BTCUSDT", { apiKey: API_KEY })).toEqual({
      status: 400,
      body: { code: -3028, msg: "Not a valid margin pair." },
    });
    expect(await call(sim, "GET", signed("/sapi/v1/margin/isolated/allPairs"), { apiKey: API_KEY })).toEqual({
      status: 200,
      body: [],
    });
    expect(
      await call(sim, "GET", signed("/sapi/v1/margin/isolated/allPairs", "symbol=ETHBTC"), {
        apiKey: API_KEY,
      }),
    ).toMatchObject({ status: 400, body: { code: -3028 } });
  });

  it("the futures exchangeInfo endpoints are public and list no symbol", async () => {
    expect(await call(sim, "GET", "/fapi/v1/exchangeInfo")).toEqual({
      status: 200,
      body: {
        timezone: "UTC",
        serverTime: clock(),
        futuresType: "U_MARGINED",
        assets: [],
        rateLimits: [{ rateLimitType: "REQUEST_WEIGHT", interval: "MINUTE", intervalNum: 1, limit: 6000 }],
        exchangeFilters: [],
        symbols: [],
      },
    });
    expect(await call(sim, "GET", "/dapi/v1/exchangeInfo")).toMatchObject({
      status: 200,
      body: { timezone: "UTC", serverTime: clock(), exchangeFilters: [], symbols: [] },
    });
    // Only the listing: every other futures call is still unsupported.
    expect(await call(sim, "GET", "/fapi/v1/ticker/price")).toMatchObject({
      status: 404,
      body: { code: -1020 },
    });
  });

  it("charges Binance's request weights", async () => {
    clock.advance(60_000);
    const weightOf = async (path: string, apiKey?: string) => {
      const before = clock();
      await call(sim, "GET", path, apiKey === undefined ? {} : { apiKey });
      const [entry] = sim.requests({ sinceMs: before, path: path.split("?")[0] as string });
      return entry?.weight;
    };
    expect(await weightOf(signed("/sapi/v1/capital/config/getall"), API_KEY)).toBe(10);
    expect(await weightOf("/sapi/v1/margin/allPairs", API_KEY)).toBe(1);
    expect(await weightOf(signed("/sapi/v1/margin/isolated/allPairs"), API_KEY)).toBe(10);
    expect(await weightOf("/fapi/v1/exchangeInfo")).toBe(1);
    expect(await weightOf("/dapi/v1/exchangeInfo")).toBe(1);
  });
});
