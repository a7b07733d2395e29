import { generateKeyPairSync } from "node:crypto";
import ccxt from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binanceConfigForEndpoint } from "../bot-runtime/exchange/binance-urls.ts";
import { type Clock, type ExchangeSim, manualClock, startExchangeSim } from "./index.ts";

function client(sim: ExchangeSim, apiKey: string, secret: string, clock?: Clock) {
  const exchange = new ccxt.binance({ apiKey, secret, ...binanceConfigForEndpoint(sim.url) });
  // Sign with the simulator's clock, as a bot's clock agrees with the exchange's.
  if (clock !== undefined) exchange.milliseconds = () => clock();
  return exchange;
}

const ed25519 = generateKeyPairSync("ed25519");
const edPrivatePem = ed25519.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const edPublicPem = ed25519.publicKey.export({ type: "spki", format: "pem" }).toString();

describe("trading through ccxt", () => {
  let sim: ExchangeSim;
  beforeAll(async () => {
    sim = await startExchangeSim({
      seed: "trading",
      accounts: [
        { apiKey: "trader", secret: "trader-secret", balances: { USDT: "10000", BTC: "0.5" } },
        { apiKey: "ed-trader", publicKeyPem: edPublicPem, balances: { USDT: "1000" } },
        { apiKey: "withdrawer", secret: "w-secret", canWithdraw: true },
      ],
    });
  });
  afterAll(() => sim.close());
  const trader = () => client(sim, "trader", "trader-secret");

  it("fetchBalance reports the starting balances", async () => {
    const balance = await trader().fetchBalance();
    expect(balance.USDT).toMatchObject({ free: 10000, used: 0, total: 10000 });
    expect(balance.BTC).toMatchObject({ free: 0.5, used: 0, total: 0.5 });
  });

  it("a limit order with a client order id rests, locks its cost, and is found by id and by client order id", async () => {
    const exchange = trader();
    const order = await exchange.createOrder("BTC/USDT", "limit", "buy", 0.01, 50000, {
      clientOrderId: "grid-buy-1",
    });
    expect(order).toMatchObject({
      status: "open",
      clientOrderId: "grid-buy-1",
      price: 50000,
      amount: 0.01,
      filled: 0,
    });
    const balance = await exchange.fetchBalance();
    expect(balance.USDT?.used).toBe(500);
    expect(balance.USDT?.free).toBe(9500);
    expect((await exchange.fetchOrder(String(order.id), "BTC/USDT")).status).toBe("open");
    const byClientId = await exchange.fetchOrder("", "BTC/USDT", { clientOrderId: "grid-buy-1" });
    expect(byClientId.id).toBe(order.id);
    const open = await exchange.fetchOpenOrders("BTC/USDT");
    expect(open.map((entry) => entry.clientOrderId)).toContain("grid-buy-1");
    const canceled = await exchange.cancelOrder(String(order.id), "BTC/USDT");
    expect(canceled.status).toBe("canceled");
    expect((await exchange.fetchBalance()).USDT?.used).toBe(0);
  });

  it("a market order fills at once against the asks and pays the taker fee in the bought asset", async () => {
    const exchange = trader();
    const ticker = await exchange.fetchTicker("BTC/USDT");
    const order = await exchange.createOrder("BTC/USDT", "market", "buy", 0.01);
    expect(order.status).toBe("closed");
    expect(order.filled).toBe(0.01);
    expect(order.average).toBeGreaterThanOrEqual((ticker.ask ?? 0) * 0.999);
    expect(order.fee).toEqual({ currency: "BTC", cost: 0.00001 });
    expect(order.trades.length).toBeGreaterThan(0);
  });

  it("a market buy by cost spends the quote amount (quoteOrderQty)", async () => {
    const order = await trader().createMarketBuyOrderWithCost("BTC/USDT", 100);
    expect(order.status).toBe("closed");
    expect(order.cost).toBeLessThanOrEqual(100);
    expect(order.cost).toBeGreaterThan(99);
  });

  it("cancelAllOrders cancels every open order of the symbol", async () => {
    const exchange = trader();
    await exchange.createOrder("BTC/USDT", "limit", "buy", 0.001, 40000);
    await exchange.createOrder("BTC/USDT", "limit", "sell", 0.001, 90000);
    const canceled = await exchange.cancelAllOrders("BTC/USDT");
    expect(canceled.map((order) => order.status)).toEqual(["canceled", "canceled"]);
    expect(await exchange.fetchOpenOrders("BTC/USDT")).toEqual([]);
  });

  it("fetchMyTrades lists the fills with price, amount, fee and taker or maker", async () => {
    const exchange = trader();
    const order = await exchange.createOrder("BTC/USDT", "market", "sell", 0.002);
    const trades = await exchange.fetchMyTrades("BTC/USDT");
    const mine = trades.filter((trade) => trade.order === order.id);
    expect(mine.length).toBeGreaterThan(0);
    for (const trade of mine) {
      expect(trade).toMatchObject({ side: "sell", takerOrMaker: "taker", symbol: "BTC/USDT" });
      expect(trade.fee?.currency).toBe("USDT");
      expect(trade.fee?.cost).toBeCloseTo((trade.cost ?? 0) * 0.001, 7);
    }
    expect(mine.reduce((sum, trade) => sum + (trade.amount ?? 0), 0)).toBeCloseTo(0.002, 8);
  });

  it("fetchOrders lists the orders of every state, and fetchTradingFee the account's rates", async () => {
    const exchange = trader();
    const statuses = new Set((await exchange.fetchOrders("BTC/USDT")).map((order) => order.status));
    expect([...statuses].sort()).toEqual(["canceled", "closed"]);
    expect(await exchange.fetchTradingFee("BTC/USDT")).toMatchObject({
      symbol: "BTC/USDT",
      maker: 0.001,
      taker: 0.001,
    });
  });

  it("an Ed25519 key signs requests the way Binance verifies them", async () => {
    const exchange = client(sim, "ed-trader", edPrivatePem);
    expect((await exchange.fetchBalance()).USDT?.free).toBe(1000);
    const order = await exchange.createOrder("ETH/USDT", "limit", "buy", 0.01, 1000);
    expect(order.status).toBe("open");
    expect(sim.orders({ apiKey: "ed-trader" }).map((entry) => entry.orderId)).toEqual([Number(order.id)]);
  });

  it("the API key restrictions endpoint tells whether the key may withdraw", async () => {
    const restrictions = await trader().sapiGetAccountApiRestrictions();
    expect(restrictions).toMatchObject({
      enableWithdrawals: false,
      enableSpotAndMarginTrading: true,
      enableReading: true,
    });
    const withdrawer = await client(sim, "withdrawer", "w-secret").sapiGetAccountApiRestrictions();
    expect(withdrawer).toMatchObject({ enableWithdrawals: true });
  });
});

