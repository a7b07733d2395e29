import http from "node:http";
import https from "node:https";
import { createSecureContext } from "node:tls";
import type { ConnectionSource } from "./kubeconfig.ts";
import { TokenBucket } from "./rate-limiter.ts";
import { type ResourceType, resourcePath } from "./resources.ts";
import type { ApiStatus, KubeObject } from "./types.ts";

// A thin HTTP client for the Kubernetes API (one connection source: kubeconfig.ts). Requests are plain
// HTTPS so the operator controls what generated clients do not expose: patch content types (server-side
// apply, merge patches on the status subresource), metadata-only watches, its own qps/burst limit, a
// priority lane for the leader Lease and for stops of trading, and a gate that refuses writes the moment
// the process stops leading.

export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly status: ApiStatus | undefined;
  /** The server's Retry-After, when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(
    method: string,
    path: string,
    code: number,
    status: ApiStatus | undefined,
    retryAfterMs?: number,
  ) {
    super(`${method} ${path}: ${code} ${status?.reason ?? ""} ${status?.message ?? ""}`.trim());
    this.name = "ApiError";
    this.code = code;
    this.reason = status?.reason ?? "";
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/** No response (not even its headers) within the request's timeout: the connection is taken for dead. */
export class RequestTimeoutError extends Error {
  constructor(method: string, path: string, timeoutMs: number) {
    super(`${method} ${path}: no response within ${timeoutMs} ms`);
    this.name = "RequestTimeoutError";
  }
}

/** Thrown instead of writing when this process is not (or no longer) the leader. */
export class NotLeaderError extends Error {
  constructor(method: string, path: string) {
    super(`refused ${method} ${path}: this operator instance is not the leader`);
    this.name = "NotLeaderError";
  }
}

export const isNotFound = (error: unknown) => error instanceof ApiError && error.code === 404;
export const isConflict = (error: unknown) => error instanceof ApiError && error.code === 409;
export const isAlreadyExists = (error: unknown) =>
  error instanceof ApiError && error.code === 409 && error.reason === "AlreadyExists";
export const isGone = (error: unknown) => error instanceof ApiError && error.code === 410;

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface KubeRequest {
  method: HttpMethod;
  /** The Kubernetes audit verb (get, list, watch, create, apply, patch, delete), for metrics. */
  verb: string;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
  /** What the metrics call the target: `pods`, `tradingbots/status`, ... */
  resource: string;
  /**
   * Leader election: written before the process leads (no write gate), and never stuck behind a burst
   * of reconciles (own connection pool, no client-side rate limit), so a busy leader keeps its Lease.
   */
  leaderElection?: boolean;
  /** A stop of trading: not held back by the client-side rate limit (the write gate still applies). */
  urgent?: boolean;
  timeoutMs?: number;
}

export const CONTENT_TYPES = {
  json: "application/json",
  apply: "application/apply-patch+yaml",
  mergePatch: "application/merge-patch+json",
  jsonPatch: "application/json-patch+json",
  /** Lists and watches of metadata only (PartialObjectMetadata): no Secret data crosses the wire. */
  metadataList: "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
  metadataObject: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
} as const;

export interface KubeClientOptions {
  qps: number;
  burst: number;
  /** Called after every response; verbs are Kubernetes audit verbs (get, list, watch, create, ...). */
  onResponse?: (verb: string, resource: string, code: number, seconds: number) => void;
  /** Writes are refused while this returns false. */
  mayWrite?: () => boolean;
  maxSockets?: number;
}

interface Connection {
  server: URL;
  headers: Record<string, string>;
}

interface Agents {
  request: http.Agent;
  stream: http.Agent;
  leaderElection: http.Agent;
}

const AUTH_REFRESH_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 30_000;
/** Like client-go: a request the server asks to repeat later (Retry-After) is repeated this many times. */
const RETRY_AFTER_ATTEMPTS = 5;
const MAX_RETRY_AFTER_MS = 10_000;
/** TCP keepalive probes start after this much silence on a watch's connection. */
const WATCH_KEEPALIVE_MS = 15_000;

/** Retry-After in ms (seconds or an HTTP date), capped; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === "") return undefined;
  const seconds = /^\s*\d+\s*$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(seconds)) return undefined;
  return Math.min(Math.max(0, seconds), MAX_RETRY_AFTER_MS);
}

/** Whether the server's answer asks for the same request again later (it was not processed). */
function shouldRepeat(method: HttpMethod, code: number, retryAfter: number | undefined): boolean {
  if (retryAfter === undefined) return false;
  return code === 429 || (method === "GET" && code >= 500 && code <= 599);
}

export class KubeClient {
  readonly #source: ConnectionSource;
  readonly #limiter: TokenBucket;
  readonly #options: KubeClientOptions;
  #connection: Promise<Connection> | undefined;
  #connectionAt = 0;
  #agents: Agents | undefined;

