import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { LoginBody, parseInput } from "./inputs.ts";
import type { LoginThrottle } from "./login-throttle.ts";
import type { ConsoleMetrics, LoginFailureReason } from "./metrics.ts";
import { requireJsonBody } from "./request-guards.ts";
import { type SessionData, sessionDeadlines } from "./session-seal.ts";
import type { Authentication } from "./users.ts";

// Login, logout and the current session. Failed logins are throttled per client IP and per username
// (login-throttle.ts), logged as `authentication failed` with user, IP and reason (never the password)
// and counted by reason. Without local users there is no password login at all; the page asks
// `/api/login-options` which ways in there are.

export interface LoginOptions {
  /** Checks a local user's password; absent when the console has no local users. */
  authenticate?: (username: string, password: string) => Promise<Authentication>;
  /** Sign-in at an OIDC issuer (oidc-routes.ts), offered on the login page as "Sign in with <name>". */
  oidc?: { displayName: string; startUrl: string };
  throttle: LoginThrottle;
  metrics: ConsoleMetrics;
  /** Tighter request limit of the login route (requests per minute per IP), besides the failure throttle. */
  loginRequestsPerMinute: number;
}

const INVALID = "username or password: not valid";

function sessionView(session: SessionData) {
  const { idleExpiresAt, absoluteExpiresAt } = sessionDeadlines(session);
  return {
    user: { name: session.user, groups: session.groups },
    csrfToken: session.csrfToken,
    idleExpiresAt: new Date(idleExpiresAt).toISOString(),
    absoluteExpiresAt: new Date(absoluteExpiresAt).toISOString(),
  };
}

export async function loginRoutes(app: FastifyInstance, options: LoginOptions): Promise<void> {
  app.get("/api/login-options", async () => ({
    password: options.authenticate !== undefined,
    oidc: options.oidc ? { name: options.oidc.displayName, startUrl: options.oidc.startUrl } : null,
  }));

  const authenticate = options.authenticate;
  if (!authenticate) return;
  const refuse = (request: FastifyRequest, username: string, reason: LoginFailureReason) => {
    request.log.warn({ user: username, ip: request.ip, reason }, "authentication failed");
    options.metrics.loginFailures.inc({ reason });
  };

  app.post(
    "/api/login",
    {
      config: { rateLimit: { max: options.loginRequestsPerMinute, timeWindow: "1 minute" } },
      preHandler: requireJsonBody,
    },
    async (request, reply: FastifyReply) => {
      const { username, password } = parseInput(LoginBody, request.body, "body");
      const verdict = options.throttle.verdict(request.ip, username);
      if (!verdict.allowed) {
        refuse(request, username, "locked_out");
        return reply
          .code(429)
          .header("retry-after", String(verdict.retryAfterSeconds))
          .send({ error: `login: too many failed attempts; try again in ${verdict.retryAfterSeconds} s` });
      }
      const result = await authenticate(username, password);
      if (!result.ok) {
        options.throttle.recordFailure(request.ip, username);
        refuse(request, username, result.reason);
        return reply.code(401).send({ error: INVALID });
      }
      options.throttle.recordSuccess(username);
      const session = reply.startSession(result.user);
      return { user: { name: session.user, groups: session.groups }, csrfToken: session.csrfToken };
    },
  );
}

/** Routes of a logged-in person (registered where a session and, to change state, a CSRF token are required). */
export async function sessionRoutes(app: FastifyInstance): Promise<void> {
  app.post("/api/logout", async (_request, reply) => {
    reply.endSession();
    return reply.code(204).send();
  });

  app.get("/api/session", async (request) => sessionView(request.session as SessionData));
}
