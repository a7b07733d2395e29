import { existsSync } from "node:fs";
import cors from "@fastify/cors";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import fastifyStatic from "@fastify/static";
import Fastify, { type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import type { BotData } from "../db/bot-data.ts";
import type { BotFeed } from "../kube/bot-feed.ts";
import type { TradingApi } from "../kube/trading-api.ts";
import { accessLog } from "./access-log.ts";
import { botDataRoutes } from "./bot-data-routes.ts";
import { botRoutes } from "./bot-routes.ts";
import { errorReplies } from "./error-replies.ts";
import { killSwitchRoutes } from "./killswitch-routes.ts";
import { loginRoutes, sessionRoutes } from "./login-routes.ts";
import type { LoginThrottle } from "./login-throttle.ts";
import type { ConsoleMetrics } from "./metrics.ts";
import { NamespaceAccess } from "./namespace-access.ts";
import type { OidcSignIn } from "./oidc-client.ts";
import type { OidcClaimMapping } from "./oidc-identity.ts";
import { OIDC_START_PATH, oidcRoutes } from "./oidc-routes.ts";
import { requireCsrfToken, requireSession, requireTrustedOrigin } from "./request-guards.ts";
import type { SessionKeyRing } from "./session-seal.ts";
import { sessions } from "./sessions.ts";
import { streamRoutes } from "./stream-routes.ts";
import type { Authentication } from "./users.ts";

// The console's HTTP server, and the one place its security properties can be read off: each concern
// is a plugin, registered here in the order requests meet them.

export const BODY_LIMIT_BYTES = 16 * 1024;

export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", "data:"],
  connectSrc: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
};

export interface RequestLimits {
  /** Requests per minute per client IP on every route. */
  perMinute: number;
  /** Requests per minute per client IP on each login route, password or OIDC (failed logins are throttled besides). */
  loginPerMinute: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = { perMinute: 600, loginPerMinute: 20 };

export interface ConsoleAppOptions {
  logger: Logger;
  /** Exact origins (besides the console's own) allowed to call the API from a browser. */
  allowedOrigins: readonly string[];
  /** Proxies in front of the console whose X-Forwarded-For hop is believed (0: none). */
  trustedProxies: number;
  secureCookies: boolean;
  keyRing: () => SessionKeyRing;
  /** Local users' password check; absent when only the OIDC issuer signs people in. */
  authenticate?: (username: string, password: string) => Promise<Authentication>;
  /** Sign-in at an OpenID Connect issuer. */
  oidc?: { signIn: OidcSignIn; mapping: OidcClaimMapping; displayName: string };
  throttle: LoginThrottle;
  metrics: ConsoleMetrics;
  trading: TradingApi;
  feed: BotFeed;
  /** A bot's record in PostgreSQL, through the read-only role; without it those routes answer 503. */
  botData?: BotData;
  /** The browser page's directory; without it (or when absent) `/` answers 404. */
  webDir?: string;
  https?: { cert: string; key: string };
  limits?: RequestLimits;
  heartbeatMs?: number;
  now?: () => number;
}

export interface RouteEntry {
  method: string;
  url: string;
}

const routeTables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Every route of a console app, as registered (the static files' wildcard included). */
export function routesOf(app: FastifyInstance): RouteEntry[] {
  return routeTables.get(app) ?? [];
}

export async function buildConsoleApp(options: ConsoleAppOptions): Promise<FastifyInstance> {
  const now = options.now ?? Date.now;
  const limits = options.limits ?? DEFAULT_REQUEST_LIMITS;
  const app = Fastify({
    loggerInstance: options.logger,
    // The access log below writes one line per request; fastify's own request lines would double it.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    // The client IP (request.ip) is the X-Forwarded-For entry added by the outermost trusted proxy.
    trustProxy: (_address: string, hop: number) => hop < options.trustedProxies,
    forceCloseConnections: true,
    ...(options.https ? { https: options.https } : {}),
  }) as unknown as FastifyInstance;
  const routes: RouteEntry[] = [];
  routeTables.set(app, routes);
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  // JSON is the only body the API takes.
  app.removeContentTypeParser("text/plain");
  const namespaceAccess = new NamespaceAccess(options.trading, 10_000, now);

  // Observability and uniform refusals first, so every answer below (401, 403, 429…) is logged and shaped.
  await app.register(accessLog);
  await app.register(errorReplies);

  // Browser hardening on every answer: strict CSP without inline code, HSTS, no framing, no sniffing.
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    hsts: { maxAge: 31_536_000, includeSubDomains: true },
    crossOriginEmbedderPolicy: false,
  });

  // A request limit on every route (the login route has a tighter one of its own).
  await app.register(rateLimit, {
    global: true,
    max: limits.perMinute,
    timeWindow: "1 minute",
    keyGenerator: (request) => request.ip,
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`requests: rate limit exceeded; retry in ${context.after}`), {
        statusCode: 429,
      }),
  });

  // Cross-origin calls only from listed origins, never `*` (refused at startup).
  // Answered after the request limit (an onRequest hook of each route), so preflights are limited too.
  await app.register(cors, {
    origin: [...options.allowedOrigins],
    credentials: true,
    methods: ["GET", "POST"],
    hook: "preParsing",
  });

  // The sealed session cookie.
  await app.register(sessions, { keyRing: options.keyRing, secureCookies: options.secureCookies, now });

  // Any state-changing request from a page of another origin is refused, login included.
  app.addHook("preHandler", requireTrustedOrigin(options.allowedOrigins));

  app.get("/healthz", async (_request, reply) => reply.type("text/plain").send("ok"));

  await app.register(loginRoutes, {
    ...(options.authenticate ? { authenticate: options.authenticate } : {}),
    ...(options.oidc ? { oidc: { displayName: options.oidc.displayName, startUrl: OIDC_START_PATH } } : {}),
    throttle: options.throttle,
    metrics: options.metrics,
    loginRequestsPerMinute: limits.loginPerMinute,
  });

  // Sign-in at the OIDC issuer: a redirect there and back (no script), ending in the same session.
  if (options.oidc) {
    await app.register(oidcRoutes, {
      ...options.oidc,
      keyRing: options.keyRing,
      secureCookies: options.secureCookies,
      metrics: options.metrics,
      requestsPerMinute: limits.loginPerMinute,
      now,
    });
  }

  // Everything else of the API needs a session, and a CSRF token to change anything.
  await app.register(async (api) => {
    api.addHook("preHandler", requireSession);
    api.addHook("preHandler", requireCsrfToken);
    await api.register(sessionRoutes);
    await api.register(botRoutes, { trading: options.trading, feed: options.feed, namespaceAccess });
    // Rows are shown only for a bot the API server lets the person get, and selected by its uid.
    await api.register(botDataRoutes, { trading: options.trading, data: options.botData, now });
    await api.register(killSwitchRoutes, { trading: options.trading });
    await api.register(streamRoutes, {
      feed: options.feed,
      namespaceAccess,
      heartbeatMs: options.heartbeatMs ?? 15_000,
      now,
    });
  });

  // The browser page, from the console's own files (no CDN).
  if (options.webDir && existsSync(options.webDir)) {
    await app.register(fastifyStatic, { root: options.webDir, index: ["index.html"], wildcard: true });
  }

  return app;
}
