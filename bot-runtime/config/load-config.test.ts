import { describe, expect, it } from "vitest";
import { ConfigError, parseRuntimeConfig } from "./load-config.ts";

const valid = {
  schemaVersion: 1,
  bot: { namespace: "trading", name: "grid-btc", uid: "0b5e4c1e" },
  exchange: { name: "binance", mode: "paper", endpoint: "http://127.0.0.1:8080" },
  symbol: "BTC/USDT",
  strategy: {
    type: "grid",
    grid: { lowerPrice: "50000", upperPrice: "70000", levels: 10, quotePerOrder: "25" },
  },
  risk: {
    maxOrderQuote: "50",
    maxPositionQuote: "500",
    maxDailyLossQuote: "100",
    maxDrawdownPct: "20",
    maxOpenOrders: 20,
    maxOrdersPerMinute: 30,
    priceBandPct: "5",
  },
  onStop: "CancelOrders",
  store: { retentionDays: 90 },
};

describe("runtime config", () => {
  it("parses the operator's rendered document", () => {
    expect(parseRuntimeConfig(JSON.stringify(valid), "config.json").strategy.type).toBe("grid");
  });

  it("names every offending field and what is wrong with it", () => {
    const bad = {
      ...valid,
      risk: { ...valid.risk, maxOrderQuote: "1e3" },
      strategy: { type: "grid", grid: { ...valid.strategy.grid, levels: 1 } },
    };
    const error = (() => {
      try {
        parseRuntimeConfig(JSON.stringify(bad), "config.json");
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toContain("risk.maxOrderQuote");
    expect(error?.message).toContain("strategy.grid.levels");
  });

  it("refuses JSON it cannot read and paper mode without an endpoint", () => {
    expect(() => parseRuntimeConfig("{", "config.json")).toThrow(/config.json is not valid JSON/);
    const noEndpoint = { ...valid, exchange: { name: "binance", mode: "paper" } };
    expect(() => parseRuntimeConfig(JSON.stringify(noEndpoint), "config.json")).toThrow(
      /exchange.endpoint is required in paper mode/,
    );
  });
});