  constructor(source: ConnectionSource, options: KubeClientOptions) {
    this.#source = source;
    this.#options = options;
    this.#limiter = new TokenBucket(options.qps, options.burst);
  }

  /** Credentials are read again now and then, so rotated service-account tokens are picked up. */
  async #connect(): Promise<Connection> {
    const now = Date.now();
    if (this.#connection === undefined || now - this.#connectionAt > AUTH_REFRESH_MS) {
      this.#connectionAt = now;
      this.#connection = this.#loadConnection();
      this.#connection.catch(() => {
        this.#connection = undefined;
      });
    }
    return this.#connection;
  }

  async #loadConnection(): Promise<Connection> {
    const settings = await this.#source();
    if (this.#agents === undefined) {
      const secure = settings.server.protocol === "https:";
      // One TLS context for every connection: building one per socket is most of a handshake's cost.
      const secureContext = secure
        ? createSecureContext({ ca: settings.tls.ca, cert: settings.tls.cert, key: settings.tls.key })
        : undefined;
      const tls = {
        secureContext,
        rejectUnauthorized: settings.tls.rejectUnauthorized,
        servername: settings.tls.servername,
      };
      const make = (agentOptions: http.AgentOptions) =>
        secure ? new https.Agent({ ...agentOptions, ...tls }) : new http.Agent(agentOptions);
      this.#agents = {
        request: make({
          keepAlive: true,
          maxSockets: this.#options.maxSockets ?? 128,
          keepAliveMsecs: 30_000,
        }),
        // Watches hold their connection open: they get their own pool, so they never take sockets that
        // requests wait for. TCP keepalive lets the kernel notice a peer that is gone.
        stream: make({ keepAlive: true, keepAliveMsecs: WATCH_KEEPALIVE_MS }),
        leaderElection: make({ keepAlive: true, maxSockets: 2 }),
      };
    }
    return { server: settings.server, headers: settings.headers };
  }

  #url(connection: Connection, request: KubeRequest): URL {
    const url = new URL(connection.server.pathname.replace(/\/$/, "") + request.path, connection.server);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  async #open(
    request: KubeRequest,
    stream: boolean,
  ): Promise<{ response: http.IncomingMessage; started: number; req: http.ClientRequest }> {
    if (!request.leaderElection && !request.urgent) await this.#limiter.take();
    // After the wait for a token: leadership may have been lost meanwhile.
    const write = request.method !== "GET";
    if (write && !request.leaderElection && this.#options.mayWrite && !this.#options.mayWrite()) {
      throw new NotLeaderError(request.method, request.path);
    }
    const connection = await this.#connect();
    const agents = this.#agents as Agents;
    const url = this.#url(connection, request);
    const body = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body));
    const headers: Record<string, string> = {
      ...connection.headers,
      Accept: request.accept ?? CONTENT_TYPES.json,
      "User-Agent": "tradingbot-operator",
    };
    if (body) {
      headers["Content-Type"] = request.contentType ?? CONTENT_TYPES.json;
      headers["Content-Length"] = String(body.length);
    }
    const started = performance.now();
    const transport = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        url,
        {
          method: request.method,
          headers,
          agent: request.leaderElection ? agents.leaderElection : stream ? agents.stream : agents.request,
        },
        (response) => resolve({ response, started, req }),
      );
      const timeoutMs = request.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      req.setTimeout(timeoutMs, () =>
        req.destroy(new RequestTimeoutError(request.method, request.path, timeoutMs)),
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  #record(request: KubeRequest, code: number, started: number) {
    this.#options.onResponse?.(request.verb, request.resource, code, (performance.now() - started) / 1000);
  }

  /**
   * One request; the parsed JSON body on 2xx, an ApiError otherwise. A 429 (and a GET's 5xx) that
   * carries Retry-After is repeated after the time the server asks for, a few times.
   */
  async request<T>(request: KubeRequest): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const { response, started } = await this.#open(request, false);
      const text = await readBody(response);
      const code = response.statusCode ?? 0;
      this.#record(request, code, started);
      if (code >= 200 && code <= 299) return (text === "" ? undefined : JSON.parse(text)) as T;
      const retryAfter = retryAfterMs(response.headers["retry-after"]);
      if (attempt < RETRY_AFTER_ATTEMPTS && shouldRepeat(request.method, code, retryAfter)) {
        await new Promise((resolve) => setTimeout(resolve, retryAfter));
        continue;
      }
      throw new ApiError(request.method, request.path, code, parseStatus(text), retryAfter);
    }
  }

  /**
   * A streaming response (watches): the caller reads and closes it, and watches its silence itself; the
   * request's timeout only bounds the wait for the response's headers.
   */
  async stream(request: KubeRequest): Promise<http.IncomingMessage> {
    const { response, started, req } = await this.#open(request, true);
    req.setTimeout(0);
    const code = response.statusCode ?? 0;
    this.#record(request, code, started);
    if (code < 200 || code > 299) {
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      throw new ApiError(
        request.method,
        request.path,
        code,
        parseStatus(Buffer.concat(chunks).toString("utf8")),
        retryAfterMs(response.headers["retry-after"]),
      );
    }
    return response;
  }

  close() {
    this.#agents?.request.destroy();
    this.#agents?.stream.destroy();
    this.#agents?.leaderElection.destroy();
  }
}

