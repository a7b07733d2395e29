import { randomBytes } from "node:crypto";
import fastifyCookie from "@fastify/cookie";
import type { FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import {
  ABSOLUTE_TIMEOUT_MS,
  IDLE_TIMEOUT_MS,
  openSession,
  type SessionData,
  type SessionKeyRing,
  sealSession,
} from "./session-seal.ts";
import type { Person } from "./users.ts";

// Sessions: the sealed cookie `tbc_session` (HttpOnly, SameSite=Strict, Secure), 30 minutes idle and 12
// hours at most, renewed on each request so the idle clock restarts and a cookie sealed with a demoted
// key is resealed with the current one. Logout revokes the session id until it would have expired
// anyway, so a copied cookie dies with it. A long-lived response (the live stream) asks `sessionLive`,
// which knows the session's last request from any tab, so it ends with the session, not 12 hours later.

export const SESSION_COOKIE = "tbc_session";

declare module "fastify" {
  interface FastifyRequest {
    /** The logged-in person, or null. */
    session: SessionData | null;
  }
  interface FastifyReply {
    startSession(user: Person): SessionData;
    endSession(): void;
  }
  interface FastifyInstance {
    /** False once the session was logged out, or has been idle or open for too long. */
    sessionLive(session: SessionData): boolean;
  }
}

export interface SessionOptions {
  keyRing: () => SessionKeyRing;
  /** False only when serving plain HTTP on loopback, where a browser would not send a Secure cookie. */
  secureCookies: boolean;
  now: () => number;
}

export const sessions = fp(
  async (app, options: SessionOptions) => {
    const revoked = new Map<string, number>();
    const isRevoked = (sid: string, now: number) => {
      for (const [id, until] of revoked) if (until <= now) revoked.delete(id);
      return revoked.has(sid);
    };
    // The newest request of each session, whichever tab sent it; idle ones are swept once a minute.
    const lastSeen = new Map<string, number>();
    let sweptAt = 0;
    const touch = (session: SessionData, now: number) => {
      if (now - sweptAt >= 60_000) {
        sweptAt = now;
        for (const [id, at] of lastSeen) if (at + IDLE_TIMEOUT_MS <= now) lastSeen.delete(id);
      }
      lastSeen.set(session.sid, Math.max(now, lastSeen.get(session.sid) ?? 0));
    };
    const cookieOptions = (session: SessionData) => ({
      path: "/",
      httpOnly: true,
      secure: options.secureCookies,
      sameSite: "strict" as const,
      maxAge: Math.max(0, Math.floor((session.issuedAt + ABSOLUTE_TIMEOUT_MS - options.now()) / 1000)),
    });
    const writeCookie = (reply: FastifyReply, session: SessionData) =>
      reply.setCookie(SESSION_COOKIE, sealSession(session, options.keyRing()), cookieOptions(session));

    await app.register(fastifyCookie);
    app.decorateRequest("session", null);

    app.addHook("onRequest", async (request: FastifyRequest) => {
      const cookie = request.cookies[SESSION_COOKIE];
      if (!cookie) return;
      const now = options.now();
      const reading = openSession(cookie, options.keyRing(), now);
      if (reading.valid && !isRevoked(reading.session.sid, now)) {
        request.session = { ...reading.session, lastSeenAt: now };
        touch(request.session, now);
      }
    });

    app.decorate("sessionLive", (session: SessionData) => {
      const now = options.now();
      const seen = Math.max(lastSeen.get(session.sid) ?? 0, session.lastSeenAt);
      return (
        !isRevoked(session.sid, now) &&
        now < seen + IDLE_TIMEOUT_MS &&
        now < session.issuedAt + ABSOLUTE_TIMEOUT_MS
      );
    });

    app.addHook("onSend", async (request, reply) => {
      if (request.session && !reply.getHeader("set-cookie")) writeCookie(reply, request.session);
    });

    app.decorateReply("startSession", function (this: FastifyReply, user: Person) {
      const now = options.now();
      const session: SessionData = {
        sid: randomBytes(16).toString("base64url"),
        user: user.name,
        groups: user.groups,
        csrfToken: randomBytes(32).toString("base64url"),
        issuedAt: now,
        lastSeenAt: now,
      };
      this.request.session = session;
      touch(session, now);
      writeCookie(this, session);
      return session;
    });

    app.decorateReply("endSession", function (this: FastifyReply) {
      const session = this.request.session;
      if (session) {
        revoked.set(session.sid, session.issuedAt + ABSOLUTE_TIMEOUT_MS);
        lastSeen.delete(session.sid);
      }
      this.request.session = null;
      this.clearCookie(SESSION_COOKIE, {
        path: "/",
        httpOnly: true,
        secure: options.secureCookies,
        sameSite: "strict",
      });
    });
  },
  { name: "sessions" },
);
