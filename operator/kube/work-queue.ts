import { TokenBucket } from "./rate-limiter.ts";

export interface ReconcileOutcome {
  /** Look again after this long even if nothing changes (timeouts, backoffs). */
  requeueAfterMs?: number;
}

export interface WorkQueueOptions {
  name: string;
  concurrency: number;
  /** Per-key exponential backoff after failures: base * 2^(failures-1), capped. */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Global token bucket on retries (client-go's default controller rate limiter shape). */
  retryQps?: number;
  retryBurst?: number;
  onDepthChange?: (depth: number) => void;
  onRetry?: () => void;
  onError?: (key: string, error: unknown) => void;
}

/**
 * Keys (namespace/name) waiting to be reconciled. A key is queued at most once however often it is
 * added; a key being processed is never handed to a second worker, and if it is added meanwhile it is
 * processed again right after. Failures back off per key; plain adds are never throttled, so a fleet
 * halt starts every reconcile at once.
 */
export class WorkQueue {
  readonly #options: Required<Omit<WorkQueueOptions, "onDepthChange" | "onRetry" | "onError">> &
    Pick<WorkQueueOptions, "onDepthChange" | "onRetry" | "onError">;
  readonly #retryBucket: TokenBucket;
  #queue: string[] = [];
  #head = 0;
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  #waiters: ((key: string | undefined) => void)[] = [];
  #shuttingDown = false;
  #workers: Promise<void>[] = [];

  constructor(options: WorkQueueOptions) {
    this.#options = {
      retryBaseDelayMs: 200,
      retryMaxDelayMs: 120_000,
      retryQps: 50,
      retryBurst: 500,
      ...options,
    };
    if (!(this.#options.concurrency >= 1)) throw new Error(`${options.name}: concurrency must be at least 1`);
    this.#retryBucket = new TokenBucket(this.#options.retryQps, this.#options.retryBurst);
  }

  /** Keys waiting (not counting those being processed or delayed). */
  get depth() {
    return this.#queue.length - this.#head;
  }

  get processing(): ReadonlySet<string> {
    return this.#processing;
  }

  add(key: string) {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      waiter(key);
      return;
    }
    this.#queue.push(key);
    this.#options.onDepthChange?.(this.depth);
  }

  /** Adds the key after `delayMs`; of several pending delays for one key the earliest wins. */
  addAfter(key: string, delayMs: number) {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.#delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#delayed.set(key, { at, timer });
  }

  /** Re-adds a key that failed, after its backoff (and the global retry budget) allows. */
  addRateLimited(key: string) {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    this.#options.onRetry?.();
    this.addAfter(key, Math.max(this.backoffFor(failures), this.#retryBucket.reserve()));
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

  #next(): Promise<string | undefined> {
    if (this.#head < this.#queue.length) {
      const key = this.#queue[this.#head] as string;
      this.#head += 1;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#dirty.delete(key);
      this.#processing.add(key);
      this.#options.onDepthChange?.(this.depth);
      return Promise.resolve(key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #done(key: string) {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) {
      this.#dirty.delete(key);
      this.add(key);
    }
  }

  /** Starts `concurrency` workers running `reconcile`. */
  start(reconcile: (key: string) => Promise<ReconcileOutcome | undefined>) {
    this.#shuttingDown = false;
    for (let i = 0; i < this.#options.concurrency; i++) {
      this.#workers.push(this.#work(reconcile));
    }
  }

  async #work(reconcile: (key: string) => Promise<ReconcileOutcome | undefined>) {
    for (;;) {
      const key = await this.#next();
      if (key === undefined) return;
      try {
        const outcome = await reconcile(key);
        this.forget(key);
        if (outcome?.requeueAfterMs !== undefined) this.addAfter(key, outcome.requeueAfterMs);
      } catch (error) {
        this.#options.onError?.(key, error);
        if (!this.#shuttingDown) this.addRateLimited(key);
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
    this.#queue = [];
    this.#head = 0;
    this.#dirty.clear();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
    await Promise.all(this.#workers);
    this.#workers = [];
  }
}
