import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import { z } from "zod";

// The session lives in its cookie, sealed with AES-256-GCM: encrypted (the browser cannot read the CSRF
// token or the groups) and authenticated (a changed byte fails the tag), with no native addon and with
// the rotation rule the console needs, which session libraries do not offer: the first key seals, older
// keys still open cookies for a grace window after they were demoted, then stop.

export const IDLE_TIMEOUT_MS = 30 * 60_000;
export const ABSOLUTE_TIMEOUT_MS = 12 * 60 * 60_000;

export interface SessionKey {
  /** Short fingerprint of the key, carried in the cookie so the right key is tried. */
  id: string;
  key: Buffer;
  /** When this key stopped being the first one; unset for the current key. */
  demotedAt?: number;
}

export interface SessionKeyRing {
  keys: SessionKey[];
  graceMs: number;
}

/** Reads a keys file: one secret per line (base64, at least 32 bytes), the first seals. */
export function parseSessionKeys(text: string): Buffer[] {
  const lines = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  if (lines.length === 0) throw new Error("session keys file: no key in it (one base64 key per line)");
  return lines.map((line, index) => {
    const secret = Buffer.from(line, "base64");
    if (!/^[A-Za-z0-9+/_-]+=*$/.test(line) || secret.length < 32) {
      throw new Error(`session keys file: line ${index + 1}: must be base64 of at least 32 random bytes`);
    }
    return secret;
  });
}

function sessionKey(secret: Buffer): SessionKey {
  const key = Buffer.from(hkdfSync("sha256", secret, "", "tradingbot-console session v1", 32));
  return { id: createHash("sha256").update(key).digest("base64url").slice(0, 8), key };
}

/**
 * The key ring after (re)reading the keys file at `now`: a key that is no longer first is demoted now,
 * unless it was already (its grace runs from the first time it was seen demoted).
 */
export function nextKeyRing(
  secrets: Buffer[],
  previous: SessionKeyRing | undefined,
  graceMs: number,
  now: number,
): SessionKeyRing {
  const keys = secrets.map((secret, index) => {
    const key = sessionKey(secret);
    if (index === 0) return key;
    const before = previous?.keys.find((k) => k.id === key.id);
    // A key never seen before is only as old as this reading; it may have been demoted long ago.
    return { ...key, demotedAt: before?.demotedAt ?? now };
  });
  return { keys, graceMs };
}

export const SessionData = z.strictObject({
  /** Session id: logout revokes it. */
  sid: z.string(),
  user: z.string(),
  groups: z.array(z.string()),
  csrfToken: z.string(),
  issuedAt: z.number(),
  lastSeenAt: z.number(),
});
export type SessionData = z.infer<typeof SessionData>;

const VERSION = "v1";

/** Why a sealed value did not open. */
export type UnsealFailure = "malformed" | "unknown_key" | "key_retired" | "tampered";

/**
 * Seals `plain` with the ring's first key. `purpose` is bound into the tag, so a value sealed for one use
 * (the OIDC login's short-lived state) never opens as another (a session); sessions use none, which keeps
 * the cookies sealed before purposes existed valid.
 */
export function sealValue(plain: string, ring: SessionKeyRing, purpose = ""): string {
  const current = ring.keys[0];
  if (!current) throw new Error("no session key");
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", current.key, iv);
  cipher.setAAD(additionalData(current.id, purpose));
  const sealed = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return [
    VERSION,
    current.id,
    iv.toString("base64url"),
    sealed.toString("base64url"),
    cipher.getAuthTag().toString("base64url"),
  ].join(".");
}

const additionalData = (keyId: string, purpose: string) =>
  Buffer.from(purpose === "" ? `${VERSION}.${keyId}` : `${VERSION}.${keyId}.${purpose}`);

/** Opens what sealValue sealed for the same purpose, with a key the ring still accepts at `now`. */
export function openValue(
  cookie: string,
  ring: SessionKeyRing,
  now: number,
  purpose = "",
): { valid: true; plain: string; sealedWithCurrentKey: boolean } | { valid: false; reason: UnsealFailure } {
  const parts = cookie.split(".");
  if (parts.length !== 5 || parts[0] !== VERSION) return { valid: false, reason: "malformed" };
  const [, keyId, iv, sealed, tag] = parts as [string, string, string, string, string];
  const key = ring.keys.find((k) => k.id === keyId);
  if (!key) return { valid: false, reason: "unknown_key" };
  if (key.demotedAt !== undefined && now >= key.demotedAt + ring.graceMs)
    return { valid: false, reason: "key_retired" };
  try {
    const decipher = createDecipheriv("aes-256-gcm", key.key, Buffer.from(iv, "base64url"));
    decipher.setAAD(additionalData(keyId, purpose));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    const plain = Buffer.concat([decipher.update(Buffer.from(sealed, "base64url")), decipher.final()]);
    return { valid: true, plain: plain.toString("utf8"), sealedWithCurrentKey: key === ring.keys[0] };
  } catch {
    return { valid: false, reason: "tampered" };
  }
}

export function sealSession(data: SessionData, ring: SessionKeyRing): string {
  return sealValue(JSON.stringify(data), ring);
}

export type SessionReading =
  | { valid: true; session: SessionData; sealedWithCurrentKey: boolean }
  | { valid: false; reason: UnsealFailure | "idle_expired" | "absolute_expired" };

/** Opens a cookie value and decides whether its session still holds at `now`. */
export function openSession(cookie: string, ring: SessionKeyRing, now: number): SessionReading {
  const opened = openValue(cookie, ring, now);
  if (!opened.valid) return opened;
  let session: SessionData;
  try {
    session = SessionData.parse(JSON.parse(opened.plain));
  } catch {
    return { valid: false, reason: "tampered" };
  }
  const expiry = sessionExpiry(session, now);
  if (expiry) return { valid: false, reason: expiry };
  return { valid: true, session, sealedWithCurrentKey: opened.sealedWithCurrentKey };
}

/** Whether a session has expired at `now`: 30 minutes without a request, or 12 hours after login. */
export function sessionExpiry(
  session: SessionData,
  now: number,
): "idle_expired" | "absolute_expired" | undefined {
  if (now >= session.issuedAt + ABSOLUTE_TIMEOUT_MS) return "absolute_expired";
  if (now >= session.lastSeenAt + IDLE_TIMEOUT_MS) return "idle_expired";
  return undefined;
}

export function sessionDeadlines(session: SessionData): { idleExpiresAt: number; absoluteExpiresAt: number } {
  const absoluteExpiresAt = session.issuedAt + ABSOLUTE_TIMEOUT_MS;
  return {
    idleExpiresAt: Math.min(session.lastSeenAt + IDLE_TIMEOUT_MS, absoluteExpiresAt),
    absoluteExpiresAt,
  };
}
