import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { multiplyUnits, unitsOf } from "./decimal.ts";
import { DEFAULT_COMMISSION, ExchangeEngine, isOpen, type NewOrder, type Trade } from "./engine.ts";
import { BinanceApiError } from "./errors.ts";
import { bookAt, currentPrice, priceUnits } from "./market.ts";
import { defaultSymbolConfigs, symbolSpecFromConfig } from "./symbols.ts";

const START = Date.UTC(2025, 0, 6, 12, 0, 0);
const specs = defaultSymbolConfigs.map(symbolSpecFromConfig);

function engineWith(seed = 7, balances = { USDT: "100000", BTC: "1" }): ExchangeEngine {
  const engine = new ExchangeEngine({ symbols: specs, seed, speed: 1, startMs: START });
  engine.addAccount(
    {
      accountId: "acc",
      balances: Object.fromEntries(
        Object.entries(balances).map(([asset, amount]) => [asset, unitsOf(amount)]),
      ),
      makerCommission: DEFAULT_COMMISSION,
      takerCommission: DEFAULT_COMMISSION,
    },
    START,
  );
  return engine;
}

const btc = (engine: ExchangeEngine) => engine.market("BTCUSDT");
const priceNow = (engine: ExchangeEngine, now: number) =>
  priceUnits(btc(engine), currentPrice(btc(engine), now));
const balance = (engine: ExchangeEngine, asset: string) =>
  engine.balances("acc").get(asset) ?? { free: 0n, locked: 0n };
const place = (engine: ExchangeEngine, order: Omit<NewOrder, "symbol">, now = START) => {
  const result = engine.placeOrder("acc", "key-test", { symbol: "BTCUSDT", ...order }, now);
  if (result === null) throw new Error("test order");
  return result;
};
const rejection = (action: () => unknown) => {
  try {
    action();
  } catch (error) {
    if (error instanceof BinanceApiError) return { code: error.code, msg: error.message };
    throw error;
  }
  throw new Error("expected a Binance error");
};
const commissionOf = (amount: bigint) => multiplyUnits(amount, DEFAULT_COMMISSION, "half-up");

describe("market orders", () => {
  it("take the ask levels best-first, so a large buy pays a rising price", () => {
    const engine = engineWith(7, { USDT: "1000000", BTC: "0" });
    const { order, fills } = place(engine, { side: "BUY", type: "MARKET", quantity: unitsOf("2") });
    expect(order.status).toBe("FILLED");
    expect(order.executedQty).toBe(unitsOf("2"));
    expect(fills.length).toBeGreaterThan(1);
    const prices = fills.map((fill) => fill.price);
    expect([...prices].sort((a, b) => (a < b ? -1 : 1))).toEqual(prices);
    expect(prices[0]).toBe(bookAt(btc(engine), START).asks[0]?.price);
  });

  it("charge the taker commission once, in the received asset", () => {
    const engine = engineWith();
    const { fills } = place(engine, { side: "BUY", type: "MARKET", quantity: unitsOf("0.3") });
    const commissions = fills.reduce((sum, fill) => sum + fill.commission, 0n);
    const spent = fills.reduce((sum, fill) => sum + fill.quoteQty, 0n);
    for (const fill of fills) {
      expect(fill.commissionAsset).toBe("BTC");
      expect(fill.commission).toBe(commissionOf(fill.qty));
      expect(fill.isMaker).toBe(false);
    }
    expect(balance(engine, "BTC").free).toBe(unitsOf("1") + unitsOf("0.3") - commissions);
    expect(balance(engine, "USDT").free).toBe(unitsOf("100000") - spent);

    const sale = place(engine, { side: "SELL", type: "MARKET", quantity: unitsOf("0.1") }, START + 1000);
    for (const fill of sale.fills) {
      expect(fill.commissionAsset).toBe("USDT");
      expect(fill.commission).toBe(commissionOf(fill.quoteQty));
    }
  });

  it("with quoteOrderQty spend at most that amount of quote", () => {
    const engine = engineWith();
    const { order } = place(engine, { side: "BUY", type: "MARKET", quoteOrderQty: unitsOf("1000") });
    expect(order.status).toBe("FILLED");
    expect(order.cummulativeQuoteQty).toBeLessThanOrEqual(unitsOf("1000"));
    expect(order.cummulativeQuoteQty).toBeGreaterThan(unitsOf("999"));
    expect(order.origQty).toBe(order.executedQty);
    expect(order.origQuoteOrderQty).toBe(unitsOf("1000"));
  });
});

