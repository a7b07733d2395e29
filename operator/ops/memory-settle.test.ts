import { describe, expect, it } from "vitest";
import {
  DEFAULT_SETTLE_POLICY,
  MemorySettler,
  memoryReducingCollection,
  type SettleInput,
  shouldSettle,
} from "./memory-settle.ts";

const MiB = 2 ** 20;
const ready: SettleInput = {
  workSinceLast: 1000,
  quietForMs: 6_000,
  rssBytes: 300 * MiB,
  baselineRssBytes: 100 * MiB,
};
const policy = { quietMs: 50, minWork: 3, minGrowthBytes: 10 * MiB };
const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("shouldSettle", () => {
  it("collects after a burst of work that has stopped and left memory grown", () => {
    expect(shouldSettle(ready)).toBe(true);
  });

  it("waits while work goes on, after too little work, and when memory has not grown", () => {
    expect(shouldSettle({ ...ready, quietForMs: DEFAULT_SETTLE_POLICY.quietMs - 1 })).toBe(false);
    expect(shouldSettle({ ...ready, workSinceLast: DEFAULT_SETTLE_POLICY.minWork - 1 })).toBe(false);
    expect(
      shouldSettle({ ...ready, rssBytes: ready.baselineRssBytes + DEFAULT_SETTLE_POLICY.minGrowthBytes - 1 }),
    ).toBe(false);
  });
});

describe("MemorySettler", () => {
  it("collects once the work has been quiet, and measures growth from the memory left afterwards", async () => {
    let rss = 100 * MiB;
    const collections: number[] = [];
    const settler = new MemorySettler({
      policy,
      busy: () => false,
      rss: () => rss,
      collect: () => {
        collections.push(rss);
        rss = 110 * MiB;
      },
    });
    rss = 200 * MiB;
    for (let i = 0; i < 3; i++) settler.noteWork();
    await tick(20);
    expect(collections).toEqual([]);
    await tick(80);
    expect(collections).toEqual([200 * MiB]);
    // Grown by less than the threshold since the collection left 110 MiB: no second pause.
    rss = 115 * MiB;
    for (let i = 0; i < 3; i++) settler.noteWork();
    await tick(100);
    expect(collections).toEqual([200 * MiB]);
    settler.stop();
  });

  it("never looks at memory again when it has no collection (--return-memory-after-bursts=false)", async () => {
    let rssReads = 0;
    const rss = () => {
      rssReads += 1;
      return 500 * MiB;
    };
    const settler = new MemorySettler({ policy, busy: () => false, rss, collect: undefined });
    for (let i = 0; i < 10; i++) settler.noteWork();
    await tick(120);
    expect(rssReads).toBe(1);
    settler.stop();
  });

  it("does not collect while reconciles are queued or running", async () => {
    let busy = true;
    let collected = 0;
    let rss = 100 * MiB;
    const settler = new MemorySettler({
      policy,
      busy: () => busy,
      rss: () => rss,
      collect: () => {
        collected += 1;
        rss = 100 * MiB;
      },
    });
    rss = 500 * MiB;
    for (let i = 0; i < 3; i++) settler.noteWork();
    await tick(150);
    expect(collected).toBe(0);
    busy = false;
    await tick(120);
    expect(collected).toBe(1);
    settler.stop();
  });
});

describe("memoryReducingCollection", () => {
  it("gives the heap back after garbage has been dropped", () => {
    const collect = memoryReducingCollection();
    collect();
    const baseline = process.memoryUsage().heapTotal;
    let garbage: unknown[] | undefined = Array.from({ length: 400_000 }, (_, i) => ({
      i,
      text: `item ${i}`,
    }));
    expect(process.memoryUsage().heapTotal).toBeGreaterThan(baseline + 16 * MiB);
    garbage = undefined;
    collect();
    expect(garbage).toBeUndefined();
    expect(process.memoryUsage().heapTotal).toBeLessThan(baseline + 8 * MiB);
  });
});
