import { mkdtempSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../../test/support/wait-for.ts";
import type { BotFeed } from "../kube/bot-feed.ts";
import type { Impersonation } from "../kube/client.ts";
import { KubeApiError } from "../kube/client.ts";
import type { TradingApi } from "../kube/trading-api.ts";
import type { StoredTradingBot } from "../kube/views.ts";
import { buildConsoleApp, type RequestLimits, routesOf } from "./app.ts";
import { LoginThrottle } from "./login-throttle.ts";
import { ConsoleMetrics } from "./metrics.ts";
import { OidcClient } from "./oidc-client.ts";
import { hashPassword, parsePasswordHash } from "./passwords.ts";
import { IDLE_TIMEOUT_MS, nextKeyRing, type SessionKeyRing } from "./session-seal.ts";
import { type ConsoleUser, passwordAuthenticator } from "./users.ts";

// The console's HTTP server without a cluster: every security property of app.ts, proved by requests
// through app.inject. The Kubernetes side is a recording stand-in; the integration suite
// (test/console/) runs the same routes against the real API server.

const CANARY_PASSWORD = "canary-Pa55word-7d1e";
const CSP =
  "default-src 'self';script-src 'self';style-src 'self';img-src 'self' data:;connect-src 'self';frame-ancestors 'none';base-uri 'none';form-action 'self'";
const ORIGIN = "https://console.example.com";
const cheap = { memoryKiB: 64, passes: 1, parallelism: 1 };

const bot: StoredTradingBot = {
  metadata: { name: "bot1", namespace: "ns1", resourceVersion: "1" },
  spec: { exchange: { mode: "paper" }, symbol: "BTC/USDT", strategy: { type: "grid" } },
  status: { phase: "Running" },
};

interface Harness {
  app: FastifyInstance;
  logs: string[];
  metrics: ConsoleMetrics;
  calls: { method: string; as: Impersonation; args: unknown[] }[];
  clock: { now: number };
  setKeyRing(ring: SessionKeyRing): void;
  secrets: Buffer[];
}

let open: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(open.map((app) => app.close()));
  open = [];
});

/** A real OIDC client whose issuer is not there (nothing listens on port 2): every sign-in fails at discovery. */
const OIDC_SECRET = "canary-oidc-client-secret-5e1f";
const absentIssuer = () =>
  new OidcClient({
    issuerUrl: "https://127.0.0.1:2",
    clientId: "console",
    clientSecret: OIDC_SECRET,
    redirectUrl: "https://console.example.com/auth/oidc/callback",
    scopes: ["openid"],
  });

