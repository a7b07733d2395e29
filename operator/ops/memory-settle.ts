import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

// Giving memory back after a burst. While a fleet arrives or resyncs, V8 grows its heap and keeps the
// pages after the burst is over: at 1000 bots the operator held ~100 MiB of heap for ~40 MiB of live
// data, at 10,000 several hundred MiB more than it needed. A full, memory-reducing collection once the
// work has been quiet for a while returns them to the node, so the pod's memory can be sized for what
// the fleet needs rather than for how it arrived. It pauses the process for a fraction of a second, which
// is why it waits for quiet and only runs when there is memory to gain.

export interface SettleInput {
  /** Reconciles finished since the last collection (or since start). */
  workSinceLast: number;
  /** How long no reconcile has been queued, running or finishing, in ms. */
  quietForMs: number;
  /** Resident memory now, and right after the last collection (or at start). */
  rssBytes: number;
  baselineRssBytes: number;
}

export interface SettlePolicy {
  quietMs: number;
  minWork: number;
  minGrowthBytes: number;
}

export const DEFAULT_SETTLE_POLICY: SettlePolicy = {
  quietMs: 3_000,
  minWork: 100,
  minGrowthBytes: 32 * 2 ** 20,
};

/** Collect when work has been done, it has stopped, and memory has grown since the last collection. */
export function shouldSettle(input: SettleInput, policy: SettlePolicy = DEFAULT_SETTLE_POLICY): boolean {
  return (
    input.workSinceLast >= policy.minWork &&
    input.quietForMs >= policy.quietMs &&
    input.rssBytes - input.baselineRssBytes >= policy.minGrowthBytes
  );
}

type GcFunction = (options: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;

/**
 * V8's collection that also returns freed pages to the system (what it does before giving up on an
 * allocation). Node exposes `gc` only behind --expose-gc; setting the flag and reading `gc` from a fresh
 * context gives it to this module alone, without changing how the operator must be started.
 */
export function memoryReducingCollection(): () => void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as GcFunction;
  return () => gc({ type: "major", execution: "sync", flavor: "last-resort" });
}

export interface MemorySettlerOptions {
  policy?: SettlePolicy;
  /** Whether anything is queued or being reconciled. */
  busy: () => boolean;
  rss: () => number;
  /** The collection; undefined turns the settler off (nothing is ever collected). */
  collect: (() => void) | undefined;
  onSettled?: (before: number, after: number, ms: number) => void;
}

/** Watches reconciles finish and collects once they have been quiet (the thin edge of shouldSettle). */
export class MemorySettler {
  readonly #options: MemorySettlerOptions & { policy: SettlePolicy };
  #work = 0;
  #lastWorkAt = 0;
  #baseline: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: MemorySettlerOptions) {
    this.#options = { ...options, policy: options.policy ?? DEFAULT_SETTLE_POLICY };
    this.#baseline = options.rss();
  }

  /** One reconcile finished. */
  noteWork(now = Date.now()) {
    if (!this.#options.collect) return;
    this.#work += 1;
    this.#lastWorkAt = now;
    if (this.#timer === undefined && this.#work >= this.#options.policy.minWork) {
      this.#arm(this.#options.policy.quietMs);
    }
  }

  #arm(delayMs: number) {
    this.#timer = setTimeout(() => this.#check(), delayMs);
    this.#timer.unref();
  }

  #check(now = Date.now()) {
    this.#timer = undefined;
    const { policy, busy, rss, collect, onSettled } = this.#options;
    const quietForMs = busy() ? 0 : now - this.#lastWorkAt;
    if (quietForMs < policy.quietMs) {
      this.#arm(policy.quietMs - Math.max(0, quietForMs));
      return;
    }
    const before = rss();
    if (
      !shouldSettle(
        { workSinceLast: this.#work, quietForMs, rssBytes: before, baselineRssBytes: this.#baseline },
        policy,
      )
    ) {
      // Not enough growth to be worth a pause: start counting again from here.
      this.#work = 0;
      return;
    }
    const started = performance.now();
    collect?.();
    const after = rss();
    this.#baseline = after;
    this.#work = 0;
    onSettled?.(before, after, performance.now() - started);
  }

  stop() {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
