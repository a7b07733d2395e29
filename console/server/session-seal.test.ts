import { describe, expect, it } from "vitest";
import {
  ABSOLUTE_TIMEOUT_MS,
  IDLE_TIMEOUT_MS,
  nextKeyRing,
  openSession,
  openValue,
  parseSessionKeys,
  type SessionData,
  sealSession,
  sealValue,
} from "./session-seal.ts";

const t0 = Date.parse("2030-01-01T00:00:00Z");
const [a, b] = [Buffer.alloc(32, 7), Buffer.alloc(32, 9)];
const session: SessionData = {
  sid: "s1",
  user: "hal",
  groups: ["desk"],
  csrfToken: "token",
  issuedAt: t0,
  lastSeenAt: t0,
};

describe("sealed session cookies", () => {
  it("opens what it sealed, and nothing changed by a byte", () => {
    const ring = nextKeyRing([a], undefined, 60_000, t0);
    const sealed = sealSession(session, ring);
    expect(sealed).not.toContain("hal");
    expect(openSession(sealed, ring, t0)).toMatchObject({ valid: true, session });
    const parts = sealed.split(".");
    const body = Buffer.from(parts[3] as string, "base64url");
    body[0] = (body[0] as number) ^ 1;
    parts[3] = body.toString("base64url");
    expect(openSession(parts.join("."), ring, t0)).toEqual({ valid: false, reason: "tampered" });
    expect(openSession("v1.x.y", ring, t0)).toEqual({ valid: false, reason: "malformed" });
    expect(openSession(sealed, nextKeyRing([b], undefined, 60_000, t0), t0)).toEqual({
      valid: false,
      reason: "unknown_key",
    });
  });

  it("accepts a demoted key for the grace window from the first time it is seen demoted", () => {
    const first = nextKeyRing([a], undefined, 60_000, t0);
    const sealed = sealSession(session, first);
    const rotated = nextKeyRing([b, a], first, 60_000, t0 + 1_000);
    const reread = nextKeyRing([b, a], rotated, 60_000, t0 + 30_000);
    expect(openSession(sealed, reread, t0 + 60_999)).toMatchObject({
      valid: true,
      sealedWithCurrentKey: false,
    });
    expect(openSession(sealed, reread, t0 + 61_000)).toEqual({ valid: false, reason: "key_retired" });
    expect(openSession(sealSession(session, reread), reread, t0 + 61_000)).toMatchObject({
      valid: true,
      sealedWithCurrentKey: true,
    });
  });

  it("expires 30 minutes after the last request and 12 hours after login", () => {
    const ring = nextKeyRing([a], undefined, 60_000, t0);
    const sealed = sealSession(session, ring);
    expect(openSession(sealed, ring, t0 + IDLE_TIMEOUT_MS)).toEqual({ valid: false, reason: "idle_expired" });
    const active = sealSession({ ...session, lastSeenAt: t0 + ABSOLUTE_TIMEOUT_MS - 1 }, ring);
    expect(openSession(active, ring, t0 + ABSOLUTE_TIMEOUT_MS)).toEqual({
      valid: false,
      reason: "absolute_expired",
    });
  });

  it("reads a keys file of base64 lines and refuses short keys, naming the line", () => {
    expect(parseSessionKeys(`# current first\n${b.toString("base64")}\n${a.toString("base64")}\n`)).toEqual([
      b,
      a,
    ]);
    expect(() => parseSessionKeys(`${a.toString("base64")}\nc2hvcnQ=\n`)).toThrow(
      "session keys file: line 2: must be base64 of at least 32 random bytes",
    );
    expect(() => parseSessionKeys("\n")).toThrow("no key in it");
  });

  it("opens a value only for the purpose it was sealed for: a sign-in's flow is never a session", () => {
    const ring = nextKeyRing([a], undefined, 60_000, t0);
    const flow = sealValue('{"state":"s"}', ring, "oidc-flow");
    expect(openValue(flow, ring, t0, "oidc-flow")).toMatchObject({ valid: true, plain: '{"state":"s"}' });
    expect(openValue(flow, ring, t0)).toEqual({ valid: false, reason: "tampered" });
    expect(openSession(flow, ring, t0)).toEqual({ valid: false, reason: "tampered" });
    expect(openValue(sealSession(session, ring), ring, t0, "oidc-flow")).toEqual({
      valid: false,
      reason: "tampered",
    });
  });
});
