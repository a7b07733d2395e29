import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { ConsoleMetrics, LoginFailureReason } from "./metrics.ts";
import { classifyOidcFailure, type OidcFlow, type OidcSignIn } from "./oidc-client.ts";
import { type OidcClaimMapping, oidcIdentity } from "./oidc-identity.ts";
import { OIDC_CALLBACK_PATH } from "./options.ts";
import { openValue, type SessionKeyRing, sealValue } from "./session-seal.ts";

// Sign-in at an OpenID Connect issuer: `/auth/oidc/start` sends the browser to the issuer with PKCE,
// state and nonce, which wait in a short-lived sealed cookie scoped to the callback path;
// `/auth/oidc/callback` checks them, exchanges the code, maps the ID token's claims to a person the
// console may impersonate (oidc-identity.ts) and opens the same session as a password login. The flow
// cookie is SameSite=Lax because the issuer's redirect back is a cross-site navigation, which a Strict
// cookie would not follow. Every refusal is a page (the browser arrived by navigation, not by the app),
// an `authentication failed` log line with its reason, and a count in the login failures metric.

export const OIDC_START_PATH = "/auth/oidc/start";
export const FLOW_COOKIE = "tbc_oidc";
/** How long the issuer may take to send the browser back. */
export const FLOW_TTL_MS = 10 * 60_000;
const FLOW_PURPOSE = "oidc-flow";
const MAX_REMEMBERED_FLOWS = 100_000;

export interface OidcRoutesOptions {
  signIn: OidcSignIn;
  mapping: OidcClaimMapping;
  /** "Sign in with <displayName>". */
  displayName: string;
  keyRing: () => SessionKeyRing;
  secureCookies: boolean;
  metrics: ConsoleMetrics;
  /** The login routes' tighter request limit (requests per minute per IP). */
  requestsPerMinute: number;
  now: () => number;
}

const FlowCookie = z.strictObject({
  state: z.string().min(1).max(256),
  nonce: z.string().min(1).max(256),
  codeVerifier: z.string().min(43).max(128),
  startedAt: z.number(),
});

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );

