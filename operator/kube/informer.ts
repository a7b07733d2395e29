import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import { ApiError, CONTENT_TYPES, isGone, isNotFound, type KubeApi, RequestTimeoutError } from "./client.ts";
import { ObjectCache } from "./object-cache.ts";
import { type ResourceType, resourcePath } from "./resources.ts";
import type { KubeObject } from "./types.ts";

export interface InformerOptions<T extends KubeObject> {
  api: KubeApi;
  type: ResourceType;
  /** Only this namespace; undefined: every namespace (or a cluster-scoped kind). */
  namespace?: string;
  labelSelector?: string;
  /** List and watch PartialObjectMetadata: names and versions without contents (Secrets). */
  metadataOnly?: boolean;
  /** Where objects go; its subscribers hear of every change. */
  cache: ObjectCache<T>;
  onRestart: (reason: RestartReason) => void;
  logger: Logger;
  pageSize?: number;
  /** Also relist this often, whatever the watch says (for a few objects that must never be missed). */
  relistIntervalMs?: number;
  /**
   * A kind the API server may not serve yet (its CRD not installed): a 404 on the list counts as synced
   * and empty, and the list is tried again this often. Without it, a 404 is an error like any other.
   */
  absentRetryMs?: number;
}

/**
 * Why a watch was started again: closed (the server ended it, as it does after timeoutSeconds), expired
 * (410 Gone: relisted), error, silent (nothing arrived for WATCH_SILENCE_LIMIT_MS: a dead connection),
 * relist (a periodic or requested full list).
 */
export type RestartReason = "closed" | "expired" | "error" | "silent" | "relist";

interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: KubeObject & { code?: number; reason?: string; message?: string };
}

// A watch is asked to end within 20 to 35 s, and is started again at once: a healthy watch is never
// silent for longer than that (bookmarks do not help here: the watch cache sends one only when the kind
// has moved past the watch's resourceVersion, which an idle kind does not). One
// silent for HEALTHY_WITHIN_MS is dead (a proxy or peer that vanished without a FIN): the informer is
// unhealthy, so readiness fails, and at WATCH_SILENCE_LIMIT_MS the watch is dropped and started again.
// TCP keepalive (kube/client.ts) is the kernel's half of the check.
const WATCH_TIMEOUT_MIN_SECONDS = 20;
const WATCH_TIMEOUT_SPREAD_SECONDS = 15;
const HEALTHY_WITHIN_MS = 45_000;
export const WATCH_SILENCE_LIMIT_MS = 50_000;
const INITIAL_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;

/** Raised when a watch delivered nothing for WATCH_SILENCE_LIMIT_MS. */
class SilentWatchError extends Error {
  constructor(what: string) {
    super(`${what}: nothing received for ${WATCH_SILENCE_LIMIT_MS / 1000} s`);
    this.name = "SilentWatchError";
  }
}

