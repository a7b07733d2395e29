import { TokenBucket } from "./rate-limiter.ts";

/**
 * A reconcile that needs no request finishes in microtasks, and the next one would start in the same turn of
 * the event loop: a burst of them would keep it from reading its sockets (a halt among them) for hundreds of
 * milliseconds. Reconciles start only while the current turn has run for less than SLICE_MS; the rest wait
 * for the next turn, after the loop has polled for I/O. Shared by every queue of the process.
 */
const SLICE_MS = 10;
let sliceStartedAt = performance.now();
let sliceResetQueued = false;

async function turnToReconcile(): Promise<void> {
  while (performance.now() - sliceStartedAt >= SLICE_MS) {
    if (!sliceResetQueued) {
      // Queued before the waiters below, so it runs first in the next check phase and starts its slice.
      sliceResetQueued = true;
      setImmediate(() => {
        sliceStartedAt = performance.now();
        sliceResetQueued = false;
      });
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

export interface ReconcileOutcome {
  /** Look again after this long even if nothing changes (timeouts, backoffs). */
  requeueAfterMs?: number;
  /** That look, and the retries of this key, go in the urgent lane. */
  urgent?: boolean;
}

export interface WorkQueueOptions {
  name: string;
  /** Workers that take any key, urgent ones first. */
  concurrency: number;
  /** More workers that take only urgent keys, so urgent work never waits for a worker to be free. */
  urgentConcurrency?: number;
  /** Per-key exponential backoff after failures: base * 2^(failures-1), capped. */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Global token bucket on retries of normal keys (client-go's default controller rate limiter shape). */
  retryQps?: number;
  retryBurst?: number;
  onDepthChange?: (depth: number) => void;
  onRetry?: () => void;
  onError?: (key: string, error: unknown) => void;
}

type Lane = "any" | "urgent";

/** A FIFO of keys; entries whose key was taken through the other lane are skipped when they come up. */
class Fifo {
  #items: string[] = [];
  #head = 0;

  push(key: string) {
    this.#items.push(key);
  }

  shift(): string | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const key = this.#items[this.#head] as string;
    this.#head += 1;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return key;
  }

  clear() {
    this.#items = [];
    this.#head = 0;
  }
}

/**
 * Keys (namespace/name) waiting to be reconciled, in two lanes: urgent keys (a halt) are handed out
 * before normal ones, and a few workers take only urgent keys. A key is queued at most once however
 * often it is added (an urgent add of a queued key moves it up); a key being processed is never
 * handed to a second worker, and if it is added meanwhile it is processed again right after. Failures
 * back off per key, in the lane the key was processed in; plain adds are never throttled, so a fleet
 * halt starts every reconcile at once.
 */
export class WorkQueue {
  readonly #options: Required<
    Omit<WorkQueueOptions, "onDepthChange" | "onRetry" | "onError" | "urgentConcurrency">
  > &
    Pick<WorkQueueOptions, "onDepthChange" | "onRetry" | "onError"> & { urgentConcurrency: number };
  readonly #retryBucket: TokenBucket;
  readonly #lanes = { urgent: new Fifo(), normal: new Fifo() };
  /** Keys that need a reconcile, with whether it is urgent. */
  readonly #dirty = new Map<string, boolean>();
  /** Dirty keys sitting in a lane (not being processed): the depth. */
  readonly #waiting = new Set<string>();
  readonly #processing = new Map<string, boolean>();
  readonly #failures = new Map<string, number>();
  readonly #delayed = new Map<string, { at: number; urgent: boolean; timer: NodeJS.Timeout }>();
  #waiters: { lane: Lane; resolve: (key: string | undefined) => void }[] = [];
  #shuttingDown = false;
  #workers: Promise<void>[] = [];

  constructor(options: WorkQueueOptions) {
    this.#options = {
      retryBaseDelayMs: 200,
      retryMaxDelayMs: 120_000,
      retryQps: 50,
      retryBurst: 500,
      ...options,
      urgentConcurrency: options.urgentConcurrency ?? 0,
    };
    if (!(this.#options.concurrency >= 1)) throw new Error(`${options.name}: concurrency must be at least 1`);
    this.#retryBucket = new TokenBucket(this.#options.retryQps, this.#options.retryBurst);
  }

  /** Keys waiting (not counting those being processed or delayed). */
  get depth() {
    return this.#waiting.size;
  }

  get processing(): ReadonlySet<string> {
    return new Set(this.#processing.keys());
  }

  /** Whether any key is being processed now. */
  get busy(): boolean {
    return this.#processing.size > 0;
  }

  add(key: string, urgent = false) {
    if (this.#shuttingDown) return;
    const dirty = this.#dirty.get(key);
    if (dirty === true || (dirty === false && !urgent)) return;
    this.#dirty.set(key, urgent);
    if (this.#processing.has(key)) return;
    this.#enqueue(key, urgent);
  }

  #enqueue(key: string, urgent: boolean) {
    const index = this.#waiters.findIndex((waiter) => urgent || waiter.lane === "any");
    if (index >= 0) {
      const [waiter] = this.#waiters.splice(index, 1);
      this.#take(key);
      waiter?.resolve(key);
      return;
    }
    (urgent ? this.#lanes.urgent : this.#lanes.normal).push(key);
    this.#waiting.add(key);
    this.#options.onDepthChange?.(this.depth);
  }

  #take(key: string) {
    this.#processing.set(key, this.#dirty.get(key) ?? false);
    this.#dirty.delete(key);
    if (this.#waiting.delete(key)) this.#options.onDepthChange?.(this.depth);
  }

  /** Adds the key after `delayMs`; of several pending delays for one key the earliest wins. */
  addAfter(key: string, delayMs: number, urgent = false) {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key, urgent);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.#delayed.get(key);
    if (pending && pending.at <= at) {
      pending.urgent ||= urgent;
      return;
    }
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      const due = this.#delayed.get(key);
      this.#delayed.delete(key);
      this.add(key, due?.urgent ?? urgent);
    }, delayMs);
    timer.unref();
    this.#delayed.set(key, { at, urgent: urgent || (pending?.urgent ?? false), timer });
  }

  /** Re-adds a key that failed, after its backoff (and, for normal keys, the global retry budget). */
  addRateLimited(key: string, urgent = false) {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    this.#options.onRetry?.();
    const budget = urgent ? 0 : this.#retryBucket.reserve();
    this.addAfter(key, Math.max(this.backoffFor(failures), budget), urgent);
  }

  backoffFor(failures: number): number {
    const { retryBaseDelayMs, retryMaxDelayMs } = this.#options;
    return Math.min(retryMaxDelayMs, retryBaseDelayMs * 2 ** Math.min(30, failures - 1));
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Clears the key's failure count after a success. */
  forget(key: string) {
    this.#failures.delete(key);
  }

  #pop(fifo: Fifo, urgentOnly: boolean): string | undefined {
    for (let key = fifo.shift(); key !== undefined; key = fifo.shift()) {
      const dirty = this.#dirty.get(key);
      if (dirty === undefined || this.#processing.has(key) || (urgentOnly && !dirty)) continue;
      return key;
    }
    return undefined;
  }

  #next(lane: Lane): Promise<string | undefined> {
    const key =
      this.#pop(this.#lanes.urgent, true) ??
      (lane === "any" ? this.#pop(this.#lanes.normal, false) : undefined);
    if (key !== undefined) {
      this.#take(key);
      return Promise.resolve(key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push({ lane, resolve }));
  }

  #done(key: string) {
    this.#processing.delete(key);
    const dirty = this.#dirty.get(key);
    if (dirty !== undefined) this.#enqueue(key, dirty);
  }

  /** Starts `concurrency` workers, plus `urgentConcurrency` for urgent keys only, running `reconcile`. */
  start(reconcile: (key: string) => Promise<ReconcileOutcome | undefined>) {
    this.#shuttingDown = false;
    for (let i = 0; i < this.#options.concurrency; i++) this.#workers.push(this.#work(reconcile, "any"));
    for (let i = 0; i < this.#options.urgentConcurrency; i++) {
      this.#workers.push(this.#work(reconcile, "urgent"));
    }
  }

  async #work(reconcile: (key: string) => Promise<ReconcileOutcome | undefined>, lane: Lane) {
    for (;;) {
      const key = await this.#next(lane);
      if (key === undefined) return;
      const urgent = this.#processing.get(key) ?? false;
      // A halt starts at once; other work waits its turn, so that the loop keeps reading halts.
      if (!urgent) await turnToReconcile();
      try {
        const outcome = await reconcile(key);
        this.forget(key);
        if (outcome?.requeueAfterMs !== undefined) {
          this.addAfter(key, outcome.requeueAfterMs, outcome.urgent ?? false);
        }
      } catch (error) {
        this.#options.onError?.(key, error);
        if (!this.#shuttingDown) this.addRateLimited(key, urgent);
      } finally {
        this.#done(key);
      }
    }
  }

  /** Stops handing out keys and waits for the reconciles in flight. */
  async shutdown() {
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    this.#lanes.urgent.clear();
    this.#lanes.normal.clear();
    this.#dirty.clear();
    this.#waiting.clear();
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(undefined);
    await Promise.all(this.#workers);
    this.#workers = [];
  }
}
