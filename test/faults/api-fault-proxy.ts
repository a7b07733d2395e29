// A fault-injection proxy between a client (the operator) and kube-apiserver, for the tests that prove a
// halt survives a misbehaving API. It listens on loopback over plain HTTP (the client's bearer token
// passes through to the API server over TLS) and, by verb, resource and name, answers an error of its
// own, delays, black-holes (accepts and never answers), resets the connection, or lets the request
// through; it can silence every open watch while keeping its connection open (a watch that goes dead
// without a FIN), and run a callback at a named point: after the API server answered a request and
// before the client hears of it (to SIGKILL the operator between two of its writes, say). Every request
// is recorded with its arrival time.
import http from "node:http";
import https from "node:https";
import type { Duplex } from "node:stream";

export interface RequestInfo {
  method: string;
  /** Kubernetes audit verb: get, list, watch, create, update, patch, apply, delete, deletecollection. */
  verb: string;
  /** Plural resource (pods, tradingbots, ...). */
  resource: string;
  subresource: string | undefined;
  namespace: string | undefined;
  name: string | undefined;
  path: string;
  /** performance.now() when it arrived. */
  at: number;
  /** The request body as text (empty for most reads). */
  body: string;
}

export interface RequestMatch {
  verb?: string | string[];
  resource?: string;
  subresource?: string | null;
  namespace?: string;
  name?: string | RegExp;
  /** The request body contains this text (a status patch that records a risk latch, say). */
  bodyContains?: string;
}

export type FaultAction =
  | { kind: "status"; code: number; retryAfterSeconds?: number }
  | { kind: "delay"; ms: number }
  | { kind: "blackhole" }
  | { kind: "reset" };

export interface FaultRule {
  match: RequestMatch;
  action: FaultAction;
  /** Applies to this many requests, then no more (default: every one until removed). */
  times?: number;
}

export interface RuleHandle {
  /** Requests the rule acted on so far. */
  readonly hits: number;
  remove(): void;
}

/** The parts of a request path the rules match on: /api/v1/namespaces/ns/pods/name/status and the like. */
export function describeRequest(method: string, url: URL, body = "", at = performance.now()): RequestInfo {
  const parts = url.pathname.split("/").filter((p) => p !== "");
  // /api/v1/... or /apis/<group>/<version>/...
  let rest = parts[0] === "api" ? parts.slice(2) : parts[0] === "apis" ? parts.slice(3) : [];
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource = parts.at(-1) ?? "", name, subresource] = rest;
  const watch = url.searchParams.get("watch");
  let verb: string;
  switch (method) {
    case "GET":
      verb = watch === "1" || watch === "true" ? "watch" : name ? "get" : "list";
      break;
    case "POST":
      verb = "create";
      break;
    case "PUT":
      verb = "update";
      break;
    case "PATCH":
      verb = "patch";
      break;
    case "DELETE":
      verb = name ? "delete" : "deletecollection";
      break;
    default:
      verb = method.toLowerCase();
  }
  return { method, verb, resource, subresource, namespace, name, path: url.pathname, at, body };
}

export function matches(match: RequestMatch, request: RequestInfo): boolean {
  if (match.verb !== undefined) {
    const verbs = Array.isArray(match.verb) ? match.verb : [match.verb];
    if (!verbs.includes(request.verb)) return false;
  }
  if (match.resource !== undefined && match.resource !== request.resource) return false;
  if (match.subresource !== undefined && (match.subresource ?? undefined) !== request.subresource)
    return false;
  if (match.namespace !== undefined && match.namespace !== request.namespace) return false;
  if (match.bodyContains !== undefined && !request.body.includes(match.bodyContains)) return false;
  if (match.name instanceof RegExp) return request.name !== undefined && match.name.test(request.name);
  if (match.name !== undefined && match.name !== request.name) return false;
  return true;
}

interface ActiveRule extends FaultRule {
  hits: number;
}

interface OpenWatch {
  upstream: http.IncomingMessage;
  client: http.ServerResponse;
}

export interface ApiFaultProxyOptions {
  /** https://host:port of kube-apiserver. */
  upstream: string;
  /** PEM of the CA that signed the API server's certificate. */
  ca: string | Buffer;
}

export class ApiFaultProxy {
  readonly url: string;
  readonly requests: RequestInfo[] = [];
  readonly #server: http.Server;
  readonly #upstream: URL;
  readonly #agent: https.Agent;
  #rules: ActiveRule[] = [];
  #hooks: { match: RequestMatch; run: (request: RequestInfo) => void; once: boolean }[] = [];
  readonly #watches = new Set<OpenWatch>();
  /** Connections held open on purpose (black holes, silenced watches): closed with the proxy. */
  readonly #held = new Set<Duplex>();

