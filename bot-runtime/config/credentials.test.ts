import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CredentialsError, readDatabaseCredentials, readExchangeCredentials } from "./credentials.ts";

const dirs: string[] = [];
function secretDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "credentials-test-"));
  dirs.push(dir);
  for (const [key, value] of Object.entries(files)) writeFileSync(join(dir, key), value);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("exchange credentials", () => {
  it("trims whitespace and CRLF from an HMAC key pair", () => {
    expect(readExchangeCredentials(secretDir({ apiKey: "  key-1\r\n", secret: "s3cr3t\r\n" }))).toEqual({
      apiKey: "key-1",
      secret: "s3cr3t",
      secretKind: "hmac",
    });
  });

  it("accepts an Ed25519 private key in PEM, with CRLF line ends and indentation", () => {
    const pem = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const mangled = pem
      .trim()
      .split("\n")
      .map((line) => `  ${line}`)
      .join("\r\n");
    const credentials = readExchangeCredentials(secretDir({ apiKey: "key", secret: `${mangled}\r\n` }));
    expect(credentials.secretKind).toBe("ed25519");
    expect(credentials.secret).toBe(pem.trim());
  });

  it("refuses other private keys and missing files, naming the file and never the value", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 })
      .privateKey.export({ format: "pem", type: "pkcs8" })
      .toString();
    expect(() => readExchangeCredentials(secretDir({ apiKey: "key", secret: rsa }))).toThrow(
      /rsa private key: only HMAC/,
    );
    const dir = secretDir({ apiKey: "key" });
    expect(() => readExchangeCredentials(dir)).toThrow(CredentialsError);
    expect(() => readExchangeCredentials(dir)).toThrow(`${join(dir, "secret")}`);
    expect(() => readExchangeCredentials(secretDir({ apiKey: "key", secret: "two words" }))).toThrow(
      /whitespace/,
    );
  });
});

describe("database credentials", () => {
  const base = { host: "db", port: "5432\n", database: "trading", user: "bot", password: "pw-1234\n" };

  it("defaults sslmode to require", () => {
    expect(readDatabaseCredentials(secretDir(base))).toEqual({
      ...base,
      port: 5432,
      password: "pw-1234",
      sslmode: "require",
    });
  });

  it("refuses an unknown sslmode and verify modes without a CA", () => {
    expect(() => readDatabaseCredentials(secretDir({ ...base, sslmode: "prefer" }))).toThrow(
      /allowed: disable, require/,
    );
    expect(() => readDatabaseCredentials(secretDir({ ...base, sslmode: "verify-full" }))).toThrow(
      /needs the CA certificate/,
    );
    expect(() => readDatabaseCredentials(secretDir({ ...base, port: "eighty" }))).toThrow(/port number/);
  });
});