/** A page of the console's own: its stylesheet, no script (the CSP allows none inline). */
export function refusalPage(title: string, message: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="referrer" content="no-referrer" />
    <title>${escapeHtml(title)}</title>
    <link rel="stylesheet" href="/console.css" />
  </head>
  <body>
    <main class="login" role="alert">
      <h1>${escapeHtml(title)}</h1>
      <p>${escapeHtml(message)}</p>
      <p><a href="/">Back to the console's login</a></p>
    </main>
  </body>
</html>
`;
}

interface Refusal {
  status: number;
  reason: LoginFailureReason;
  detail?: string;
  user?: string;
  message: string;
}

const sameText = (a: string, b: string) => {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
};

export async function oidcRoutes(app: FastifyInstance, options: OidcRoutesOptions): Promise<void> {
  const { displayName } = options;
  // States of flows already brought back (until they would have expired anyway): a replayed callback is
  // refused here, before its code reaches the issuer a second time.
  const consumed = new Map<string, number>();
  const consume = (state: string, now: number) => {
    for (const [old, until] of consumed) {
      if (until > now && consumed.size < MAX_REMEMBERED_FLOWS) break;
      consumed.delete(old);
    }
    consumed.set(state, now + FLOW_TTL_MS);
  };
  const cookieOptions = {
    path: OIDC_CALLBACK_PATH,
    httpOnly: true,
    secure: options.secureCookies,
    sameSite: "lax" as const,
  };
  const routeOptions = {
    config: { rateLimit: { max: options.requestsPerMinute, timeWindow: "1 minute" } },
    exposeHeadRoute: false,
  };

  const refuse = (request: FastifyRequest, reply: FastifyReply, refusal: Refusal) => {
    request.log.warn(
      {
        user: refusal.user ?? null,
        ip: request.ip,
        reason: refusal.reason,
        ...(refusal.detail ? { detail: refusal.detail } : {}),
      },
      "authentication failed",
    );
    options.metrics.loginFailures.inc({ reason: refusal.reason });
    return reply
      .code(refusal.status)
      .type("text/html; charset=utf-8")
      .header("cache-control", "no-store")
      .send(refusalPage("Sign-in refused", refusal.message));
  };
  const issuerFailure = (error: unknown): Refusal => {
    const failure = classifyOidcFailure(error);
    const messages = {
      oidc_issuer_error: `${displayName} did not complete the sign-in (${failure.detail}). Try again, or ask an administrator to check the console's log.`,
      oidc_code_rejected: `${displayName} did not accept this sign-in's code: it was used already, has expired, or was not issued to this browser's sign-in. Start again.`,
      oidc_token_invalid: `The identity ${displayName} sent could not be verified. Start again, or ask an administrator to check the console's log.`,
    };
    return {
      status: failure.reason === "oidc_issuer_error" ? 502 : 401,
      reason: failure.reason,
      detail: failure.detail,
      message: messages[failure.reason],
    };
  };
  const badState = (detail: string): Refusal => ({
    status: 400,
    reason: "oidc_bad_state",
    detail,
    message: `This sign-in is not valid here: it must be completed in the browser that started it, within ${FLOW_TTL_MS / 60_000} minutes. Start again.`,
  });

  app.get(OIDC_START_PATH, routeOptions, async (request, reply) => {
    let started: Awaited<ReturnType<OidcSignIn["begin"]>>;
    try {
      started = await options.signIn.begin();
    } catch (error) {
      return refuse(request, reply, issuerFailure(error));
    }
    const sealed = sealValue(
      JSON.stringify({ ...started.flow, startedAt: options.now() }),
      options.keyRing(),
      FLOW_PURPOSE,
    );
    reply.setCookie(FLOW_COOKIE, sealed, { ...cookieOptions, maxAge: FLOW_TTL_MS / 1000 });
    return reply.header("cache-control", "no-store").redirect(started.authorizationUrl.href, 303);
  });

  app.get(OIDC_CALLBACK_PATH, routeOptions, async (request, reply) => {
    // The flow is single-use whatever happens next.
    reply.clearCookie(FLOW_COOKIE, cookieOptions);
    const query = new URLSearchParams(request.url.split("?")[1] ?? "");
    const cookie = request.cookies[FLOW_COOKIE];
    if (!cookie) return refuse(request, reply, badState("no_flow_cookie"));
    const now = options.now();
    const opened = openValue(cookie, options.keyRing(), now, FLOW_PURPOSE);
    if (!opened.valid) return refuse(request, reply, badState(`flow_cookie_${opened.reason}`));
    let flow: OidcFlow & { startedAt: number };
    try {
      flow = FlowCookie.parse(JSON.parse(opened.plain));
    } catch {
      return refuse(request, reply, badState("flow_cookie_tampered"));
    }
    if (now - flow.startedAt >= FLOW_TTL_MS || now < flow.startedAt)
      return refuse(request, reply, badState("flow_expired"));
    if (consumed.has(flow.state)) {
      return refuse(request, reply, {
        status: 400,
        reason: "oidc_replayed",
        message: "This sign-in was completed already and cannot be used again. Start again.",
      });
    }
    if (!sameText(query.get("state") ?? "", flow.state))
      return refuse(request, reply, badState("state_mismatch"));
    consume(flow.state, now);

    let claims: Record<string, unknown>;
    try {
      claims = await options.signIn.finish(query, flow);
    } catch (error) {
      return refuse(request, reply, issuerFailure(error));
    }
    const identity = oidcIdentity(claims, options.mapping);
    if (!identity.ok) {
      const messages = {
        oidc_claim_missing: `${displayName} did not say who you are (the ID token has no ${identity.claim ?? "username"} claim). Ask an administrator.`,
        oidc_email_not_verified: `${displayName} has not verified the email address of ${identity.user ?? "this account"}, so the console cannot take it as your name.`,
        oidc_user_not_allowed: `You signed in at ${displayName} as ${identity.user ?? "an unknown user"}, but this console is not set up to act for that account. Ask an administrator to allow it.`,
        oidc_no_allowed_group: `You signed in at ${displayName} as ${identity.user ?? "an unknown user"}, but none of your groups may use this console. Ask an administrator.`,
      };
      return refuse(request, reply, {
        status: identity.reason === "oidc_claim_missing" ? 401 : 403,
        reason: identity.reason,
        ...(identity.user ? { user: identity.user } : {}),
        message: messages[identity.reason],
      });
    }
    if (identity.droppedGroups.length > 0) {
      request.log.info(
        { user: identity.user.name, droppedGroups: identity.droppedGroups.slice(0, 20) },
        "oidc groups not among --impersonate-groups; not sent",
      );
    }
    reply.startSession(identity.user);
    return reply.header("cache-control", "no-store").redirect("/", 303);
  });
}
