import { describe, expect, it } from "vitest";
import { WorkQueue } from "./work-queue.ts";

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("WorkQueue", () => {
  it("processes a key added many times while it waits only once", async () => {
    const queue = new WorkQueue({ name: "test", concurrency: 1 });
    const gate = deferred();
    const seen: string[] = [];
    queue.add("blocker");
    queue.start(async (key) => {
      if (key === "blocker") await gate.promise;
      seen.push(key);
      return undefined;
    });
    await tick();
    for (let i = 0; i < 10; i++) queue.add("ns/bot");
    expect(queue.depth).toBe(1);
    gate.resolve();
    await tick(10);
    expect(seen).toEqual(["blocker", "ns/bot"]);
    await queue.shutdown();
  });

  it("never runs two workers on one key, and reprocesses a key added while it was being processed", async () => {
    const queue = new WorkQueue({ name: "test", concurrency: 8 });
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const gate = deferred();
    queue.start(async () => {
      running += 1;
      runs += 1;
      maxRunning = Math.max(maxRunning, running);
      await gate.promise;
      running -= 1;
      return undefined;
    });
    queue.add("ns/bot");
    await tick();
    queue.add("ns/bot");
    queue.add("ns/bot");
    await tick();
    expect(runs).toBe(1);
    gate.resolve();
    await tick(10);
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
    await queue.shutdown();
  });

  it("runs different keys in parallel up to the concurrency", async () => {
    const queue = new WorkQueue({ name: "test", concurrency: 3 });
    let running = 0;
    let maxRunning = 0;
    const gate = deferred();
    queue.start(async () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await gate.promise;
      running -= 1;
      return undefined;
    });
    for (let i = 0; i < 10; i++) queue.add(`ns/bot-${i}`);
    await tick();
    expect(maxRunning).toBe(3);
    expect(queue.depth).toBe(7);
    gate.resolve();
    await tick(10);
    expect(queue.depth).toBe(0);
    await queue.shutdown();
  });

  it("retries a failing key with exponential backoff and resets it after a success", async () => {
    const queue = new WorkQueue({
      name: "test",
      concurrency: 1,
      retryBaseDelayMs: 20,
      retryMaxDelayMs: 1000,
    });
    expect([1, 2, 3, 4].map((n) => queue.backoffFor(n))).toEqual([20, 40, 80, 160]);
    expect(queue.backoffFor(30)).toBe(1000);
    const attempts: number[] = [];
    const started = Date.now();
    queue.start(async () => {
      attempts.push(Date.now() - started);
      if (attempts.length < 3) throw new Error("transient");
      return undefined;
    });
    queue.add("ns/bot");
    for (let waited = 0; attempts.length < 3 && waited < 5000; waited += 10) await tick(10);
    expect(attempts).toHaveLength(3);
    expect((attempts[1] ?? 0) - (attempts[0] ?? 0)).toBeGreaterThanOrEqual(18);
    expect((attempts[2] ?? 0) - (attempts[1] ?? 0)).toBeGreaterThanOrEqual(38);
    expect(queue.failures("ns/bot")).toBe(0);
    await queue.shutdown();
  });

  it("requeues after the delay a reconcile asks for, keeping the earliest of several delays", async () => {
    const queue = new WorkQueue({ name: "test", concurrency: 1 });
    const seen: string[] = [];
    queue.start(async (key) => {
      seen.push(key);
      return undefined;
    });
    queue.addAfter("ns/late", 500);
    queue.addAfter("ns/late", 20);
    queue.addAfter("ns/late", 300);
    await tick(60);
    expect(seen).toEqual(["ns/late"]);
    await queue.shutdown();
  });

  it("shutdown waits for reconciles in flight and stops handing out keys", async () => {
    const queue = new WorkQueue({ name: "test", concurrency: 1 });
    const gate = deferred();
    let finished = false;
    const seen: string[] = [];
    queue.start(async (key) => {
      seen.push(key);
      await gate.promise;
      finished = true;
      return undefined;
    });
    queue.add("ns/a");
    queue.add("ns/b");
    await tick();
    const stopping = queue.shutdown();
    gate.resolve();
    await stopping;
    expect(finished).toBe(true);
    expect(seen).toEqual(["ns/a"]);
  });

  it("hands out urgent keys before normal ones, and moves a queued key up when it is added as urgent", async () => {
    const queue = new WorkQueue({ name: "test", concurrency: 1 });
    const gate = deferred();
    const seen: string[] = [];
    queue.add("blocker");
    queue.start(async (key) => {
      if (key === "blocker") await gate.promise;
      seen.push(key);
      return undefined;
    });
    await tick();
    queue.add("ns/normal-1");
    queue.add("ns/normal-2");
    queue.add("ns/halt", true);
    queue.add("ns/normal-2", true);
    expect(queue.depth).toBe(3);
    gate.resolve();
    await tick(10);
    expect(seen).toEqual(["blocker", "ns/halt", "ns/normal-2", "ns/normal-1"]);
    await queue.shutdown();
  });

  it("keeps workers for urgent keys only, so a halt never waits for a busy worker", async () => {
    const queue = new WorkQueue({ name: "test", concurrency: 2, urgentConcurrency: 1 });
    const gate = deferred();
    const seen: string[] = [];
    queue.start(async (key) => {
      seen.push(key);
      if (key.startsWith("ns/slow")) await gate.promise;
      return undefined;
    });
    for (let i = 0; i < 5; i++) queue.add(`ns/slow-${i}`);
    await tick();
    expect(seen).toEqual(["ns/slow-0", "ns/slow-1"]);
    queue.add("ns/halt", true);
    await tick();
    expect(seen).toEqual(["ns/slow-0", "ns/slow-1", "ns/halt"]);
    gate.resolve();
    await tick(10);
    expect(seen).toHaveLength(6);
    await queue.shutdown();
  });

  it("retries a failed urgent key in the urgent lane, and a requeue keeps the lane it asks for", async () => {
    const queue = new WorkQueue({ name: "test", concurrency: 1, retryBaseDelayMs: 40 });
    const gate = deferred();
    const seen: string[] = [];
    let failedOnce = false;
    queue.start(async (key) => {
      seen.push(key);
      if (key === "ns/halt" && !failedOnce) {
        failedOnce = true;
        throw new Error("500");
      }
      if (key === "blocker") await gate.promise;
      return undefined;
    });
    queue.add("ns/halt", true);
    await tick();
    queue.add("blocker");
    // Queued before the retry is due: in one lane it would go first.
    queue.add("ns/normal");
    await tick(80);
    expect(queue.depth).toBe(2);
    gate.resolve();
    await tick(20);
    expect(seen).toEqual(["ns/halt", "blocker", "ns/halt", "ns/normal"]);
    await queue.shutdown();
  });
});
