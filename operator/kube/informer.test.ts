import { describe, expect, it } from "vitest";
import { WatchLineSplitter, watchBackoffMs } from "./informer.ts";

describe("WatchLineSplitter", () => {
  it("returns complete lines and keeps a partial one for the next chunk", () => {
    const splitter = new WatchLineSplitter();
    expect(splitter.push('{"type":"ADDED"}\n{"type":')).toEqual(['{"type":"ADDED"}']);
    expect(splitter.push('"MODIFIED"}\n\n')).toEqual(['{"type":"MODIFIED"}']);
  });

  it("never splits a multi-byte character across chunks", () => {
    const splitter = new WatchLineSplitter();
    const line = Buffer.from('{"reason":"Ünïcødé €"}\n');
    const cut = line.indexOf(0xe2) + 1;
    expect(splitter.push(line.subarray(0, cut))).toEqual([]);
    expect(splitter.push(line.subarray(cut))).toEqual(['{"reason":"Ünïcødé €"}']);
  });
});

describe("watchBackoffMs", () => {
  it("grows exponentially from 250 ms with jitter, capped at 30 s", () => {
    expect(watchBackoffMs(1, () => 0)).toBe(125);
    expect(watchBackoffMs(1, () => 1)).toBe(250);
    expect(watchBackoffMs(3, () => 1)).toBe(1000);
    expect(watchBackoffMs(50, () => 1)).toBe(30_000);
  });
});
