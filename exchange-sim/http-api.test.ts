import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultSymbolConfigs, type ExchangeSim, manualClock, startExchangeSim } from "./index.ts";

// The key pair and request of Binance's own signed-endpoint examples (rest-api.md).
const DOC_API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
const DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
const DOC_TIMESTAMP = 1499827319559;
const DOC_PARAMS =
  "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";

const ltcbtc = {
  symbol: "LTCBTC",
  baseAsset: "LTC",
  quoteAsset: "BTC",
  tickSize: "0.000001",
  maxPrice: "100000",
  stepSize: "0.01",
  maxQty: "100000",
  marketMaxQty: "5000",
  minNotional: "0.0001",
  maxNotional: "9000000",
  initialPrice: "0.1",
  volumePerMinute: "100",
  bookLevelQty: "50",
};

async function call(
  sim: ExchangeSim,
  method: string,
  path: string,
  init: { body?: string; apiKey?: string } = {},
) {
  const response = await fetch(`${sim.url}${path}`, {
    method,
    headers: {
      ...(init.apiKey === undefined ? {} : { "X-MBX-APIKEY": init.apiKey }),
      ...(init.body === undefined ? {} : { "Content-Type": "application/x-www-form-urlencoded" }),
    },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

const sign = (params: string, secret = DOC_SECRET) =>
  createHmac("sha256", secret).update(params).digest("hex");

describe("the Binance HTTP API", () => {
  const clock = manualClock(DOC_TIMESTAMP);
  let sim: ExchangeSim;
  beforeAll(async () => {
    sim = await startExchangeSim({
      clock,
      symbols: [...defaultSymbolConfigs, ltcbtc],
      accounts: [{ apiKey: DOC_API_KEY, secret: DOC_SECRET, balances: { BTC: "10", LTC: "100" } }],
    });
  });
  afterAll(() => sim.close());

  it("accepts Binance's documented HMAC example as a request body, as a query string, and mixed", async () => {
    expect(sign(DOC_PARAMS)).toBe("c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71");
    const asBody = await call(sim, "POST", "/api/v3/order", {
      apiKey: DOC_API_KEY,
      body: `${DOC_PARAMS}&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71`,
    });
    expect(asBody.status).toBe(200);
    expect(asBody.body).toMatchObject({
      symbol: "LTCBTC",
      status: "NEW",
      price: "0.10000000",
      origQty: "1.00000000",
    });

    const asQuery = await call(
      sim,
      "POST",
      `/api/v3/order?${DOC_PARAMS}&signature=${sign(DOC_PARAMS).toUpperCase()}`,
      {
        apiKey: DOC_API_KEY,
      },
    );
    expect(asQuery.status).toBe(200);

    const mixed = await call(sim, "POST", "/api/v3/order?symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC", {
      apiKey: DOC_API_KEY,
      body: "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature=0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77",
    });
    expect(mixed.status).toBe(200);
    expect(sim.orders({ apiKey: DOC_API_KEY })).toHaveLength(3);
  });

  it("checks the timestamp against the server time exactly as Binance documents", async () => {
    const at = async (timestamp: number, recvWindow: number) => {
      const params = `recvWindow=${recvWindow}&timestamp=${timestamp}`;
      return (
        await call(sim, "GET", `/api/v3/account?${params}&signature=${sign(params)}`, { apiKey: DOC_API_KEY })
      ).status;
    };
    const now = clock();
    expect(await at(now - 5000, 5000)).toBe(200);
    expect(await at(now - 5001, 5000)).toBe(400);
    expect(await at(now + 999, 5000)).toBe(200);
    expect(await at(now + 1000, 5000)).toBe(400);
    expect(await at(now - 60_000, 60_000)).toBe(200);
    const tooLarge = `recvWindow=60001&timestamp=${now}`;
    expect(
      (
        await call(sim, "GET", `/api/v3/account?${tooLarge}&signature=${sign(tooLarge)}`, {
          apiKey: DOC_API_KEY,
        })
      ).body,
    ).toEqual({ code: -1131, msg: "recvWindow must be less than 60000" });
  });

  it("answers errors with Binance's exact payloads and statuses", async () => {
    expect(await call(sim, "GET", "/api/v3/account?timestamp=1")).toMatchObject({
      status: 401,
      body: { code: -2014, msg: "API-key format invalid." },
    });
    expect(await call(sim, "GET", "/fapi/v1/order")).toMatchObject({
      status: 404,
      body: { code: -1020, msg: "This operation is not supported." },
    });
    expect(await call(sim, "GET", "/api/v3/klines?symbol=BTCUSDT&interval=7m")).toMatchObject({
      status: 400,
      body: { code: -1120, msg: "Invalid interval." },
    });
    expect(await call(sim, "GET", "/api/v3/klines?symbol=BTCUSDT&interval=1m&interval=5m")).toMatchObject({
      status: 400,
      body: { code: -1101, msg: "Duplicate values for a parameter detected." },
    });
    expect(await call(sim, "GET", "/api/v3/depth")).toMatchObject({
      status: 400,
      body: { code: -1102, msg: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed." },
    });
    const params = `symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.123456789&price=100&timestamp=${clock()}`;
    expect(
      (
        await call(sim, "POST", "/api/v3/order", {
          apiKey: DOC_API_KEY,
          body: `${params}&signature=${sign(params)}`,
        })
      ).body,
    ).toEqual({ code: -1111, msg: "Parameter 'quantity' has too much precision." });
  });

  it("reports the used request weight on every answer and the order counts on order placement", async () => {
    clock.advance(60_000);
    const ping = await call(sim, "GET", "/api/v3/ping");
    expect(ping.headers.get("x-mbx-used-weight-1m")).toBe("1");
    const info = await call(sim, "GET", "/api/v3/exchangeInfo?symbol=BTCUSDT");
    expect(info.headers.get("x-mbx-used-weight-1m")).toBe("21");
    const params = `symbol=LTCBTC&side=SELL&type=MARKET&quantity=1&newOrderRespType=ACK&timestamp=${clock()}`;
    const order = await call(sim, "POST", "/api/v3/order", {
      apiKey: DOC_API_KEY,
      body: `${params}&signature=${sign(params)}`,
    });
    expect(order.headers.get("x-mbx-order-count-10s")).toBe("1");
    expect(order.headers.get("x-mbx-order-count-1d")).toBe("4");
    expect(Object.keys(order.body)).toEqual([
      "symbol",
      "orderId",
      "orderListId",
      "clientOrderId",
      "transactTime",
    ]);
  });

  it("validates test orders without placing them", async () => {
    const before = sim.orders({ apiKey: DOC_API_KEY }).length;
    const params = `symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000&timestamp=${clock()}`;
    const test = await call(sim, "POST", "/api/v3/order/test", {
      apiKey: DOC_API_KEY,
      body: `${params}&signature=${sign(params)}`,
    });
    expect(test).toMatchObject({ status: 200, body: {} });
    const tooSmall = params.replace("quantity=0.001", "quantity=0.00001");
    expect(
      (
        await call(sim, "POST", "/api/v3/order/test", {
          apiKey: DOC_API_KEY,
          body: `${tooSmall}&signature=${sign(tooSmall)}`,
        })
      ).body,
    ).toEqual({ code: -1013, msg: "Filter failure: NOTIONAL" });
    expect(sim.orders({ apiKey: DOC_API_KEY })).toHaveLength(before);
  });

  it("publishes exchange info with Binance's rate limits and filters", async () => {
    const info = await call(sim, "GET", "/api/v3/exchangeInfo?symbols=%5B%22BTCUSDT%22%5D");
    expect(info.body.rateLimits).toEqual([
      { rateLimitType: "REQUEST_WEIGHT", interval: "MINUTE", intervalNum: 1, limit: 6000 },
      { rateLimitType: "ORDERS", interval: "SECOND", intervalNum: 10, limit: 100 },
      { rateLimitType: "ORDERS", interval: "DAY", intervalNum: 1, limit: 200000 },
    ]);
    const [symbol] = info.body.symbols as Array<{ filters: Array<{ filterType: string }> }>;
    expect(symbol?.filters.map((filter) => filter.filterType)).toEqual([
      "PRICE_FILTER",
      "LOT_SIZE",
      "MARKET_LOT_SIZE",
      "PERCENT_PRICE_BY_SIDE",
      "NOTIONAL",
      "MAX_NUM_ORDERS",
    ]);
    expect(symbol?.filters[0]).toEqual({
      filterType: "PRICE_FILTER",
      minPrice: "0.01000000",
      maxPrice: "1000000.00000000",
      tickSize: "0.01000000",
    });
  });
});