describe("limit orders", () => {
  it("below the market rest, lock their quote, and fill as maker once the price falls through them", () => {
    const engine = engineWith();
    const price = priceNow(engine, START);
    const limit = (price * 99n) / 100n - (((price * 99n) / 100n) % unitsOf("0.01"));
    const { order, fills } = place(engine, {
      side: "BUY",
      type: "LIMIT",
      timeInForce: "GTC",
      price: limit,
      quantity: unitsOf("0.01"),
    });
    expect(fills).toEqual([]);
    expect(order.status).toBe("NEW");
    expect(balance(engine, "USDT").locked).toBe(multiplyUnits(limit, unitsOf("0.01"), "ceil"));

    engine.forcePrice("BTCUSDT", (limit * 98n) / 100n, START + 5000);
    engine.advanceTo(START + 10_000);
    expect(order.status).toBe("FILLED");
    expect(order.trades).toHaveLength(1);
    expect(order.trades[0]?.isMaker).toBe(true);
    expect(order.trades[0]?.price).toBe(limit);
    expect(balance(engine, "USDT").locked).toBe(0n);
    expect(balance(engine, "BTC").free).toBe(unitsOf("1.01") - commissionOf(unitsOf("0.01")));
  });

  it("fill only a share of the traded volume per step, so a large resting order fills partially", () => {
    const engine = engineWith(7, { USDT: "10000000", BTC: "0" });
    const price = priceNow(engine, START);
    const { order } = place(engine, {
      side: "BUY",
      type: "LIMIT",
      timeInForce: "GTC",
      price: price - unitsOf("500"),
      quantity: unitsOf("5"),
    });
    engine.forcePrice("BTCUSDT", price - unitsOf("1000"), START + 1000);
    engine.advanceTo(START + 3000);
    expect(order.status).toBe("PARTIALLY_FILLED");
    expect(order.executedQty).toBeGreaterThan(0n);
    expect(order.executedQty).toBeLessThan(unitsOf("5"));
    engine.advanceTo(START + 10 * 60_000);
    expect(order.status).toBe("FILLED");
    expect(order.trades.length).toBeGreaterThan(1);
  });

  it("that cross the book take liquidity up to their price and rest the remainder", () => {
    const engine = engineWith(7, { USDT: "10000000", BTC: "0" });
    const asks = bookAt(btc(engine), START).asks;
    const limit = asks[1]?.price ?? 0n;
    const available = (asks[0]?.quantity ?? 0n) + (asks[1]?.quantity ?? 0n);
    const { order, fills } = place(engine, {
      side: "BUY",
      type: "LIMIT",
      timeInForce: "GTC",
      price: limit,
      quantity: available + unitsOf("1"),
    });
    expect(fills.map((fill) => fill.price)).toEqual([asks[0]?.price, asks[1]?.price]);
    expect(order.status).toBe("PARTIALLY_FILLED");
    expect(order.executedQty).toBe(available);
    expect(isOpen(order)).toBe(true);
  });

  it("with IOC expire their remainder and with FOK execute nothing unless fully fillable", () => {
    const engine = engineWith(7, { USDT: "10000000", BTC: "0" });
    const asks = bookAt(btc(engine), START).asks;
    const limit = asks[0]?.price ?? 0n;
    const tooMuch = (asks[0]?.quantity ?? 0n) + unitsOf("1");
    const ioc = place(engine, {
      side: "BUY",
      type: "LIMIT",
      timeInForce: "IOC",
      price: limit,
      quantity: tooMuch,
    });
    expect(ioc.order.status).toBe("EXPIRED");
    expect(ioc.order.executedQty).toBe(asks[0]?.quantity);
    const fok = place(engine, {
      side: "BUY",
      type: "LIMIT",
      timeInForce: "FOK",
      price: limit,
      quantity: tooMuch,
    });
    expect(fok.order.status).toBe("EXPIRED");
    expect(fok.order.executedQty).toBe(0n);
    expect(balance(engine, "USDT").locked).toBe(0n);
  });

  it("as LIMIT_MAKER are rejected when they would take", () => {
    const engine = engineWith();
    const ask = bookAt(btc(engine), START).asks[0]?.price ?? 0n;
    expect(
      rejection(() =>
        place(engine, { side: "BUY", type: "LIMIT_MAKER", price: ask, quantity: unitsOf("0.01") }),
      ),
    ).toEqual({ code: -2010, msg: "Order would immediately match and take." });
  });

  it("cancelled release what they locked; cancelling a closed order is an unknown order", () => {
    const engine = engineWith();
    const { order } = place(engine, {
      side: "SELL",
      type: "LIMIT",
      timeInForce: "GTC",
      price: unitsOf("90000"),
      quantity: unitsOf("0.4"),
    });
    expect(balance(engine, "BTC")).toEqual({ free: unitsOf("0.6"), locked: unitsOf("0.4") });
    engine.cancelOrder("acc", "BTCUSDT", { orderId: order.orderId }, START + 10);
    expect(order.status).toBe("CANCELED");
    expect(balance(engine, "BTC")).toEqual({ free: unitsOf("1"), locked: 0n });
    expect(
      rejection(() => engine.cancelOrder("acc", "BTCUSDT", { orderId: order.orderId }, START + 20)),
    ).toEqual({
      code: -2011,
      msg: "Unknown order sent.",
    });
  });
});