async function harness(
  options: {
    limits?: RequestLimits;
    trustedProxies?: number;
    oidc?: boolean;
    localUsers?: boolean;
    heartbeatMs?: number;
  } = {},
): Promise<Harness> {
  const logs: string[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => logs.push(line) });
  const clock = { now: Date.parse("2030-01-01T00:00:00Z") };
  const secrets = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
  let ring = nextKeyRing([secrets[0] as Buffer], undefined, 60 * 60_000, clock.now);
  const users: ConsoleUser[] = [
    {
      name: "hal",
      groups: ["desk"],
      passwordHash: parsePasswordHash(await hashPassword(CANARY_PASSWORD, cheap)),
    },
  ];
  const calls: Harness["calls"] = [];
  const record =
    (method: string, answer: (...args: unknown[]) => unknown) =>
    async (as: Impersonation, ...args: unknown[]) => {
      calls.push({ method, as, args });
      return answer(...args);
    };
  const trading = {
    listBots: record("listBots", () => [bot]),
    getBot: record("getBot", (_ns, name) => {
      if (name !== "bot1") throw new KubeApiError(404, `tradingbots.trading.botops.dev "${name}" not found`);
      return bot;
    }),
    patchBotKillSwitch: record("patchBotKillSwitch", () => bot),
    listKillSwitches: record("listKillSwitches", () => []),
    createKillSwitch: record("createKillSwitch", (ks) => ({
      metadata: { name: (ks as { name: string }).name },
      spec: { engaged: true },
    })),
    patchKillSwitch: record("patchKillSwitch", (name) => ({ metadata: { name }, spec: { engaged: true } })),
    allowed: record("allowed", () => true),
  } as unknown as TradingApi;
  const feed = {
    snapshot: () => [bot],
    namespaces: () => ["ns1"],
    subscribe: () => () => {},
  } as unknown as BotFeed;
  const webDir = mkdtempSync(join(tmpdir(), "console-web-"));
  writeFileSync(join(webDir, "index.html"), "<!doctype html><title>console</title>");
  writeFileSync(join(webDir, "app.js"), "export {};");
  const metrics = new ConsoleMetrics();
  const app = await buildConsoleApp({
    logger,
    allowedOrigins: [ORIGIN],
    trustedProxies: options.trustedProxies ?? 0,
    secureCookies: true,
    keyRing: () => ring,
    ...(options.localUsers === false
      ? {}
      : { authenticate: passwordAuthenticator(new Map(users.map((u) => [u.name, u]))) }),
    throttle: new LoginThrottle(undefined, () => clock.now),
    metrics,
    trading,
    feed,
    webDir,
    now: () => clock.now,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    ...(options.oidc
      ? {
          oidc: {
            signIn: absentIssuer(),
            displayName: "Desk SSO",
            mapping: {
              usernameClaim: "email",
              groupsClaim: "groups",
              usernamePrefix: "oidc:",
              groupsPrefix: "oidc:",
              allowedUsers: new Set(["oidc:alice@example.com"]),
              allowedGroups: new Set(["desk"]),
            },
          },
        }
      : {}),
  });
  open.push(app);
  return { app, logs, metrics, calls, clock, secrets, setKeyRing: (next) => (ring = next) };
}

const cookieOf = (response: LightMyRequestResponse) => {
  const cookie = response.cookies.find((c) => c.name === "tbc_session");
  return cookie ? `tbc_session=${cookie.value}` : undefined;
};

async function login(h: Harness, password = CANARY_PASSWORD, remoteAddress = "10.0.0.1") {
  const response = await h.app.inject({
    method: "POST",
    url: "/api/login",
    remoteAddress,
    payload: { username: "hal", password },
  });
  return { response, cookie: cookieOf(response), csrfToken: response.json().csrfToken as string | undefined };
}

/** A concrete URL for a route pattern. */
const concrete = (url: string) =>
  url.replace(":namespace", "ns1").replace(":name", "bot1").replace("*", "app.js");

