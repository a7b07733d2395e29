import { readFileSync } from "node:fs";
import ccxt from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binanceConfigForEndpoint } from "../bot-runtime/exchange/binance-urls.ts";
import { type ExchangeSim, manualClock, parseReplayFile, startExchangeSim } from "./index.ts";

const client = (sim: ExchangeSim) =>
  new ccxt.binance({ apiKey: "md-key", secret: "md-secret", ...binanceConfigForEndpoint(sim.url) });
const accounts = [{ apiKey: "md-key", secret: "md-secret", balances: { USDT: "1000" } }];

describe("market data through ccxt", () => {
  // Public endpoints carry no timestamp, so a frozen clock makes every answer exact.
  const clock = manualClock(Date.UTC(2030, 5, 1, 12, 34, 56, 789));
  let sim: ExchangeSim;
  beforeAll(async () => {
    sim = await startExchangeSim({ accounts, seed: "market-data", clock });
  });
  afterAll(() => sim.close());

  it("loadMarkets reads precision and limits from the symbol filters, with a single exchangeInfo call", async () => {
    const exchange = client(sim);
    const markets = await exchange.loadMarkets();
    const btc = markets["BTC/USDT"];
    expect(btc).toMatchObject({
      id: "BTCUSDT",
      spot: true,
      active: true,
      base: "BTC",
      quote: "USDT",
      precision: { price: 0.01, amount: 0.00001 },
      limits: {
        amount: { min: 0.00001, max: 9000 },
        price: { min: 0.01, max: 1000000 },
        cost: { min: 5, max: 9000000 },
        market: { min: 0, max: 120 },
      },
    });
    expect(markets["ETH/BTC"]?.precision).toMatchObject({ price: 0.00001, amount: 0.0001 });
    expect(Object.keys(markets).sort()).toEqual(["BNB/USDT", "BTC/USDT", "ETH/BTC", "ETH/USDT", "SOL/USDT"]);
    expect(sim.requests({ apiKey: "md-key" })).toEqual([]);
    expect(sim.requests().map((entry) => `${entry.method} ${entry.path}`)).toEqual([
      "GET /api/v3/exchangeInfo",
    ]);
  });

  it("fetchTicker reports the last price inside the spread and the 24 h range and volume", async () => {
    const ticker = await client(sim).fetchTicker("BTC/USDT");
    expect(ticker.bid).toBeLessThanOrEqual(ticker.last ?? 0);
    expect(ticker.ask).toBeGreaterThanOrEqual(ticker.last ?? 0);
    expect(ticker.high).toBeGreaterThanOrEqual(ticker.last ?? 0);
    expect(ticker.low).toBeLessThanOrEqual(ticker.last ?? 0);
    expect(ticker.baseVolume).toBeGreaterThan(20 * 1440 * 0.5);
    expect(ticker.last).toBe(Number(sim.price("BTCUSDT")));
  });

  it("fetchTickers reports several symbols in one call", async () => {
    const tickers = await client(sim).fetchTickers(["BTC/USDT", "ETH/USDT"]);
    expect(Object.keys(tickers).sort()).toEqual(["BTC/USDT", "ETH/USDT"]);
    expect(tickers["ETH/USDT"]?.last).toBe(Number(sim.price("ETHUSDT")));
  });

  it("fetchOHLCV returns consecutive candles, each opening at the previous close, up to the current one", async () => {
    const candles = await client(sim).fetchOHLCV("BTC/USDT", "1m", undefined, 30);
    expect(candles).toHaveLength(30);
    expect(candles[29]?.[0]).toBe(Math.floor(clock() / 60_000) * 60_000);
    for (let i = 0; i < candles.length; i++) {
      const [time, open, high, low, close, volume] = candles[i] as number[];
      expect(high).toBeGreaterThanOrEqual(Math.max(open ?? 0, close ?? 0));
      expect(low).toBeLessThanOrEqual(Math.min(open ?? 0, close ?? 0));
      expect(volume).toBeGreaterThan(0);
      if (i > 0) {
        expect(time).toBe((candles[i - 1]?.[0] ?? 0) + 60_000);
        expect(open).toBe(candles[i - 1]?.[4]);
      }
    }
  });

  it("fetchOHLCV with since starts at the first candle opening at or after it, including generated history", async () => {
    const since = Math.floor(clock() / 3_600_000) * 3_600_000 - 48 * 3_600_000;
    const candles = await client(sim).fetchOHLCV("ETH/USDT", "1h", since, 10);
    expect(candles.map((candle) => candle[0])).toEqual(
      Array.from({ length: 10 }, (_, i) => since + i * 3_600_000),
    );
  });

  it("fetchOrderBook returns bids below asks, best first", async () => {
    const book = await client(sim).fetchOrderBook("BTC/USDT", 20);
    expect(book.bids).toHaveLength(20);
    expect(book.asks).toHaveLength(20);
    const bidPrices = book.bids.map((level) => level[0] as number);
    const askPrices = book.asks.map((level) => level[0] as number);
    expect([...bidPrices].sort((a, b) => b - a)).toEqual(bidPrices);
    expect([...askPrices].sort((a, b) => a - b)).toEqual(askPrices);
    expect(bidPrices[0]).toBeLessThan(askPrices[0] ?? 0);
  });

  it("fetchTrades returns the market's recent prints", async () => {
    const trades = await client(sim).fetchTrades("BTC/USDT", undefined, 5);
    expect(trades).toHaveLength(5);
    for (const trade of trades) {
      expect(trade.price).toBeGreaterThan(0);
      expect(trade.amount).toBeGreaterThan(0);
    }
  });

  it("fetchTime returns the server time", async () => {
    expect(await client(sim).fetchTime()).toBe(clock());
  });
});