describe("order checks", () => {
  it("reject orders the account cannot pay for, without recording them", () => {
    const engine = engineWith();
    expect(rejection(() => place(engine, { side: "BUY", type: "MARKET", quantity: unitsOf("3") }))).toEqual({
      code: -2010,
      msg: "Account has insufficient balance for requested action.",
    });
    expect(engine.orders("acc", undefined, START)).toEqual([]);
  });

  it("reject a client order id already used by an open order, and accept it again once that order is done", () => {
    const engine = engineWith();
    const resting = {
      side: "BUY" as const,
      type: "LIMIT" as const,
      timeInForce: "GTC" as const,
      price: unitsOf("30000"),
      quantity: unitsOf("0.01"),
      newClientOrderId: "grid-1",
    };
    const first = place(engine, resting);
    expect(rejection(() => place(engine, resting))).toEqual({ code: -2010, msg: "Duplicate order sent." });
    engine.cancelOrder("acc", "BTCUSDT", { origClientOrderId: "grid-1" }, START + 1);
    const second = place(engine, resting, START + 2);
    expect(second.order.orderId).not.toBe(first.order.orderId);
    expect(engine.findOrder("acc", "BTCUSDT", { origClientOrderId: "grid-1" }).orderId).toBe(
      second.order.orderId,
    );
  });

  it("apply the symbol filters with Binance's filter names", () => {
    const engine = engineWith();
    const limit = (price: string, quantity: string) => () =>
      place(engine, {
        side: "BUY",
        type: "LIMIT",
        timeInForce: "GTC",
        price: unitsOf(price),
        quantity: unitsOf(quantity),
      });
    expect(rejection(limit("50000.001", "0.01")).msg).toBe("Filter failure: PRICE_FILTER");
    expect(rejection(limit("50000", "0.000015")).msg).toBe("Filter failure: LOT_SIZE");
    expect(rejection(limit("50000", "0.00001")).msg).toBe("Filter failure: NOTIONAL");
    expect(rejection(limit("500000", "0.01")).msg).toBe("Filter failure: PERCENT_PRICE_BY_SIDE");
    expect(
      rejection(() => place(engine, { side: "BUY", type: "MARKET", quantity: unitsOf("200") })).msg,
    ).toBe("Filter failure: MARKET_LOT_SIZE");
    expect(limit("50000", "0.01")().order.status).toBe("NEW");
  });
});

describe("determinism", () => {
  const script = (seed: number) => {
    const engine = engineWith(seed);
    const price = priceNow(engine, START);
    place(engine, { side: "BUY", type: "MARKET", quantity: unitsOf("0.2") });
    place(
      engine,
      {
        side: "BUY",
        type: "LIMIT",
        timeInForce: "GTC",
        price: price - unitsOf("60"),
        quantity: unitsOf("0.05"),
      },
      START + 1500,
    );
    place(
      engine,
      {
        side: "SELL",
        type: "LIMIT",
        timeInForce: "GTC",
        price: price + unitsOf("60"),
        quantity: unitsOf("0.05"),
      },
      START + 2500,
    );
    place(engine, { side: "SELL", type: "MARKET", quantity: unitsOf("0.1") }, START + 30 * 60_000);
    engine.advanceTo(START + 3 * 3600_000);
    return engine.trades("acc", undefined, START + 3 * 3600_000);
  };

  it("the same seed and the same orders at the same times give the same fills", () => {
    const first = script(42);
    expect(first.length).toBeGreaterThan(2);
    expect(script(42)).toEqual(first);
  });

  it("another seed gives another market", () => {
    const prices = (trades: Trade[]) => trades.map((trade) => trade.price);
    expect(prices(script(43))).not.toEqual(prices(script(42)));
  });
});

