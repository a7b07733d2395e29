import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  DATABASE_SECRET_KEYS,
  EXCHANGE_SECRET_KEYS,
  REQUIRED_DATABASE_SECRET_KEYS,
} from "../../api/v1alpha1/runtime-config.ts";

// Credentials come only from the files of the mounted Secrets, never from the environment. Messages name
// the file and what is wrong with it, never its content.

/** Credentials are missing or unusable: the runtime refuses to trade. */
export class CredentialsError extends Error {
  override name = "CredentialsError";
}

export type ExchangeCredentials = { apiKey: string; secret: string; secretKind: "hmac" | "ed25519" };

const SSL_MODES = ["disable", "require", "verify-ca", "verify-full"] as const;
export type SslMode = (typeof SSL_MODES)[number];

export type DatabaseCredentials = {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  sslmode: SslMode;
  caCert?: string;
};

function readSecretFile(dir: string, key: string, required: boolean): string | undefined {
  const path = join(dir, key);
  let raw: string;
  try {
    raw = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !required) return undefined;
    throw new CredentialsError(
      `cannot read ${path} (${code ?? "error"}): the Secret must have the key "${key}"`,
    );
  }
  // Secrets pasted from Windows editors end in CRLF, and most end in a newline.
  const value = raw.replace(/\r\n?/g, "\n").trim();
  if (value === "" && required)
    throw new CredentialsError(`${path} is empty: the Secret key "${key}" needs a value`);
  return value;
}

/** A PEM key with every line trimmed, so CRLF and indentation from YAML do not break parsing. */
function normalisePem(value: string): string {
  return value
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join("\n");
}

export function readExchangeCredentials(dir: string): ExchangeCredentials {
  const apiKey = readSecretFile(dir, EXCHANGE_SECRET_KEYS.apiKey, true) as string;
  const rawSecret = readSecretFile(dir, EXCHANGE_SECRET_KEYS.secret, true) as string;
  if (/\s/.test(apiKey)) {
    throw new CredentialsError(
      `${join(dir, EXCHANGE_SECRET_KEYS.apiKey)} contains whitespace inside the key`,
    );
  }
  if (!rawSecret.includes("PRIVATE KEY")) {
    if (/\s/.test(rawSecret)) {
      throw new CredentialsError(
        `${join(dir, EXCHANGE_SECRET_KEYS.secret)} contains whitespace inside an HMAC secret (expected one line, or an Ed25519 private key in PEM)`,
      );
    }
    return { apiKey, secret: rawSecret, secretKind: "hmac" };
  }
  const secret = normalisePem(rawSecret);
  let keyType: string | undefined;
  try {
    keyType = createPrivateKey(secret).asymmetricKeyType;
  } catch {
    throw new CredentialsError(
      `${join(dir, EXCHANGE_SECRET_KEYS.secret)} holds a PEM block that is not a readable private key`,
    );
  }
  if (keyType !== "ed25519") {
    throw new CredentialsError(
      `${join(dir, EXCHANGE_SECRET_KEYS.secret)} holds a ${keyType ?? "unknown"} private key: only HMAC secrets and Ed25519 keys (PKCS#8 PEM) are supported`,
    );
  }
  return { apiKey, secret, secretKind: "ed25519" };
}

export function readDatabaseCredentials(dir: string): DatabaseCredentials {
  const values: Record<string, string> = {};
  for (const key of REQUIRED_DATABASE_SECRET_KEYS)
    values[key] = readSecretFile(dir, DATABASE_SECRET_KEYS[key], true) as string;
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new CredentialsError(
      `${join(dir, DATABASE_SECRET_KEYS.port)} must be a port number (1-65535), got ${JSON.stringify(values.port)}`,
    );
  }
  const sslmode = readSecretFile(dir, DATABASE_SECRET_KEYS.sslmode, false) || "require";
  if (!(SSL_MODES as readonly string[]).includes(sslmode)) {
    throw new CredentialsError(
      `${join(dir, DATABASE_SECRET_KEYS.sslmode)} is ${JSON.stringify(sslmode)}; allowed: ${SSL_MODES.join(", ")}`,
    );
  }
  const caCert = readSecretFile(dir, DATABASE_SECRET_KEYS.caCert, false);
  if ((sslmode === "verify-ca" || sslmode === "verify-full") && !caCert) {
    throw new CredentialsError(
      `sslmode ${sslmode} needs the CA certificate in ${join(dir, DATABASE_SECRET_KEYS.caCert)}`,
    );
  }
  return {
    host: values.host as string,
    port,
    database: values.database as string,
    user: values.user as string,
    password: values.password as string,
    sslmode: sslmode as SslMode,
    ...(caCert ? { caCert } : {}),
  };
}
