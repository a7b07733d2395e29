// API keys: which account each key belongs to, what it may do, and how its request signatures are verified
// (HMAC-SHA256 hex, or Ed25519 base64, both over Binance's totalParams: query string then request body).

import {
  createHash,
  createHmac,
  createPublicKey,
  type KeyObject,
  timingSafeEqual,
  verify,
} from "node:crypto";

export type KeyKind = "HMAC_SHA256" | "ED25519";

export interface ApiKeyRecord {
  apiKey: string;
  keyId: string;
  accountId: string;
  kind: KeyKind;
  secret: string | undefined;
  publicKey: KeyObject | undefined;
  canTrade: boolean;
  canWithdraw: boolean;
  revoked: boolean;
  createdAt: number;
}

/** A non-secret identifier of an API key for logs and admin views: "key-" + 12 hex of its SHA-256. */
export function apiKeyId(apiKey: string): string {
  return `key-${createHash("sha256").update(apiKey).digest("hex").slice(0, 12)}`;
}

/** Parses an Ed25519 public key (PEM, SPKI); throws a message saying what is accepted. */
export function ed25519PublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new Error(`publicKeyPem is not a PEM public key (${(error as Error).message})`);
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new Error(
      `publicKeyPem must be an Ed25519 key (got ${key.asymmetricKeyType}); RSA keys are not supported`,
    );
  }
  return key;
}

export function signatureMatches(record: ApiKeyRecord, totalParams: string, signature: string): boolean {
  if (record.kind === "HMAC_SHA256") {
    const expected = createHmac("sha256", record.secret ?? "")
      .update(totalParams)
      .digest();
    // Binance treats HMAC signatures case-insensitively.
    if (!/^[0-9a-fA-F]{64}$/.test(signature)) return false;
    return timingSafeEqual(expected, Buffer.from(signature, "hex"));
  }
  if (record.publicKey === undefined) return false;
  const bytes = Buffer.from(signature, "base64");
  if (bytes.length !== 64) return false;
  return verify(null, Buffer.from(totalParams), record.publicKey, bytes);
}

export class KeyRegistry {
  private readonly keys = new Map<string, ApiKeyRecord>();

  add(record: ApiKeyRecord): void {
    if (this.keys.has(record.apiKey)) throw new Error(`API key ${record.keyId} already exists`);
    this.keys.set(record.apiKey, record);
  }

  /** The key record, revoked or not; undefined when the key was never registered. */
  find(apiKey: string): ApiKeyRecord | undefined {
    return this.keys.get(apiKey);
  }

  revoke(apiKey: string): ApiKeyRecord | undefined {
    const record = this.keys.get(apiKey);
    if (record !== undefined) record.revoked = true;
    return record;
  }

  all(): ApiKeyRecord[] {
    return [...this.keys.values()];
  }
}