describe("invariants under random order flow", () => {
  type Op =
    | { kind: "limit"; side: "BUY" | "SELL"; offsetBp: number; steps: number; tif: "GTC" | "IOC" | "FOK" }
    | { kind: "market"; side: "BUY" | "SELL"; steps: number }
    | { kind: "cancel"; pick: number }
    | { kind: "advance"; ms: number }
    | { kind: "move"; pct: number };
  const side = fc.constantFrom("BUY" as const, "SELL" as const);
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant("limit" as const),
      side,
      offsetBp: fc.integer({ min: -300, max: 300 }),
      steps: fc.integer({ min: 1, max: 300_000 }),
      tif: fc.constantFrom("GTC" as const, "IOC" as const, "FOK" as const),
    }),
    fc.record({ kind: fc.constant("market" as const), side, steps: fc.integer({ min: 1, max: 300_000 }) }),
    fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 600_000 }) }),
    fc.record({ kind: fc.constant("move" as const), pct: fc.integer({ min: -8, max: 8 }) }),
  );

  it("balances never go negative, locks match open orders, filled never exceeds ordered, fees are charged once", () => {
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 1000 }),
        (ops, seed) => {
          const initial = { USDT: unitsOf("20000"), BTC: unitsOf("0.3") };
          const engine = engineWith(seed, { USDT: "20000", BTC: "0.3" });
          const step = unitsOf("0.00001");
          let now = START;
          for (const action of ops) {
            try {
              if (action.kind === "advance") {
                now += action.ms;
                engine.advanceTo(now);
              } else if (action.kind === "move") {
                const price = priceNow(engine, now);
                engine.forcePrice("BTCUSDT", (price * BigInt(100 + action.pct)) / 100n, now);
              } else if (action.kind === "cancel") {
                const open = engine.openOrders("acc", "BTCUSDT", now);
                const target = open[action.pick % Math.max(1, open.length)];
                if (target !== undefined)
                  engine.cancelOrder("acc", "BTCUSDT", { orderId: target.orderId }, now);
              } else if (action.kind === "market") {
                place(
                  engine,
                  { side: action.side, type: "MARKET", quantity: step * BigInt(action.steps) },
                  now,
                );
              } else {
                const price = priceNow(engine, now);
                const raw = (price * BigInt(10_000 + action.offsetBp)) / 10_000n;
                place(
                  engine,
                  {
                    side: action.side,
                    type: "LIMIT",
                    timeInForce: action.tif,
                    price: raw - (raw % unitsOf("0.01")),
                    quantity: step * BigInt(action.steps),
                  },
                  now,
                );
              }
            } catch (error) {
              if (!(error instanceof BinanceApiError)) throw error;
            }
            const balances = engine.balances("acc");
            for (const value of balances.values()) {
              expect(value.free).toBeGreaterThanOrEqual(0n);
              expect(value.locked).toBeGreaterThanOrEqual(0n);
            }
            const open = engine.openOrders("acc", undefined, now);
            const lockedQuote = open
              .filter((o) => o.side === "BUY")
              .reduce((sum, o) => sum + o.lockedRemaining, 0n);
            const lockedBase = open
              .filter((o) => o.side === "SELL")
              .reduce((sum, o) => sum + o.lockedRemaining, 0n);
            expect(balances.get("USDT")?.locked ?? 0n).toBe(lockedQuote);
            expect(balances.get("BTC")?.locked ?? 0n).toBe(lockedBase);
            for (const order of engine.orders("acc", undefined, now)) {
              expect(order.executedQty).toBeLessThanOrEqual(order.origQty);
              expect(order.trades.reduce((sum, t) => sum + t.qty, 0n)).toBe(order.executedQty);
              expect(order.trades.reduce((sum, t) => sum + t.quoteQty, 0n)).toBe(order.cummulativeQuoteQty);
              if (!isOpen(order)) expect(order.lockedRemaining).toBe(0n);
            }
            let base = initial.BTC;
            let quote = initial.USDT;
            for (const trade of engine.trades("acc", undefined, now)) {
              const received = trade.isBuyer ? trade.qty : trade.quoteQty;
              expect(trade.commission).toBe(commissionOf(received));
              if (trade.isBuyer) {
                base += trade.qty - trade.commission;
                quote -= trade.quoteQty;
              } else {
                base -= trade.qty;
                quote += trade.quoteQty - trade.commission;
              }
            }
            const total = (asset: string) =>
              (balances.get(asset)?.free ?? 0n) + (balances.get(asset)?.locked ?? 0n);
            expect(total("BTC")).toBe(base);
            expect(total("USDT")).toBe(quote);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