describe("resting orders through ccxt", () => {
  it("a limit buy below the market fills as maker once the price falls through it", async () => {
    const clock = manualClock(Date.now());
    const sim = await startExchangeSim({
      clock,
      accounts: [{ apiKey: "maker", secret: "maker-secret", balances: { USDT: "10000" } }],
    });
    try {
      const exchange = client(sim, "maker", "maker-secret", clock);
      const last = (await exchange.fetchTicker("BTC/USDT")).last ?? 0;
      const price = Math.floor(last * 0.99);
      const order = await exchange.createOrder("BTC/USDT", "limit", "buy", 0.01, price);
      clock.advance(3000);
      expect((await exchange.fetchOrder(String(order.id), "BTC/USDT")).status).toBe("open");
      sim.setPrice({ symbol: "BTC/USDT", movePct: -3 });
      clock.advance(3000);
      const filled = await exchange.fetchOrder(String(order.id), "BTC/USDT");
      expect(filled).toMatchObject({ status: "closed", filled: 0.01, average: price });
      const [trade] = await exchange.fetchMyTrades("BTC/USDT");
      expect(trade).toMatchObject({
        takerOrMaker: "maker",
        price,
        amount: 0.01,
        fee: { currency: "BTC", cost: 0.00001 },
      });
      const balance = await exchange.fetchBalance();
      expect(balance.BTC?.total).toBe(0.00999);
      expect(balance.USDT?.total).toBeCloseTo(10000 - price * 0.01, 8);
    } finally {
      await sim.close();
    }
  });

  it("fetchBalance alone reports a resting order filled since the last request", async () => {
    const clock = manualClock(Date.now());
    const sim = await startExchangeSim({
      clock,
      accounts: [{ apiKey: "maker", secret: "maker-secret", balances: { USDT: "10000" } }],
    });
    try {
      const exchange = client(sim, "maker", "maker-secret", clock);
      const last = (await exchange.fetchTicker("BTC/USDT")).last ?? 0;
      await exchange.createOrder("BTC/USDT", "limit", "buy", 0.01, Math.floor(last * 0.99));
      sim.setPrice({ symbol: "BTC/USDT", movePct: -3 });
      clock.advance(3000);
      expect((await exchange.fetchBalance()).BTC?.total).toBe(0.00999);
    } finally {
      await sim.close();
    }
  });

  it("the same seed and the same orders at the same times give the same fills", async () => {
    const start = Math.floor(Date.now() / 1000) * 1000;
    const run = async () => {
      const clock = manualClock(start);
      const sim = await startExchangeSim({
        clock,
        seed: "repeatable",
        accounts: [{ apiKey: "bot", secret: "bot-secret", balances: { USDT: "50000", BTC: "1" } }],
      });
      try {
        const exchange = client(sim, "bot", "bot-secret", clock);
        const last = (await exchange.fetchTicker("BTC/USDT")).last ?? 0;
        await exchange.createOrder("BTC/USDT", "market", "buy", 0.05);
        await exchange.createOrder("BTC/USDT", "limit", "buy", 0.3, Math.round(last - 40), {
          clientOrderId: "b1",
        });
        await exchange.createOrder("BTC/USDT", "limit", "sell", 0.3, Math.round(last + 40), {
          clientOrderId: "s1",
        });
        for (let minute = 0; minute < 90; minute++) {
          clock.advance(60_000);
          if (minute % 30 === 0) await exchange.fetchOpenOrders("BTC/USDT");
        }
        await exchange.createOrder("BTC/USDT", "market", "sell", 0.02);
        const trades = await exchange.fetchMyTrades("BTC/USDT");
        return trades.map(({ id, order, side, price, amount, fee, takerOrMaker, timestamp }) => ({
          id,
          order,
          side,
          price,
          amount,
          fee,
          takerOrMaker,
          timestamp,
        }));
      } finally {
        await sim.close();
      }
    };
    const first = await run();
    expect(first.filter((trade) => trade.takerOrMaker === "maker").length).toBeGreaterThan(0);
    expect(await run()).toEqual(first);
  });
});
