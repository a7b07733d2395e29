import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  type CollectionWatch,
  inClusterEndpoint,
  type WatchCollectionOptions,
  type WatchEventType,
  watchCollection,
} from "./kube-watch.ts";

// The watch against a local HTTP server that plays the API server: the test answers each request the
// watch makes, in order, and sees what it asked for.

interface Bot {
  metadata: { name: string; resourceVersion?: string };
  spec?: { halted?: boolean };
}

const bot = (name: string, resourceVersion: string, halted = false): Bot => ({
  metadata: { name, resourceVersion },
  spec: { halted },
});

/** Values in arrival order; `next` waits for the next one (and fails after a few seconds, naming it). */
class Inbox<T> {
  readonly #values: T[] = [];
  readonly #waiters: ((value: T) => void)[] = [];

  push = (value: T) => {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(value);
    else this.#values.push(value);
  };

  next(what: string, timeoutMs = 5_000): Promise<T> {
    const value = this.#values.shift();
    if (value !== undefined) return Promise.resolve(value);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push((value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  }

  get pending(): number {
    return this.#values.length;
  }
}

interface ApiRequest {
  kind: "list" | "watch";
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  /** Resolves when the client has closed the connection. */
  closed: Promise<void>;
  reply(status: number, body: unknown, headers?: Record<string, string>): void;
  /** Answers 200 and keeps the body open for `send`. */
  openStream(): { send(type: string, object: unknown): void; end(): void };
}

async function startFakeApiServer(): Promise<{ url: string; requests: Inbox<ApiRequest>; server: Server }> {
  const requests = new Inbox<ApiRequest>();
  const server = createServer((request, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://fake");
    requests.push({
      kind: url.searchParams.get("watch") === "1" ? "watch" : "list",
      path: url.pathname,
      query: url.searchParams,
      authorization: request.headers.authorization,
      closed: new Promise((resolve) => response.on("close", () => resolve())),
      reply(status, body, headers = {}) {
        response.writeHead(status, { "content-type": "application/json", ...headers });
        response.end(JSON.stringify(body));
      },
      openStream() {
        response.writeHead(200, { "content-type": "application/json" });
        response.flushHeaders();
        return {
          send: (type, object) => response.write(`${JSON.stringify({ type, object })}\n`),
          end: () => response.end(),
        };
      },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, server };
}

const collectionPath = "/apis/trading.botops.dev/v1alpha1/namespaces/ns1/tradingbots";
const list = (resourceVersion: string, items: Bot[]) => ({
  kind: "List",
  metadata: { resourceVersion },
  items,
});

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/** A watch of the fake API server, with every call of its handlers recorded. */
async function startWatch(options: Partial<WatchCollectionOptions<Bot>> & { token?: () => string } = {}) {
  const api = await startFakeApiServer();
  const lists = new Inbox<Bot[]>();
  const events = new Inbox<{ type: WatchEventType; name: string; resourceVersion?: string }>();
  const problems = new Inbox<string>();
  const watch: CollectionWatch = watchCollection<Bot>({
    endpoint: { url: api.url, token: options.token ?? (() => "token-one") },
    path: collectionPath,
    onList: lists.push,
    onEvent: (type, object) =>
      events.push({ type, name: object.metadata.name, resourceVersion: object.metadata.resourceVersion }),
    onProblem: problems.push,
    initialBackoffMs: 5,
    maxBackoffMs: 20,
    ...options,
  });
  cleanups.push(async () => {
    await watch.stop();
    api.server.closeAllConnections();
    await new Promise((resolve) => api.server.close(resolve));
  });
  return { watch, requests: api.requests, lists, events, problems };
}

describe("watchCollection", () => {
  it("lists, then watches from the list's resourceVersion and delivers each event", async () => {
    let clock = 1_000;
    const { watch, requests, lists, events } = await startWatch({
      fieldSelector: "metadata.name=bot-a",
      now: () => clock,
    });
    expect(watch.confirmedAt()).toBeUndefined();

    const listRequest = await requests.next("list request");
    expect(listRequest).toMatchObject({
      kind: "list",
      path: collectionPath,
      authorization: "Bearer token-one",
    });
    expect(listRequest.query.get("fieldSelector")).toBe("metadata.name=bot-a");
    listRequest.reply(200, list("10", [bot("bot-a", "9")]));
    expect(await lists.next("list snapshot")).toEqual([bot("bot-a", "9")]);
    expect(watch.confirmedAt()).toBe(1_000);

    const watchRequest = await requests.next("watch request");
    expect(watchRequest.kind).toBe("watch");
    expect(Object.fromEntries(watchRequest.query)).toMatchObject({
      resourceVersion: "10",
      allowWatchBookmarks: "true",
      fieldSelector: "metadata.name=bot-a",
    });
    const timeoutSeconds = Number(watchRequest.query.get("timeoutSeconds"));
    expect(timeoutSeconds).toBeGreaterThanOrEqual(36);
    expect(timeoutSeconds).toBeLessThanOrEqual(44);

    const stream = watchRequest.openStream();
    clock = 2_000;
    stream.send("MODIFIED", bot("bot-a", "11", true));
    expect(await events.next("MODIFIED")).toEqual({ type: "MODIFIED", name: "bot-a", resourceVersion: "11" });
    expect(watch.confirmedAt()).toBe(2_000);
    stream.send("DELETED", bot("bot-a", "12", true));
    expect(await events.next("DELETED")).toEqual({ type: "DELETED", name: "bot-a", resourceVersion: "12" });
    stream.send("ADDED", bot("bot-a", "13"));
    expect(await events.next("ADDED")).toEqual({ type: "ADDED", name: "bot-a", resourceVersion: "13" });
  });

  it("takes a bookmark's resourceVersion for the next watch, and delivers no event for it", async () => {
    let clock = 1_000;
    const { watch, requests, events } = await startWatch({ now: () => clock });
    (await requests.next("list request")).reply(200, list("10", []));
    const stream = (await requests.next("watch request")).openStream();
    clock = 3_000;
    stream.send("BOOKMARK", { metadata: { name: "", resourceVersion: "42" } });
    // The server ends the watch normally (its timeoutSeconds ran out): the next one resumes, no relist.
    stream.end();
    const next = await requests.next("second watch request");
    expect(next.kind).toBe("watch");
    expect(next.query.get("resourceVersion")).toBe("42");
    expect(watch.confirmedAt()).toBe(3_000);
    expect(events.pending).toBe(0);
  });

  it("relists after a watch ERROR event 410 (Expired), and hands over the new snapshot", async () => {
    const { requests, lists, problems } = await startWatch();
    (await requests.next("list request")).reply(200, list("10", [bot("bot-a", "9")]));
    await lists.next("first snapshot");
    const stream = (await requests.next("watch request")).openStream();
    stream.send("ERROR", {
      kind: "Status",
      code: 410,
      reason: "Expired",
      message: "too old resource version",
    });
    expect(await problems.next("problem report")).toMatch(/410.*too old resource version.*relisting/);

    const relist = await requests.next("relist request");
    expect(relist.kind).toBe("list");
    relist.reply(200, list("50", [bot("bot-b", "49")]));
    expect(await lists.next("second snapshot")).toEqual([bot("bot-b", "49")]);
    expect((await requests.next("watch after relist")).query.get("resourceVersion")).toBe("50");
  });

  it("relists after an HTTP 410 on the watch request", async () => {
    const { requests, lists } = await startWatch();
    (await requests.next("list request")).reply(200, list("10", []));
    (await requests.next("watch request")).reply(410, { kind: "Status", code: 410, message: "gone" });
    expect((await requests.next("relist request")).kind).toBe("list");
    await lists.next("first snapshot");
  });

  it("reconnects from the last resourceVersion when the stream goes silent", async () => {
    const { requests, events, problems } = await startWatch({ idleTimeoutMs: 150 });
    (await requests.next("list request")).reply(200, list("10", []));
    const silent = await requests.next("watch request");
    silent.openStream().send("ADDED", bot("bot-a", "11"));
    await events.next("ADDED");
    expect(await problems.next("idle report")).toMatch(/nothing received for 150 ms/);
    await silent.closed;
    const next = await requests.next("watch after the silence");
    expect(next.kind).toBe("watch");
    expect(next.query.get("resourceVersion")).toBe("11");
  });

  it("reports a 401 with the server's message but never the token, and retries with a fresh token", async () => {
    let token = "secret-token-1";
    const { requests, lists, problems } = await startWatch({ token: () => token });
    const refused = await requests.next("list request");
    expect(refused.authorization).toBe("Bearer secret-token-1");
    token = "secret-token-2"; // the kubelet rotated the token file
    refused.reply(401, { kind: "Status", code: 401, reason: "Unauthorized", message: "token has expired" });
    const problem = await problems.next("401 report");
    expect(problem).toMatch(/401: token has expired; retrying in \d+ ms/);
    expect(problem).not.toContain("secret-token");

    const retried = await requests.next("retried list request");
    expect(retried.authorization).toBe("Bearer secret-token-2");
    retried.reply(200, list("10", []));
    expect(await lists.next("snapshot")).toEqual([]);
  });

  it("waits as long as a 429's Retry-After asks before trying again", async () => {
    const { requests } = await startWatch();
    const refusedAt = Date.now();
    (await requests.next("list request")).reply(429, { message: "slow down" }, { "retry-after": "1" });
    await requests.next("retried list request");
    expect(Date.now() - refusedAt).toBeGreaterThanOrEqual(950);
  });

  it("delivers again an event whose handler threw: the watch resumes from before it", async () => {
    let failOnce = true;
    const { requests, events } = await startWatch({
      onEvent: (type, object) => {
        if (failOnce) {
          failOnce = false;
          throw new Error("handler failed");
        }
        events.push({ type, name: object.metadata.name, resourceVersion: object.metadata.resourceVersion });
      },
    });
    (await requests.next("list request")).reply(200, list("10", []));
    (await requests.next("watch request")).openStream().send("ADDED", bot("bot-a", "11"));
    const resumed = await requests.next("watch after the failed handler");
    expect(resumed.query.get("resourceVersion")).toBe("10");
    resumed.openStream().send("ADDED", bot("bot-a", "11"));
    expect(await events.next("redelivered ADDED")).toMatchObject({ name: "bot-a", resourceVersion: "11" });
  });

  it("stop() aborts the watch in flight and ends the loop: no request follows", async () => {
    const { watch, requests } = await startWatch();
    (await requests.next("list request")).reply(200, list("10", []));
    const watchRequest = await requests.next("watch request");
    watchRequest.openStream();
    await watch.stop();
    await watchRequest.closed;
    expect(requests.pending).toBe(0);
  });

  it("stop() between the list and the watch ends the loop before the watch request", async () => {
    let handle: CollectionWatch | undefined;
    const stops = new Inbox<Promise<void>>();
    const { watch, requests } = await startWatch({
      onList: () => handle && stops.push(handle.stop()),
    });
    handle = watch;
    (await requests.next("list request")).reply(200, list("10", []));
    await await stops.next("stop() from onList");
    expect(requests.pending).toBe(0);
  }, 5_000); // a watch request would wait out the 60 s idle timeout

  it("stop() also ends a backoff wait at once", async () => {
    const { watch, requests, problems } = await startWatch({
      initialBackoffMs: 60_000,
      maxBackoffMs: 60_000,
    });
    (await requests.next("list request")).reply(500, { message: "etcd unavailable" });
    expect(await problems.next("500 report")).toMatch(/500: etcd unavailable/);
    await watch.stop();
    expect(requests.pending).toBe(0);
  }, 5_000); // the backoff alone would be 30 to 60 s
});

describe("inClusterEndpoint", () => {
  const serviceAccountDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "kube-watch-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "ca.crt"), "CA PEM");
    writeFileSync(join(dir, "token"), "first-token\n");
    return dir;
  };

  it("builds the URL from the service env (IPv6 in brackets) and rereads the token for each request", () => {
    const dir = serviceAccountDir();
    const endpoint = inClusterEndpoint(dir, {
      KUBERNETES_SERVICE_HOST: "fd00::1",
      KUBERNETES_SERVICE_PORT: "443",
    });
    expect(endpoint.url).toBe("https://[fd00::1]:443");
    expect(endpoint.ca?.toString()).toBe("CA PEM");
    expect(endpoint.token()).toBe("first-token");
    writeFileSync(join(dir, "token"), "rotated-token\n");
    expect(endpoint.token()).toBe("rotated-token");
    expect(
      inClusterEndpoint(dir, { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" }).url,
    ).toBe("https://10.0.0.1:443");
  });

  it("names what is missing", () => {
    const dir = serviceAccountDir();
    expect(() => inClusterEndpoint(dir, { KUBERNETES_SERVICE_HOST: "10.0.0.1" })).toThrow(
      /KUBERNETES_SERVICE_PORT not set/,
    );
    expect(() => inClusterEndpoint(dir, {})).toThrow(
      /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT not set/,
    );
    rmSync(join(dir, "ca.crt"));
    const env = { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" };
    expect(() => inClusterEndpoint(dir, env)).toThrow(`cannot read ${join(dir, "ca.crt")}`);
  });
});
