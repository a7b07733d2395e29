import ccxt from "ccxt";
import { describe, expect, it } from "vitest";
import { binanceConfigForEndpoint, binanceUrlsForEndpoint } from "./binance-urls.ts";

describe("binance endpoint override", () => {
  it("points every API family ccxt's binance class knows at the base URL", () => {
    const urls = binanceUrlsForEndpoint("http://127.0.0.1:8080/");
    const families = Object.keys(new ccxt.binance().urls.api as Record<string, string>);
    expect(Object.keys(urls).sort()).toEqual([...families].sort());
    expect(urls.public).toBe("http://127.0.0.1:8080/api/v3");
    expect(urls.private).toBe("http://127.0.0.1:8080/api/v3");
    expect(urls.sapi).toBe("http://127.0.0.1:8080/sapi/v1");
    for (const url of Object.values(urls)) expect(url.startsWith("http://127.0.0.1:8080/")).toBe(true);
  });

  it("keeps a path prefix of the base URL", () => {
    expect(binanceUrlsForEndpoint("https://exchange.example/binance").public).toBe(
      "https://exchange.example/binance/api/v3",
    );
  });

  it("rejects what is not a plain http(s) base URL, quoting it", () => {
    expect(() => binanceUrlsForEndpoint("127.0.0.1:8080")).toThrow('exchange endpoint "127.0.0.1:8080"');
    expect(() => binanceUrlsForEndpoint("ftp://host")).toThrow("must use http or https");
    expect(() => binanceUrlsForEndpoint("http://host/?a=1")).toThrow(
      "without query, fragment or credentials",
    );
  });

  it("gives ccxt a spot-only configuration that it accepts as is", () => {
    const exchange = new ccxt.binance(binanceConfigForEndpoint("http://127.0.0.1:1"));
    expect(exchange.options.fetchMarkets).toEqual({ types: ["spot"], loadAllOptions: false });
    expect(exchange.options.fetchCurrencies).toBe(false);
    expect(exchange.options.recvWindow).toBe(5000);
    expect(exchange.urls.api).toEqual(binanceUrlsForEndpoint("http://127.0.0.1:1"));
  });
});
