import ccxt from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binanceUrlsForEndpoint } from "../bot-runtime/exchange/binance-urls.ts";
import { type ExchangeSim, startExchangeSim } from "./index.ts";

// A client configured as any ccxt user would: keys and the simulator's URLs, none of the spot-only options
// the bot runtime sets. Its loadMarkets reads the wallet's coins, the margin pairs and the futures listings.
const defaultClient = (sim: ExchangeSim) =>
  new ccxt.binance({
    apiKey: "paper",
    secret: "paper-secret",
    urls: { api: binanceUrlsForEndpoint(sim.url) },
  });

describe("a ccxt binance client with default options", () => {
  let sim: ExchangeSim;
  beforeAll(async () => {
    sim = await startExchangeSim({
      seed: "default-options",
      accounts: [{ apiKey: "paper", secret: "paper-secret", balances: { USDT: "10000", BTC: "0.5" } }],
    });
  });
  afterAll(() => sim.close());

  it("loads the markets as spot markets only, with the wallet's coins", async () => {
    const exchange = defaultClient(sim);
    expect(exchange.options).toMatchObject({
      fetchCurrencies: true,
      fetchMargins: true,
      fetchMarkets: { types: ["spot", "linear", "inverse"] },
    });
    const markets = await exchange.loadMarkets();

    expect(Object.keys(markets).sort()).toEqual(["BNB/USDT", "BTC/USDT", "ETH/BTC", "ETH/USDT", "SOL/USDT"]);
    for (const market of Object.values(markets)) {
      expect(market).toMatchObject({ type: "spot", spot: true, margin: false, active: true });
      expect(market?.marginModes).toEqual({ cross: false, isolated: false });
    }
    expect(exchange.currencies.USDT).toMatchObject({
      id: "USDT",
      active: true,
      deposit: false,
      withdraw: false,
      precision: 0.00000001,
    });
    const startup = sim.requests({ apiKey: "paper" }).map((entry) => [entry.path, entry.status]);
    expect(startup).toEqual(
      expect.arrayContaining([
        ["/sapi/v1/capital/config/getall", 200],
        ["/sapi/v1/margin/allPairs", 200],
        ["/sapi/v1/margin/isolated/allPairs", 200],
      ]),
    );
    const publicPaths = sim.requests().map((entry) => `${entry.path} ${entry.status}`);
    expect(publicPaths).toEqual(
      expect.arrayContaining([
        "/api/v3/exchangeInfo 200",
        "/fapi/v1/exchangeInfo 200",
        "/dapi/v1/exchangeInfo 200",
      ]),
    );
  });

  it("fetches the balance, places a limit order that rests at the exchange, and cancels it", async () => {
    const exchange = defaultClient(sim);
    const balance = await exchange.fetchBalance();
    expect(balance.USDT).toMatchObject({ free: 10000, used: 0, total: 10000 });
    expect(balance.BTC).toMatchObject({ free: 0.5, used: 0, total: 0.5 });

    const price = Math.floor(Number(sim.price("BTCUSDT")) / 2);
    const order = await exchange.createOrder("BTC/USDT", "limit", "buy", 0.01, price);
    expect(order).toMatchObject({ status: "open", price, amount: 0.01 });
    expect(sim.orders({ apiKey: "paper" })).toEqual([
      expect.objectContaining({ orderId: Number(order.id), status: "NEW", side: "BUY", type: "LIMIT" }),
    ]);
    expect((await exchange.fetchBalance()).USDT?.used).toBe(price / 100);

    const canceled = await exchange.cancelOrder(String(order.id), "BTC/USDT");
    expect(canceled.status).toBe("canceled");
    expect(sim.orders({ apiKey: "paper" })).toEqual([
      expect.objectContaining({ orderId: Number(order.id), status: "CANCELED" }),
    ]);
    expect((await exchange.fetchBalance()).USDT).toMatchObject({ free: 10000, used: 0 });
  });
});
