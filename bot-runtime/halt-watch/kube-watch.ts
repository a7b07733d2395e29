import { readFileSync } from "node:fs";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { setTimeout as sleep } from "node:timers/promises";

// List + watch of one collection, small enough for the bot runtime (no @kubernetes/client-node): the bot
// watches its own TradingBot and the KillSwitches so that it can halt even when the operator is down.

/** Where the API server is and how to authenticate to it. */
export interface KubeEndpoint {
  /** e.g. `https://10.0.0.1:443`. */
  url: string;
  /** The CA that signed the API server's certificate. */
  ca?: Buffer;
  /** Called for every request: a projected ServiceAccount token file is rotated under a running pod. */
  token: () => string;
}

/** The endpoint a pod's ServiceAccount gives it: `dir` is usually /var/run/secrets/kubernetes.io/serviceaccount. */
export function inClusterEndpoint(dir: string, env: NodeJS.ProcessEnv = process.env): KubeEndpoint {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    const unset = ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"].filter((name) => !env[name]);
    throw new Error(`in-cluster Kubernetes endpoint: ${unset.join(" and ")} not set (not in a pod?)`);
  }
  const readServiceAccountFile = (name: string) => {
    try {
      return readFileSync(join(dir, name));
    } catch (error) {
      throw new Error(`in-cluster Kubernetes endpoint: cannot read ${join(dir, name)}`, { cause: error });
    }
  };
  const ca = readServiceAccountFile("ca.crt");
  readServiceAccountFile("token"); // fail now, not at the first request
  return {
    url: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    ca,
    token: () => readServiceAccountFile("token").toString("utf8").trim(),
  };
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface WatchCollectionOptions<T> {
  endpoint: KubeEndpoint;
  /** Collection path, e.g. `/apis/trading.botops.dev/v1alpha1/namespaces/ns1/tradingbots`. */
  path: string;
  fieldSelector?: string;
  /** Every object of the collection, after each (re)list: replaces whatever the caller held. */
  onList: (items: T[]) => void;
  onEvent: (type: WatchEventType, object: T) => void;
  /** Why the watch is being restarted, for logs and metrics; the watch carries on by itself. */
  onProblem: (message: string, error?: unknown) => void;
  /**
   * No byte for this long: the connection is dead, reconnect. Default 60 s: longer than a watch lasts, so
   * only a dead connection meets it.
   */
  idleTimeoutMs?: number;
  /**
   * Asked of the server per watch, then ±10% so that many bots do not reconnect together. Default 40 s. The
   * watch of a kind nobody changes gets no bookmark, so its normal end is what confirms it is current.
   */
  watchTimeoutSeconds?: number;
  /** Backoff after consecutive failures: doubles from the first to the max, with jitter. 200 ms to 10 s. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Clock of `confirmedAt`. Default Date.now. */
  now?: () => number;
}

export interface CollectionWatch {
  /** Aborts the request in flight; resolves once the loop has ended. */
  stop(): Promise<void>;
  /** When the caller's view was last known current (a list, an event, a bookmark, a watch that ended
   * normally); undefined before the first list. */
  confirmedAt(): number | undefined;
}

/** An API server's refusal: an HTTP status, or the code of a watch's ERROR event. */
class ApiStatusError extends Error {
  readonly status: number;
  readonly retryAfterMs: number;

  constructor(status: number, message: string, origin: "HTTP" | "watch ERROR event", retryAfterMs = 0) {
    super(`${origin} ${status}: ${message}`);
    this.name = "ApiStatusError";
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

class IdleTimeoutError extends Error {
  constructor(ms: number) {
    super(`nothing received for ${ms} ms`);
    this.name = "IdleTimeoutError";
  }
}

/** The message of a Kubernetes Status body, else the start of the body as text. */
function serverMessage(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: unknown };
    if (typeof status.message === "string") return status.message;
  } catch {}
  return body.trim().slice(0, 200) || "(empty body)";
}

/** Exponential backoff with equal jitter, for the n-th consecutive failure (n >= 1). */
function backoffMs(failures: number, initialMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** (failures - 1));
  return ceiling / 2 + (Math.random() * ceiling) / 2;
}

const isGone = (error: unknown) => error instanceof ApiStatusError && error.status === 410;

interface WatchEvent<T> {
  type: WatchEventType | "BOOKMARK" | "ERROR";
  object: T & { code?: number; message?: string };
}

/**
 * Lists the collection, then watches it from the list's resourceVersion, forever: a watch the server ends
 * resumes from the last version seen (bookmarks keep it fresh), 410 Gone relists, and every other failure
 * (network, silence, 5xx, 429, 401/403 while a token rotates) is reported and retried with backoff.
 */