describe("the console's HTTP server", () => {
  it("sends the strict CSP, HSTS and no-sniff headers on every route, answered or refused", async () => {
    const h = await harness({ oidc: true });
    const routes = routesOf(h.app).filter((r) => r.method !== "OPTIONS");
    expect(routes.length).toBeGreaterThan(15);
    for (const route of routes) {
      const response = await h.app.inject({ method: route.method as "GET", url: concrete(route.url) });
      const where = `${route.method} ${route.url} (${response.statusCode})`;
      expect(response.headers["content-security-policy"], where).toBe(CSP);
      expect(response.headers["strict-transport-security"], where).toBe(
        "max-age=31536000; includeSubDomains",
      );
      expect(response.headers["x-content-type-options"], where).toBe("nosniff");
    }
  });

  it("limits the requests of every registered route, the login route more tightly, with Retry-After", async () => {
    const h = await harness({ limits: { perMinute: 3, loginPerMinute: 2 }, oidc: true });
    const routes = routesOf(h.app);
    const loginRoutes = ["POST /api/login", "GET /auth/oidc/start", "GET /auth/oidc/callback"];
    expect(routes.map((r) => `${r.method} ${r.url}`)).toEqual(
      expect.arrayContaining([
        ...loginRoutes,
        "GET /api/stream",
        "POST /api/bots/:namespace/:name/halt",
        "GET /*",
      ]),
    );
    for (const [index, route] of routes.entries()) {
      const remoteAddress = `10.1.${Math.floor(index / 250)}.${index % 250}`;
      const limit = loginRoutes.includes(`${route.method} ${route.url}`) ? 2 : 3;
      const request = () =>
        h.app.inject({
          method: route.method as "GET",
          url: concrete(route.url),
          remoteAddress,
          headers:
            route.method === "OPTIONS" ? { origin: ORIGIN, "access-control-request-method": "POST" } : {},
        });
      for (let i = 0; i < limit; i++)
        expect((await request()).statusCode, `${route.method} ${route.url}`).not.toBe(429);
      const refused = await request();
      expect(refused.statusCode, `${route.method} ${route.url}`).toBe(429);
      expect(Number(refused.headers["retry-after"]), `${route.method} ${route.url}`).toBeGreaterThan(0);
    }
  });

  it("locks an IP out after 5 failed logins within a minute, answers 429 with Retry-After, and lets it in 15 minutes later", async () => {
    const h = await harness();
    for (let i = 0; i < 5; i++) expect((await login(h, "wrong")).response.statusCode).toBe(401);
    const locked = await login(h);
    expect(locked.response.statusCode).toBe(429);
    expect(locked.response.headers["retry-after"]).toBe("900");
    expect(locked.cookie).toBeUndefined();
    h.clock.now += 15 * 60_000;
    expect((await login(h)).response.statusCode).toBe(200);
  });

  it("locks a username out after 10 failed logins within an hour, from any IPs", async () => {
    const h = await harness();
    for (let i = 0; i < 10; i++) {
      expect((await login(h, "wrong", `10.2.0.${i}`)).response.statusCode).toBe(401);
      h.clock.now += 4 * 60_000;
    }
    const locked = await login(h, CANARY_PASSWORD, "10.2.1.1");
    expect(locked.response.statusCode).toBe(429);
    expect(Number(locked.response.headers["retry-after"])).toBeGreaterThan(0);
  });

  it("reads the client IP from X-Forwarded-For only through the trusted proxy hops", async () => {
    for (const [trustedProxies, lockedOut] of [
      [0, false],
      [1, true],
    ] as const) {
      const h = await harness({ trustedProxies });
      // Five failures, each claiming another forwarded address but coming through the same proxy.
      for (let i = 0; i < 5; i++) {
        await h.app.inject({
          method: "POST",
          url: "/api/login",
          remoteAddress: "10.9.9.9",
          headers: { "x-forwarded-for": `203.0.113.${i}` },
          payload: { username: `nobody${i}`, password: "wrong" },
        });
      }
      const next = await h.app.inject({
        method: "POST",
        url: "/api/login",
        remoteAddress: "10.9.9.9",
        headers: { "x-forwarded-for": "203.0.113.99" },
        payload: { username: "hal", password: CANARY_PASSWORD },
      });
      // Untrusted: the forwarded addresses are ignored and the proxy's address is locked out.
      expect(next.statusCode, `trusted proxies ${trustedProxies}`).toBe(lockedOut ? 200 : 429);
      const failed = h.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "authentication failed");
      expect(failed[0]?.ip).toBe(trustedProxies === 1 ? "203.0.113.0" : "10.9.9.9");
    }
  });

  it("logs each failed login as `authentication failed` with user, ip and reason, counts it, and never logs a password", async () => {
    const h = await harness();
    await login(h, `${CANARY_PASSWORD}-typo`);
    await h.app.inject({
      method: "POST",
      url: "/api/login",
      remoteAddress: "10.0.0.2",
      payload: { username: "mallory", password: CANARY_PASSWORD },
    });
    await login(h);
    const lines = h.logs.map((l) => JSON.parse(l));
    const failed = lines.filter((l) => l.msg === "authentication failed");
    expect(failed).toEqual([
      expect.objectContaining({ user: "hal", ip: "10.0.0.1", reason: "wrong_password" }),
      expect.objectContaining({ user: "mallory", ip: "10.0.0.2", reason: "unknown_user" }),
    ]);
    const metric = await h.metrics.registry.getSingleMetricAsString(
      "tradingbot_console_login_failures_total",
    );
    expect(metric).toContain('tradingbot_console_login_failures_total{reason="wrong_password"} 1');
    expect(metric).toContain('tradingbot_console_login_failures_total{reason="unknown_user"} 1');
    expect(h.logs.length).toBeGreaterThan(3);
    for (const line of h.logs) expect(line).not.toContain("canary-Pa55word");
  });

  it("writes an access-log line for every request, 401 and 403 included", async () => {
    const h = await harness();
    await h.app.inject({ method: "GET", url: "/api/bots", remoteAddress: "10.0.0.3" });
    const { cookie } = await login(h);
    await h.app.inject({
      method: "POST",
      url: "/api/bots/ns1/bot1/resume",
      headers: { cookie },
      payload: {},
    });
    const access = h.logs.map((l) => JSON.parse(l)).flatMap((l) => (l.access ? [l.access] : []));
    expect(access).toEqual([
      expect.objectContaining({ ip: "10.0.0.3", user: null, method: "GET", route: "/api/bots", status: 401 }),
      expect.objectContaining({ method: "POST", route: "/api/login", status: 200 }),
      expect.objectContaining({
        user: "hal",
        method: "POST",
        route: "/api/bots/:namespace/:name/resume",
        status: 403,
      }),
    ]);
    for (const entry of access) expect(entry).toHaveProperty("durationMs");
    for (const entry of access) expect(entry).toHaveProperty("time");
  });

  it("allows cross-origin calls only from the listed origin, with credentials", async () => {
    const h = await harness();
    const preflight = (origin: string) =>
      h.app.inject({
        method: "OPTIONS",
        url: "/api/login",
        headers: { origin, "access-control-request-method": "POST" },
      });
    const allowed = await preflight(ORIGIN);
    expect(allowed.headers["access-control-allow-origin"]).toBe(ORIGIN);
    expect(allowed.headers["access-control-allow-credentials"]).toBe("true");
    const other = await preflight("https://console.example.com.evil.example");
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
    const forged = await h.app.inject({
      method: "POST",
      url: "/api/login",
      headers: { origin: "https://evil.example" },
      payload: { username: "hal", password: CANARY_PASSWORD },
    });
    expect(forged.statusCode).toBe(403);
    expect(forged.json().error).toMatch(/^origin: https:\/\/evil.example is not allowed/);
    expect(cookieOf(forged)).toBeUndefined();
  });

  it("refuses a state-changing request without this session's CSRF token, and acts with it", async () => {
    const h = await harness();
    const { cookie, csrfToken } = await login(h);
    for (const token of [undefined, "forged", `${csrfToken}x`]) {
      const response = await h.app.inject({
        method: "POST",
        url: "/api/bots/ns1/bot1/halt",
        headers: { cookie, ...(token ? { "x-csrf-token": token } : {}) },
        payload: { reason: "drill" },
      });
      expect(response.statusCode).toBe(403);
      expect(response.json().error).toMatch(/^x-csrf-token: /);
    }
    expect(h.calls.filter((c) => c.method === "patchBotKillSwitch")).toEqual([]);
    const halted = await h.app.inject({
      method: "POST",
      url: "/api/bots/ns1/bot1/halt",
      headers: { cookie, "x-csrf-token": csrfToken },
      payload: { reason: "drill" },
    });
    expect(halted.statusCode).toBe(200);
    expect(h.calls.filter((c) => c.method === "patchBotKillSwitch")).toEqual([
      {
        method: "patchBotKillSwitch",
        as: { user: "hal", groups: ["desk"] },
        args: ["ns1", "bot1", { engaged: true, reason: "drill" }],
      },
    ]);
  });

  it("requires application/json on login and refuses bodies over 16 KiB", async () => {
    const h = await harness();
    const form = await h.app.inject({
      method: "POST",
      url: "/api/login",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "username=hal&password=x",
    });
    expect(form.statusCode).toBe(415);
    expect(form.json().error).toMatch(/^content-type: /);
    const huge = await h.app.inject({
      method: "POST",
      url: "/api/login",
      payload: { username: "hal", password: "x".repeat(17 * 1024) },
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json()).toEqual({ error: "body: larger than the 16 KiB limit" });
  });

  it("answers 400 naming the field and what it allows", async () => {
    const h = await harness();
    const { cookie, csrfToken } = await login(h);
    const post = (url: string, payload: unknown) =>
      h.app.inject({
        method: "POST",
        url,
        headers: { cookie, "x-csrf-token": csrfToken },
        payload: payload as object,
      });
    const cases: [string, unknown, RegExp][] = [
      ["/api/bots/ns1/bot1/halt", {}, /^reason: must be a string of 1 to 256 characters/],
      ["/api/bots/ns1/bot1/halt", { reason: "" }, /^reason: must be 1 to 256 characters/],
      ["/api/bots/ns1/bot1/halt", { reason: "x".repeat(257) }, /^reason: must be 1 to 256 characters/],
      ["/api/bots/ns1/bot1/halt", { reason: "ok", extra: 1 }, /extra/],
      ["/api/bots/Bad_NS/bot1/halt", { reason: "ok" }, /^namespace: /],
      ["/api/bots/ns1/bot1/acknowledge", { haltId: "a b" }, /^haltId: must be the halt's id/],
      [
        "/api/killswitches",
        { name: "desk", reason: "r", namespaces: ["a", "b"], confirmScope: "a" },
        /^confirmScope: must repeat the switch's scope exactly: "a,b"/,
      ],
      [
        "/api/killswitches",
        { name: "desk", reason: "r", selector: { matchLabels: { "bad key!": "v" } }, confirmScope: "x" },
        /^selector\.matchLabels/,
      ],
      ["/api/login", { username: "hal" }, /^password: /],
    ];
    for (const [url, payload, message] of cases) {
      const response = await post(url, payload);
      expect(response.statusCode, `${url} ${JSON.stringify(payload)}`).toBe(400);
      expect(response.json().error, `${url} ${JSON.stringify(payload)}`).toMatch(message);
    }
    const query = await h.app.inject({ method: "GET", url: "/api/bots?phase=Exploded", headers: { cookie } });
    expect(query.statusCode).toBe(400);
    expect(query.json().error).toMatch(/^phase: must be one of Pending, Running/);
    expect(h.calls.filter((c) => c.method !== "allowed")).toEqual([]);
  });

  it("refuses hostile strings or keeps them harmless", async () => {
    const h = await harness();
    const { cookie, csrfToken } = await login(h);
    const headers = { cookie, "x-csrf-token": csrfToken };
    for (const reason of ["line\nbreak", "bell\u0007", "bidi\u202e", "nul\u0000"]) {
      const response = await h.app.inject({
        method: "POST",
        url: "/api/bots/ns1/bot1/halt",
        headers,
        payload: { reason },
      });
      expect(response.statusCode, JSON.stringify(reason)).toBe(400);
      expect(response.json().error).toMatch(/^reason: reason must be one line of printable characters/);
    }
    for (const url of ["/api/bots/..%2F..%2Fapi/bot1", "/api/bots/ns1/%2E%2E", "/api/bots/ns1/a%3Fwatch=1"]) {
      const response = await h.app.inject({ method: "GET", url, headers });
      expect([400, 404], url).toContain(response.statusCode);
    }
    const markup = "<script>alert(1)</script>";
    const halted = await h.app.inject({
      method: "POST",
      url: "/api/bots/ns1/bot1/halt",
      headers,
      payload: { reason: markup },
    });
    expect(halted.statusCode).toBe(200);
    expect(halted.headers["content-type"]).toMatch(/^application\/json/);
    expect(h.calls.at(-1)?.args).toEqual(["ns1", "bot1", { engaged: true, reason: markup }]);
    const prototype = await h.app.inject({
      method: "POST",
      url: "/api/login",
      payload: '{"__proto__": {"admin": true}, "username": "hal", "password": "x"}',
      headers: { "content-type": "application/json" },
    });
    expect(prototype.statusCode).toBe(400);
    const injected = await h.app.inject({
      method: "POST",
      url: "/api/login",
      payload: { username: 'hal\n{"msg":"forged"}', password: "x" },
    });
    expect(injected.statusCode).toBe(401);
    expect(h.logs.every((line) => line.trim().split("\n").length === 1)).toBe(true);
    for (const url of ["/../package.json", "/%2e%2e/package.json", "/..%2fpackage.json"]) {
      const response = await h.app.inject({ method: "GET", url });
      expect([400, 403, 404], url).toContain(response.statusCode);
      expect(response.body, url).not.toContain("tradingbot-operator");
    }
  });

  it("ends a session after 30 idle minutes, and after 12 hours however active", async () => {
    const h = await harness();
    let { cookie } = await login(h);
    const session = async () => {
      const response = await h.app.inject({ method: "GET", url: "/api/session", headers: { cookie } });
      cookie = cookieOf(response) ?? cookie;
      return response;
    };
    const issuedAt = h.clock.now;
    h.clock.now += IDLE_TIMEOUT_MS - 60_000;
    const alive = await session();
    expect(alive.statusCode).toBe(200);
    expect(alive.json()).toMatchObject({
      user: { name: "hal", groups: ["desk"] },
      idleExpiresAt: new Date(h.clock.now + IDLE_TIMEOUT_MS).toISOString(),
      absoluteExpiresAt: new Date(issuedAt + 12 * 3_600_000).toISOString(),
    });
    h.clock.now += IDLE_TIMEOUT_MS;
    expect((await session()).statusCode).toBe(401);

    ({ cookie } = await login(h));
    const start = h.clock.now;
    while (h.clock.now < start + 12 * 3_600_000 - 20 * 60_000) {
      h.clock.now += 20 * 60_000;
      expect((await session()).statusCode).toBe(200);
    }
    h.clock.now = start + 12 * 3_600_000;
    expect((await session()).statusCode).toBe(401);
  });

  it("ends a live stream at its next heartbeat once the session logs out elsewhere or idles 30 minutes, not while other requests keep it in use", async () => {
    const h = await harness({ heartbeatMs: 20 });
    await h.app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = h.app.server.address() as AddressInfo;
    // The stream as a browser tab holds it: heartbeats counted as they arrive, and whether it has ended.
    const openStream = (cookie: string) => {
      const stream = { heartbeats: 0, ended: false };
      const req = httpRequest(
        { host: "127.0.0.1", port, path: "/api/stream", headers: { cookie } },
        (res) => {
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            stream.heartbeats += chunk.split(": heartbeat").length - 1;
          });
          res.on("end", () => {
            stream.ended = true;
          });
        },
      );
      req.end();
      return stream;
    };
    const heartbeatsAfter = (stream: { heartbeats: number }, count: number) => {
      const from = stream.heartbeats;
      return waitFor(() => stream.heartbeats >= from + count, { what: `${count} more heartbeats` });
    };

    let { cookie = "", csrfToken = "" } = await login(h);
    const other = await login(h);
    const busy = openStream(cookie);
    const idle = openStream(other.cookie ?? "");
    await heartbeatsAfter(busy, 1);
    await heartbeatsAfter(idle, 1);
    // Another tab of the first session keeps making requests; the second session makes none.
    for (let minutes = 0; minutes < 40; minutes += 20) {
      h.clock.now += 20 * 60_000;
      const response = await h.app.inject({ method: "GET", url: "/api/session", headers: { cookie } });
      cookie = cookieOf(response) ?? cookie;
      await heartbeatsAfter(busy, 2);
    }
    await waitFor(() => idle.ended, { what: "the idle session's stream to end" });
    expect(busy.ended).toBe(false);

    const logout = await h.app.inject({
      method: "POST",
      url: "/api/logout",
      headers: { cookie, "x-csrf-token": csrfToken },
    });
    expect(logout.statusCode).toBe(204);
    await waitFor(() => busy.ended, { what: "the logged-out session's stream to end" });
  });

  it("sets the session cookie HttpOnly, Secure and SameSite=Strict", async () => {
    const h = await harness();
    const { response } = await login(h);
    const header = String(response.headers["set-cookie"]);
    expect(header).toMatch(/^tbc_session=/);
    expect(header).toContain("HttpOnly");
    expect(header).toContain("Secure");
    expect(header).toContain("SameSite=Strict");
  });

  it("keeps sessions sealed with a demoted key for the grace window only, resealing them with the new key", async () => {
    const h = await harness();
    const [first, second] = h.secrets as [Buffer, Buffer];
    const old = (await login(h)).cookie;
    // A grace shorter than the idle timeout, so only the key's retirement can end the old cookie.
    const grace = 20 * 60_000;
    const before = nextKeyRing([first], undefined, grace, h.clock.now);
    h.setKeyRing(nextKeyRing([second, first], before, grace, h.clock.now));
    h.clock.now += 10 * 60_000;
    const renewed = await h.app.inject({ method: "GET", url: "/api/session", headers: { cookie: old } });
    expect(renewed.statusCode).toBe(200);
    const resealed = cookieOf(renewed);
    expect(resealed?.split(".")[1]).not.toBe(old?.split(".")[1]);
    h.clock.now += 15 * 60_000;
    expect(
      (await h.app.inject({ method: "GET", url: "/api/session", headers: { cookie: old } })).statusCode,
    ).toBe(401);
    expect(
      (await h.app.inject({ method: "GET", url: "/api/session", headers: { cookie: resealed } })).statusCode,
    ).toBe(200);
  });

  it("logs out: the cookie is cleared and the old cookie no longer works", async () => {
    const h = await harness();
    const { cookie, csrfToken } = await login(h);
    const withoutToken = await h.app.inject({ method: "POST", url: "/api/logout", headers: { cookie } });
    expect(withoutToken.statusCode).toBe(403);
    const out = await h.app.inject({
      method: "POST",
      url: "/api/logout",
      headers: { cookie, "x-csrf-token": csrfToken },
    });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers["set-cookie"])).toMatch(/^tbc_session=;/);
    const reused = await h.app.inject({ method: "GET", url: "/api/session", headers: { cookie } });
    expect(reused.statusCode).toBe(401);
    expect(reused.json()).toEqual({ error: "session: not logged in, or the session has expired" });
  });

  it("passes the API server's refusal through with its status and message", async () => {
    const h = await harness();
    const { cookie } = await login(h);
    const missing = await h.app.inject({ method: "GET", url: "/api/bots/ns1/gone", headers: { cookie } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'tradingbots.trading.botops.dev "gone" not found' });
  });

  it("answers a bot's orders, fills, chart, risk events, audit trail and halts with 503 when no database is configured", async () => {
    const h = await harness();
    const { cookie } = await login(h);
    for (const view of ["orders", "fills", "snapshots", "risk-events", "audit", "halts"]) {
      const response = await h.app.inject({
        method: "GET",
        url: `/api/bots/ns1/bot1/${view}`,
        headers: { cookie },
      });
      expect(response.statusCode, view).toBe(503);
      expect(response.json().error).toMatch(/not configured.*--database-credentials/);
    }
    const badPage = await h.app.inject({
      method: "GET",
      url: "/api/bots/ns1/bot1/audit?limit=500",
      headers: { cookie },
    });
    expect(badPage.statusCode).toBe(400);
    expect(badPage.json().error).toBe("limit: must be a whole number from 1 to 200");
  });

  it("tells the page which ways in there are", async () => {
    const local = await harness();
    expect((await local.app.inject({ method: "GET", url: "/api/login-options" })).json()).toEqual({
      password: true,
      oidc: null,
    });
    const both = await harness({ oidc: true });
    expect((await both.app.inject({ method: "GET", url: "/api/login-options" })).json()).toEqual({
      password: true,
      oidc: { name: "Desk SSO", startUrl: "/auth/oidc/start" },
    });
    // Only the issuer: no password login to guess at.
    const issuerOnly = await harness({ oidc: true, localUsers: false });
    expect((await issuerOnly.app.inject({ method: "GET", url: "/api/login-options" })).json()).toEqual({
      password: false,
      oidc: { name: "Desk SSO", startUrl: "/auth/oidc/start" },
    });
    const guess = await issuerOnly.app.inject({
      method: "POST",
      url: "/api/login",
      payload: { username: "hal", password: CANARY_PASSWORD },
    });
    expect(guess.statusCode).toBe(404);
  });

  it("refuses an OIDC sign-in whose issuer is away or whose callback has no flow of this browser, with a page, a reason and a count", async () => {
    const h = await harness({ oidc: true });
    const start = await h.app.inject({ method: "GET", url: "/auth/oidc/start", remoteAddress: "10.0.0.4" });
    expect(start.statusCode).toBe(502);
    expect(start.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(start.headers["content-security-policy"]).toBe(CSP);
    expect(start.body).toContain("Desk SSO did not complete the sign-in");
    expect(start.body).not.toContain("<script");
    expect(start.cookies).toEqual([]);

    const forged = await h.app.inject({
      method: "GET",
      url: "/auth/oidc/callback?code=canary-code-81c2&state=guessed",
      remoteAddress: "10.0.0.5",
    });
    expect(forged.statusCode).toBe(400);
    expect(forged.body).toContain("it must be completed in the browser that started it");
    expect(forged.cookies.find((c) => c.name === "tbc_session")).toBeUndefined();
    const tampered = await h.app.inject({
      method: "GET",
      url: "/auth/oidc/callback?code=canary-code-81c2&state=guessed",
      cookies: { tbc_oidc: "v1.abc.def.ghi.jkl" },
      remoteAddress: "10.0.0.5",
    });
    expect(tampered.statusCode).toBe(400);

    const failed = h.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "authentication failed");
    expect(failed).toEqual([
      expect.objectContaining({ ip: "10.0.0.4", reason: "oidc_issuer_error", detail: "ECONNREFUSED" }),
      expect.objectContaining({ ip: "10.0.0.5", reason: "oidc_bad_state", detail: "no_flow_cookie" }),
      expect.objectContaining({
        ip: "10.0.0.5",
        reason: "oidc_bad_state",
        detail: "flow_cookie_unknown_key",
      }),
    ]);
    const metric = await h.metrics.registry.getSingleMetricAsString(
      "tradingbot_console_login_failures_total",
    );
    expect(metric).toContain('tradingbot_console_login_failures_total{reason="oidc_bad_state"} 2');
    expect(metric).toContain('tradingbot_console_login_failures_total{reason="oidc_issuer_error"} 1');
    for (const line of h.logs) {
      expect(line).not.toContain(OIDC_SECRET);
      expect(line).not.toContain("canary-code-81c2");
    }
  });

  it("serves the browser page's files, and answers 404 where there is none", async () => {
    const h = await harness();
    const index = await h.app.inject({ method: "GET", url: "/" });
    expect(index.statusCode).toBe(200);
    expect(index.body).toContain("<title>console</title>");
    expect((await h.app.inject({ method: "GET", url: "/app.js" })).statusCode).toBe(200);
    expect((await h.app.inject({ method: "GET", url: "/healthz" })).body).toBe("ok");
  });
});
