import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseKlineCsv, parseKlineJson, parseReplayFile } from "./candles.ts";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

describe("replay files", () => {
  it("read Binance's kline archive CSV", () => {
    const candles = parseKlineCsv(fixture("btcusdt-1h.csv"));
    expect(candles).toHaveLength(12);
    expect(candles[0]).toEqual({
      openTime: 1778464800000,
      open: 81501.73,
      high: 81572.4,
      low: 81117.64,
      close: 81169.08,
      volume: 491.97068,
    });
  });

  it("skip a header row and read microsecond timestamps of newer archives as milliseconds", () => {
    const text = [
      "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore",
      "1735689600000000,93576.00,93610.93,93537.50,93610.93,8.21827,1735689659999999,769057.98,1990,3.92,367265.71,0",
    ].join("\n");
    expect(parseKlineCsv(text)[0]?.openTime).toBe(1735689600000);
  });

  it("read the JSON recording form and name its symbol", () => {
    const data = parseKlineJson(fixture("btcusdt-1h.json"));
    expect(data.symbol).toBe("BTCUSDT");
    expect(data.candles).toEqual(parseKlineCsv(fixture("btcusdt-1h.csv")));
  });

  it("read the /api/v3/klines response form and ccxt OHLCV rows", () => {
    const klines =
      '[[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,"2434.19",308,"1756.87","28.46","0"]]';
    expect(parseKlineJson(klines).candles[0]?.high).toBe(0.8);
    expect(parseReplayFile("[[1499040000000, 1, 2, 0.5, 1.5, 10]]").candles[0]?.close).toBe(1.5);
  });

  it("say which line and field is wrong", () => {
    expect(() => parseKlineCsv("1499040000000,1,2,0.5,abc,10")).toThrow(
      'line 1: close must be a number (got "abc")',
    );
    expect(() => parseKlineCsv("1499040000000,1,0.9,0.5,0.8,10")).toThrow("line 1: high must be the highest");
    expect(() => parseReplayFile('{"candles": 3}')).toThrow("expected an array of candles");
    expect(() => parseReplayFile("")).toThrow("contains no candles");
  });
});