function readBody(response: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("end", () =>
      resolve(
        chunks.length === 1 ? (chunks[0] as Buffer).toString("utf8") : Buffer.concat(chunks).toString("utf8"),
      ),
    );
    response.on("error", reject);
    response.on("aborted", () => reject(new Error("the API server closed the response early")));
  });
}

function parseStatus(text: string): ApiStatus | undefined {
  try {
    const parsed = JSON.parse(text) as ApiStatus;
    return typeof parsed === "object" && parsed !== null ? parsed : undefined;
  } catch {
    return { message: text.slice(0, 200) };
  }
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  /** A stop of trading: skips the client-side rate limit. */
  urgent?: boolean;
  /** Only delete this incarnation of the object (never a successor created under the same name). */
  uid?: string;
}

function resourceLabel(type: ResourceType, subresource?: string) {
  return subresource ? `${type.plural}/${subresource}` : type.plural;
}

/** The typed calls the operator makes, on top of `request`. */
export class KubeApi {
  readonly client: KubeClient;
  /** Who the writes are recorded as in managedFields. */
  readonly fieldManager: string;

  constructor(client: KubeClient, fieldManager: string) {
    this.client = client;
    this.fieldManager = fieldManager;
  }

  get<T>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    leaderElection = false,
  ): Promise<T> {
    return this.client.request<T>({
      method: "GET",
      verb: "get",
      path: resourcePath(type, { namespace, name }),
      resource: type.plural,
      leaderElection,
    });
  }

  list<T>(type: ResourceType, options: ListOptions, accept?: string): Promise<T> {
    return this.client.request<T>({
      method: "GET",
      verb: "list",
      path: resourcePath(type, { namespace: options.namespace }),
      query: {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit,
        continue: options.continue,
        resourceVersion: options.resourceVersion,
      },
      accept,
      resource: type.plural,
    });
  }

  create<T extends KubeObject>(type: ResourceType, object: T, leaderElection = false): Promise<T> {
    return this.client.request<T>({
      method: "POST",
      verb: "create",
      path: resourcePath(type, { namespace: object.metadata.namespace }),
      query: { fieldManager: this.fieldManager },
      body: object,
      resource: type.plural,
      leaderElection,
    });
  }

  replace<T extends KubeObject>(type: ResourceType, object: T, leaderElection = false): Promise<T> {
    return this.client.request<T>({
      method: "PUT",
      verb: "update",
      path: resourcePath(type, { namespace: object.metadata.namespace, name: object.metadata.name }),
      query: { fieldManager: this.fieldManager },
      body: object,
      resource: type.plural,
      leaderElection,
    });
  }

  /** Server-side apply as the operator's field manager, taking over fields others changed (drift). */
  apply<T extends KubeObject>(type: ResourceType, object: T, subresource?: string): Promise<T> {
    return this.client.request<T>({
      method: "PATCH",
      verb: "apply",
      path: resourcePath(type, {
        namespace: object.metadata.namespace,
        name: object.metadata.name,
        subresource,
      }),
      query: { fieldManager: this.fieldManager, force: true },
      body: object,
      contentType: CONTENT_TYPES.apply,
      resource: resourceLabel(type, subresource),
    });
  }

  mergePatch<T>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    subresource?: string,
  ): Promise<T> {
    return this.client.request<T>({
      method: "PATCH",
      verb: "patch",
      path: resourcePath(type, { namespace, name, subresource }),
      query: { fieldManager: this.fieldManager },
      body: patch,
      contentType: CONTENT_TYPES.mergePatch,
      resource: resourceLabel(type, subresource),
    });
  }

  /** Deletes one object; resolves to what the server returns (the object, or a Status). */
  delete<T>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): Promise<T> {
    const body: Record<string, unknown> = { apiVersion: "v1", kind: "DeleteOptions" };
    if (options.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = options.gracePeriodSeconds;
    if (options.uid !== undefined) body.preconditions = { uid: options.uid };
    return this.client.request<T>({
      method: "DELETE",
      verb: "delete",
      path: resourcePath(type, { namespace, name }),
      body,
      resource: type.plural,
      urgent: options.urgent,
    });
  }
}
