import { timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";

// The checks a request passes before a route acts on it, as preHandler hooks: a session, a CSRF token
// for anything that changes state, and an Origin the console trusts.

export class RefusedError extends Error {
  readonly statusCode: 401 | 403 | 415;

  constructor(statusCode: 401 | 403 | 415, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

export const CSRF_HEADER = "x-csrf-token";
const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export async function requireSession(request: FastifyRequest): Promise<void> {
  if (!request.session) throw new RefusedError(401, "session: not logged in, or the session has expired");
}

/** Synchronizer token: the token lives in the sealed session and must come back in a header. */
export async function requireCsrfToken(request: FastifyRequest): Promise<void> {
  if (!STATE_CHANGING.has(request.method) || !request.session) return;
  const sent = request.headers[CSRF_HEADER];
  const expected = Buffer.from(request.session.csrfToken);
  const given = Buffer.from(typeof sent === "string" ? sent : "");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new RefusedError(
      403,
      `${CSRF_HEADER}: missing or not this session's token (GET /api/session gives it)`,
    );
  }
}

/**
 * A state-changing request from a browser page must come from the console's own origin or a listed one.
 * Browsers always send Origin with such requests; a request without one is not from a page.
 */
export function requireTrustedOrigin(allowedOrigins: readonly string[]) {
  return async (request: FastifyRequest): Promise<void> => {
    if (!STATE_CHANGING.has(request.method)) return;
    const origin = request.headers.origin;
    if (origin === undefined) return;
    const own = `${request.protocol}://${request.host}`;
    if (origin !== own && !allowedOrigins.includes(origin)) {
      throw new RefusedError(
        403,
        `origin: ${origin.slice(0, 200)} is not allowed (not this console's origin nor an --allowed-origin)`,
      );
    }
  };
}

export async function requireJsonBody(request: FastifyRequest): Promise<void> {
  const type = request.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") throw new RefusedError(415, "content-type: must be application/json");
}

export type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