describe("replayed candles through ccxt", () => {
  for (const file of ["btcusdt-1h.csv", "btcusdt-1h.json"]) {
    it(`yield the recorded prices (${file})`, async () => {
      const recorded = parseReplayFile(readFileSync(new URL(`./fixtures/${file}`, import.meta.url), "utf8"));
      const first = recorded.candles[0]?.openTime ?? 0;
      const clock = manualClock(first);
      const sim = await startExchangeSim({
        accounts,
        clock,
        replay: { symbol: "BTCUSDT", candles: recorded.candles },
      });
      try {
        clock.advance(12 * 3_600_000 + 1);
        const candles = await client(sim).fetchOHLCV("BTC/USDT", "1h", first, 12);
        expect(candles).toEqual(
          recorded.candles.map((candle) => [
            candle.openTime,
            candle.open,
            candle.high,
            candle.low,
            candle.close,
            candle.volume,
          ]),
        );
        const last = recorded.candles[11]?.close;
        expect((await client(sim).fetchTicker("BTC/USDT")).last).toBe(last);
      } finally {
        await sim.close();
      }
    });
  }

  it("at a speed of 3600 play one recorded hour per second", async () => {
    const recorded = parseReplayFile(
      readFileSync(new URL("./fixtures/btcusdt-1h.csv", import.meta.url), "utf8"),
    );
    const clock = manualClock(Date.UTC(2030, 0, 1));
    const sim = await startExchangeSim({
      accounts,
      clock,
      speed: 3600,
      replay: { candles: recorded.candles },
    });
    try {
      clock.advance(5000);
      expect(sim.price("BTCUSDT")).toBe(recorded.candles[5]?.open.toFixed(8));
      const candles = await client(sim).fetchOHLCV("BTC/USDT", "1s", Date.UTC(2030, 0, 1), 3);
      expect(candles.map((candle) => candle.slice(1, 5))).toEqual(
        recorded.candles.slice(0, 3).map((candle) => [candle.open, candle.high, candle.low, candle.close]),
      );
    } finally {
      await sim.close();
    }
  });
});