export function watchCollection<T extends { metadata: { name: string; resourceVersion?: string } }>(
  options: WatchCollectionOptions<T>,
): CollectionWatch {
  const { endpoint, path, fieldSelector, onList, onEvent } = options;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const watchTimeoutSeconds = options.watchTimeoutSeconds ?? 40;
  const initialBackoffMs = options.initialBackoffMs ?? 200;
  const maxBackoffMs = options.maxBackoffMs ?? 10_000;
  const now = options.now ?? Date.now;
  const stopping = new AbortController();
  let confirmedAt: number | undefined;
  const confirm = () => {
    confirmedAt = now();
  };
  // A failing logger must not end the watch that halts the bot.
  const report = (message: string, error?: unknown) => {
    try {
      options.onProblem(message, error);
    } catch {}
  };

  /** One GET; `onData` gets the body of a 200 as it arrives. Resolves when the server ends the body. */
  function get(query: URLSearchParams, onData: (chunk: Buffer) => void): Promise<void> {
    const request = new AbortController();
    const abort = () => request.abort();
    // Already aborted when stop() came between two requests: the request then ends at once.
    const signal = AbortSignal.any([stopping.signal, request.signal]);
    let idle: NodeJS.Timeout | undefined;
    return new Promise<void>((resolve, reject) => {
      idle = setTimeout(() => {
        reject(new IdleTimeoutError(idleTimeoutMs));
        abort();
      }, idleTimeoutMs);
      const url = `${endpoint.url.replace(/\/$/, "")}${path}?${query}`;
      const transport = url.startsWith("https:") ? https : http;
      const headers = { accept: "application/json", authorization: `Bearer ${endpoint.token()}` };
      const onResponse = (response: IncomingMessage) => {
        idle?.refresh();
        response.on("error", reject);
        response.on("close", () => reject(new Error("connection closed before the response ended")));
        const status = response.statusCode ?? 0;
        if (status !== 200) {
          const body: Buffer[] = [];
          response.on("data", (chunk: Buffer) => body.push(chunk));
          response.on("end", () => {
            const retryAfterSeconds = Number(response.headers["retry-after"]);
            const message = serverMessage(Buffer.concat(body).toString("utf8"));
            reject(new ApiStatusError(status, message, "HTTP", (retryAfterSeconds || 0) * 1000));
          });
          return;
        }
        response.on("data", (chunk: Buffer) => {
          idle?.refresh();
          try {
            onData(chunk);
          } catch (error) {
            reject(error);
            abort();
          }
        });
        response.on("end", resolve);
      };
      transport.request(url, { ca: endpoint.ca, headers, signal }, onResponse).on("error", reject).end();
    }).finally(() => clearTimeout(idle));
  }

  async function list(): Promise<string | undefined> {
    const query = new URLSearchParams(fieldSelector ? { fieldSelector } : {});
    const chunks: Buffer[] = [];
    await get(query, (chunk) => chunks.push(chunk));
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
      metadata?: { resourceVersion?: string };
      items?: T[] | null;
    };
    onList(body.items ?? []);
    confirm();
    return body.metadata?.resourceVersion;
  }

  /** Watches from `resourceVersion`, telling `seen` each newer version; resolves when the server ends it. */
  async function watch(resourceVersion: string, seen: (version: string) => void): Promise<void> {
    const spread = 0.9 + Math.random() * 0.2;
    const query = new URLSearchParams({
      watch: "1",
      resourceVersion,
      allowWatchBookmarks: "true",
      timeoutSeconds: String(Math.round(watchTimeoutSeconds * spread)),
      ...(fieldSelector ? { fieldSelector } : {}),
    });
    const decoder = new StringDecoder("utf8");
    let partialLine = "";
    await get(query, (chunk) => {
      const lines = (partialLine + decoder.write(chunk)).split("\n");
      partialLine = lines.pop() ?? "";
      for (const line of lines) {
        if (line.trim() === "") continue;
        const event = JSON.parse(line) as WatchEvent<T>;
        if (event.type === "ERROR") {
          const { code = 500, message = "(no message)" } = event.object;
          throw new ApiStatusError(code, message, "watch ERROR event");
        }
        // The version advances only once the handler took the event: if it threw, the event comes again.
        if (event.type !== "BOOKMARK") onEvent(event.type, event.object);
        confirm();
        if (event.object.metadata.resourceVersion) seen(event.object.metadata.resourceVersion);
      }
    });
  }

  async function run(): Promise<void> {
    let resourceVersion: string | undefined;
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        resourceVersion ??= await list();
        if (resourceVersion === undefined) throw new Error("the list carried no resourceVersion");
        await watch(resourceVersion, (version) => {
          resourceVersion = version;
          failures = 0; // a watch that moves forward is healthy, however it ends
        });
        confirm();
        failures = 0;
      } catch (error) {
        if (stopping.signal.aborted) break;
        // Even a relist after 410 backs off: a server that keeps answering 410 must not be hammered.
        failures += 1;
        const gone = isGone(error);
        if (gone) resourceVersion = undefined;
        const retryAfterMs = error instanceof ApiStatusError ? error.retryAfterMs : 0;
        const delayMs = Math.round(
          Math.max(backoffMs(failures, initialBackoffMs, maxBackoffMs), retryAfterMs),
        );
        const reason = error instanceof Error ? error.message : String(error);
        report(`${path}: ${reason}; ${gone ? "relisting" : "retrying"} in ${delayMs} ms`, error);
        await sleep(delayMs, undefined, { signal: stopping.signal }).catch(() => {});
      }
    }
  }

  const loop = run();
  return {
    async stop() {
      stopping.abort();
      await loop;
    },
    confirmedAt: () => confirmedAt,
  };
}