/** Exponential backoff with full jitter, for the n-th consecutive failure (n >= 1). */
export function watchBackoffMs(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 2 ** Math.max(0, failures - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Splits a watch stream into its newline-delimited JSON events (UTF-8 safe: splits bytes, not text). */
export class WatchLineSplitter {
  #rest: Buffer | undefined;

  push(chunk: Buffer | string): string[] {
    let data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (this.#rest) data = Buffer.concat([this.#rest, data]);
    const lines: string[] = [];
    let start = 0;
    for (let end = data.indexOf(10, start); end >= 0; end = data.indexOf(10, start)) {
      if (end > start) lines.push(data.toString("utf8", start, end));
      start = end + 1;
    }
    this.#rest = start < data.length ? data.subarray(start) : undefined;
    return lines;
  }
}

/**
 * List + watch of one kind into an ObjectCache. A watch that ends is resumed from the last seen
 * resourceVersion (bookmarks keep it fresh); 410 Gone and expired versions relist; network errors and
 * API-server restarts back off and retry forever. Each restart is counted through `onRestart`.
 */
export class Informer<T extends KubeObject> {
  readonly #options: InformerOptions<T>;
  #resourceVersion: string | undefined;
  #stopped = false;
  #response: IncomingMessage | undefined;
  #sleepTimer: NodeJS.Timeout | undefined;
  #wakeUp: (() => void) | undefined;
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  #loop: Promise<void> | undefined;
  #relistRequested = false;
  #relistTimer: NodeJS.Timeout | undefined;
  /** When the API server was last heard from on this informer's behalf (a list page, watch data). */
  #lastHeardAt = performance.now();
  readonly #now: () => number;

  constructor(options: InformerOptions<T>, now: () => number = () => performance.now()) {
    this.#options = options;
    this.#now = now;
  }

  get synced() {
    return this.#synced;
  }

  /** The resource, as metrics name it. */
  get resource() {
    return this.#options.type.plural;
  }

  /** Seconds since the API server last said anything to this informer (a bookmark counts). */
  get silenceSeconds(): number {
    return (this.#now() - this.#lastHeardAt) / 1000;
  }

  /** Heard from recently enough that its watch (or its relist) is alive. */
  get healthy(): boolean {
    return this.#now() - this.#lastHeardAt < HEALTHY_WITHIN_MS;
  }

  #heard() {
    this.#lastHeardAt = this.#now();
  }

  start() {
    this.#loop ??= this.#run();
    const every = this.#options.relistIntervalMs;
    if (every !== undefined && this.#relistTimer === undefined) {
      this.#relistTimer = setInterval(() => this.relist(), every);
      this.#relistTimer.unref();
    }
  }

  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  async stop() {
    this.#stopped = true;
    if (this.#relistTimer) clearInterval(this.#relistTimer);
    this.#response?.destroy();
    if (this.#sleepTimer) clearTimeout(this.#sleepTimer);
    this.#wakeUp?.();
    await this.#loop;
  }

  /** Drops the watch and relists, as after 410 Gone (the full resync of a level-triggered controller). */
  relist() {
    this.#relistRequested = true;
    this.#response?.destroy();
  }

  get #description() {
    const { type, namespace, labelSelector } = this.#options;
    return `${type.plural}${namespace ? ` in ${namespace}` : ""}${labelSelector ? ` (${labelSelector})` : ""}`;
  }

  async #run() {
    let failures = 0;
    while (!this.#stopped) {
      try {
        if (this.#resourceVersion === undefined || this.#relistRequested) {
          this.#relistRequested = false;
          await this.#list();
        }
        await this.#watch();
        failures = 0;
        if (!this.#stopped) this.#options.onRestart("closed");
      } catch (error) {
        if (this.#stopped) break;
        if (this.#relistRequested) {
          this.#options.onRestart("relist");
          continue;
        }
        if (error instanceof SilentWatchError || error instanceof RequestTimeoutError) {
          this.#options.onRestart("silent");
          this.#options.logger.warn(
            { resource: this.#description, err: describeError(error) },
            "watch went silent: starting it again",
          );
          continue;
        }
        if (this.#options.absentRetryMs !== undefined && isNotFound(error)) {
          this.#absent();
          await this.#sleep(this.#options.absentRetryMs);
          continue;
        }
        if (isGone(error)) {
          this.#resourceVersion = undefined;
          this.#options.onRestart("expired");
          this.#options.logger.info({ resource: this.#description }, "watch expired (410 Gone): relisting");
          continue;
        }
        failures += 1;
        this.#options.onRestart("error");
        const delay = Math.max(
          watchBackoffMs(failures),
          error instanceof ApiError ? (error.retryAfterMs ?? 0) : 0,
        );
        this.#options.logger.warn(
          { resource: this.#description, err: describeError(error), retryInMs: Math.round(delay) },
          "watch failed: retrying",
        );
        await this.#sleep(delay);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wakeUp = resolve;
      this.#sleepTimer = setTimeout(resolve, ms);
    });
  }

  #inScope = (object: T) =>
    this.#options.namespace === undefined || object.metadata.namespace === this.#options.namespace;

  async #list() {
    const { api, type, namespace, labelSelector, metadataOnly } = this.#options;
    const items: T[] = [];
    let continueToken: string | undefined;
    let listVersion: string | undefined;
    do {
      const page = await api.list<{ metadata: { resourceVersion?: string; continue?: string }; items: T[] }>(
        type,
        { namespace, labelSelector, limit: this.#options.pageSize ?? 500, continue: continueToken },
        metadataOnly ? `${CONTENT_TYPES.metadataList},${CONTENT_TYPES.json}` : undefined,
      );
      this.#heard();
      // An empty metadata-only list comes back with `items: null`.
      for (const item of page.items ?? []) items.push(this.#prepare(item));
      continueToken = page.metadata.continue || undefined;
      listVersion = page.metadata.resourceVersion;
    } while (continueToken);
    this.#options.cache.replace(items, listVersion, this.#inScope);
    this.#resourceVersion = listVersion;
    this.#markSynced();
  }

  #markSynced() {
    if (this.#synced) return;
    this.#synced = true;
    for (const resolve of this.#syncWaiters.splice(0)) resolve();
  }

  /** The kind is not served: nothing of it exists, which is what the cache says (and is synced on). */
  #absent() {
    if (!this.#synced) {
      this.#options.logger.info(
        { resource: this.#description },
        "the API server does not serve this kind (its CRD is not installed): none exist",
      );
    }
    this.#heard();
    this.#options.cache.replace([], undefined, this.#inScope);
    this.#resourceVersion = undefined;
    this.#markSynced();
  }

  #prepare(object: T): T {
    const { type } = this.#options;
    // Lists carry apiVersion/kind on the list, not on the items.
    object.apiVersion ??= type.group === "" ? type.version : `${type.group}/${type.version}`;
    object.kind ??= type.kind;
    return object;
  }

  async #watch() {
    const { api, type, namespace, labelSelector, metadataOnly } = this.#options;
    const timeoutSeconds =
      WATCH_TIMEOUT_MIN_SECONDS + Math.floor(Math.random() * WATCH_TIMEOUT_SPREAD_SECONDS);
    const response = await api.client.stream({
      method: "GET",
      verb: "watch",
      path: resourcePath(type, { namespace }),
      query: {
        watch: 1,
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
        labelSelector,
      },
      accept: metadataOnly ? `${CONTENT_TYPES.metadataObject},${CONTENT_TYPES.json}` : undefined,
      resource: type.plural,
      // The API server answers a watch's headers at once: no headers within the limit is a dead connection.
      timeoutMs: WATCH_SILENCE_LIMIT_MS,
    });
    this.#heard();
    this.#response = response;
    if (this.#stopped || this.#relistRequested) response.destroy();
    const splitter = new WatchLineSplitter();
    let silence: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        silence = setTimeout(() => {
          reject(new SilentWatchError(this.#description));
          response.destroy();
        }, WATCH_SILENCE_LIMIT_MS);
        silence.unref();
        response.on("data", (chunk: Buffer) => {
          this.#heard();
          silence?.refresh();
          try {
            for (const line of splitter.push(chunk)) this.#handle(JSON.parse(line) as WatchEvent);
          } catch (error) {
            response.destroy();
            reject(error);
          }
        });
        response.on("end", resolve);
        response.on("error", reject);
        response.on("close", () => reject(new Error("watch connection closed")));
      });
    } finally {
      clearTimeout(silence);
      this.#response = undefined;
    }
  }

  #handle(event: WatchEvent) {
    const { cache } = this.#options;
    switch (event.type) {
      case "BOOKMARK":
        this.#resourceVersion = event.object.metadata.resourceVersion;
        return;
      case "ERROR": {
        const code = event.object.code ?? 500;
        const { message, reason } = event.object;
        throw new ApiError("WATCH", this.#description, code, { code, message, reason });
      }
      case "ADDED":
      case "MODIFIED": {
        const object = this.#prepare(event.object as T);
        this.#resourceVersion = object.metadata.resourceVersion;
        cache.upsert(object);
        return;
      }
      case "DELETED": {
        const object = event.object as T;
        this.#resourceVersion = object.metadata.resourceVersion;
        cache.remove(ObjectCache.keyOf(object), object.metadata.resourceVersion);
        return;
      }
    }
  }
}

/** An error as a log field: its message only (API errors never carry object contents). */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