  private constructor(server: http.Server, url: string, options: ApiFaultProxyOptions) {
    this.#server = server;
    this.url = url;
    this.#upstream = new URL(options.upstream);
    this.#agent = new https.Agent({ keepAlive: true, ca: options.ca, maxSockets: 256 });
    server.on("request", (req, res) => this.#handle(req, res));
  }

  static async start(options: ApiFaultProxyOptions): Promise<ApiFaultProxy> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const address = server.address();
    if (typeof address !== "object" || address === null) throw new Error("the fault proxy has no address");
    return new ApiFaultProxy(server, `http://127.0.0.1:${address.port}`, options);
  }

  /** Adds a rule; rules are tried in the order they were added, and the first that matches acts. */
  add(rule: FaultRule): RuleHandle {
    const active: ActiveRule = { ...rule, hits: 0 };
    this.#rules.push(active);
    return {
      get hits() {
        return active.hits;
      },
      remove: () => {
        this.#rules = this.#rules.filter((r) => r !== active);
      },
    };
  }

  clearRules() {
    this.#rules = [];
  }

  /**
   * Runs `run` after the API server answered a matching request and before the answer is passed on:
   * the client never hears of a write that happened (kill it there to stop it between two writes).
   */
  afterAnswer(match: RequestMatch, run: (request: RequestInfo) => void, options: { once?: boolean } = {}) {
    this.#hooks.push({ match, run, once: options.once ?? true });
  }

  /** Every watch open now stops receiving anything, its connection left open: it has gone silent. */
  silenceOpenWatches(): number {
    const count = this.#watches.size;
    for (const watch of this.#watches) {
      watch.upstream.unpipe(watch.client);
      watch.upstream.destroy();
      if (watch.client.socket) this.#held.add(watch.client.socket);
    }
    this.#watches.clear();
    return count;
  }

  /** Watches currently streaming through the proxy. */
  get openWatches(): number {
    return this.#watches.size;
  }

  requestsMatching(match: RequestMatch, since = 0): RequestInfo[] {
    return this.requests.filter((request) => request.at >= since && matches(match, request));
  }

  async close() {
    for (const socket of this.#held) socket.destroy();
    for (const watch of this.#watches) watch.upstream.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#agent.destroy();
  }

  #ruleFor(request: RequestInfo): ActiveRule | undefined {
    const rule = this.#rules.find((r) => matches(r.match, request));
    if (!rule) return undefined;
    rule.hits += 1;
    if (rule.times !== undefined && rule.hits >= rule.times) {
      this.#rules = this.#rules.filter((r) => r !== rule);
    }
    return rule;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? "/", this.#upstream);
    const at = performance.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const request = describeRequest(req.method ?? "GET", url, body.toString("utf8"), at);
    this.requests.push(request);
    const rule = this.#ruleFor(request);
    switch (rule?.action.kind) {
      case "status": {
        const { code, retryAfterSeconds } = rule.action;
        const body = JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          code,
          reason: code === 429 ? "TooManyRequests" : code === 409 ? "Conflict" : "InternalError",
          message: `injected by the fault proxy for ${request.verb} ${request.resource}`,
        });
        const headers: Record<string, string> = { "Content-Type": "application/json" };
        if (retryAfterSeconds !== undefined) headers["Retry-After"] = String(retryAfterSeconds);
        res.writeHead(code, headers).end(body);
        return;
      }
      case "blackhole":
        this.#held.add(req.socket);
        return;
      case "reset":
        req.socket.destroy();
        return;
      case "delay":
        await new Promise((resolve) => setTimeout(resolve, (rule.action as { ms: number }).ms));
        break;
    }
    this.#forward(req, res, url, request, body);
  }

  #forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    request: RequestInfo,
    body: Buffer,
  ) {
    const headers = { ...req.headers, host: this.#upstream.host };
    delete headers.connection;
    const upstreamReq = https.request(
      url,
      { method: req.method, headers, agent: this.#agent },
      (upstream) => {
        for (const hook of this.#hooks.filter((h) => matches(h.match, request))) {
          if (hook.once) this.#hooks = this.#hooks.filter((h) => h !== hook);
          hook.run(request);
        }
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        if (request.verb === "watch") {
          // As the API server does: a watch's headers go out at once, before any event.
          res.flushHeaders();
          const watch = { upstream, client: res };
          this.#watches.add(watch);
          const forget = () => this.#watches.delete(watch);
          upstream.on("close", forget);
          res.on("close", () => {
            forget();
            upstream.destroy();
          });
        }
        upstream.pipe(res);
      },
    );
    upstreamReq.on("error", () => res.destroy());
    // The client went away before its answer was passed on: so does the request upstream.
    res.on("close", () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
    upstreamReq.end(body);
  }
}
