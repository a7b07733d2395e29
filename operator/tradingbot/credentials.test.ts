import { readFileSync } from "node:fs";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { TradingBot } from "../../api/v1alpha1/index.ts";
import { checkCredentials, type SecretLookup, secretFacts } from "./credentials.ts";

const sample = TradingBot.parse(
  load(readFileSync(new URL("../../config/samples/tradingbot-grid-paper.yaml", import.meta.url), "utf8")),
);
const b64 = (text: string) => Buffer.from(text).toString("base64");
const PLANTED = "sk-live-PLANTED-0123456789";

const EXCHANGE_LABELS = {
  "trading.botops.dev/credentials": "exchange",
  "trading.botops.dev/exchange-modes": "paper",
};
const DATABASE_LABELS = { "trading.botops.dev/credentials": "database" };

function secret(
  name: string,
  data: Record<string, string>,
  resourceVersion = "10",
  labels: Record<string, string> = "apiKey" in data ? EXCHANGE_LABELS : DATABASE_LABELS,
) {
  return {
    metadata: { name, namespace: "trading", resourceVersion, labels },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

const exchange = secret("paper-exchange-credentials", { apiKey: PLANTED, secret: PLANTED }, "11");
const database = secret(
  "trading-database",
  { host: "pg", port: "5432", database: "t", user: "u", password: PLANTED },
  "12",
);

function lookupOf(...secrets: ReturnType<typeof secret>[]) {
  return (name: string): SecretLookup => {
    const found = secrets.find((s) => s.metadata.name === name);
    return found ? { found: true, facts: secretFacts(found) } : { found: false };
  };
}

describe("secretFacts", () => {
  it("keeps key names, the version and the database port, and no value", () => {
    const facts = secretFacts(database);
    expect(facts).toEqual({
      resourceVersion: "12",
      keys: ["database", "host", "password", "port", "user"],
      databasePort: 5432,
      purpose: "database",
      exchangeModes: undefined,
    });
    expect(JSON.stringify(facts)).not.toContain(PLANTED);
  });

  it("treats an empty value as a missing key and a non-numeric port as invalid", () => {
    const facts = secretFacts(secret("db", { host: "", port: "fivefourthreetwo" }));
    expect(facts.keys).toEqual(["port"]);
    expect(facts.databasePort).toBe("invalid");
  });
});

describe("checkCredentials", () => {
  it("passes when every referenced Secret has its keys, with their versions and the database port", () => {
    expect(checkCredentials("trading", sample.spec, lookupOf(exchange, database))).toEqual({
      ok: true,
      versions: { exchange: "11", database: "12" },
      databasePort: 5432,
    });
  });

  it("names the missing Secret and the field that references it", () => {
    const check = checkCredentials("trading", sample.spec, lookupOf(database));
    expect(check).toEqual({
      ok: false,
      reason: "SecretNotFound",
      message:
        "Secret trading/paper-exchange-credentials (spec.exchange.credentialsSecretRef) does not exist or is not " +
        "labelled for this use: the operator only uses Secrets labelled trading.botops.dev/credentials=exchange and " +
        "trading.botops.dev/exchange-modes=paper",
    });
  });

  it("refuses a Secret labelled for another use, naming the label it needs", () => {
    const asExchange = secret("trading-database", { host: "pg", port: "5432" }, "12", EXCHANGE_LABELS);
    const check = checkCredentials("trading", sample.spec, lookupOf(exchange, asExchange));
    expect(check).toMatchObject({ ok: false, reason: "SecretNotAllowed" });
    expect((check as { message: string }).message).toBe(
      "Secret trading/trading-database (spec.database.secretRef) is labelled trading.botops.dev/credentials=exchange; " +
        "it needs trading.botops.dev/credentials=database",
    );
  });

  it("never lets a paper bot use a key allowed for live, nor a key for other modes", () => {
    for (const modes of ["live", "paper.live", "testnet", undefined]) {
      const labels: Record<string, string> = { "trading.botops.dev/credentials": "exchange" };
      if (modes !== undefined) labels["trading.botops.dev/exchange-modes"] = modes;
      const key = secret("paper-exchange-credentials", { apiKey: "k", secret: "s" }, "11", labels);
      const check = checkCredentials("trading", sample.spec, lookupOf(key, database));
      expect(check, String(modes)).toMatchObject({ ok: false, reason: "SecretNotAllowed" });
      expect((check as { message: string }).message).toContain(
        "a paper bot needs a Secret labelled for paper",
      );
    }
    const paperAndTestnet = secret("paper-exchange-credentials", { apiKey: "k", secret: "s" }, "11", {
      "trading.botops.dev/credentials": "exchange",
      "trading.botops.dev/exchange-modes": "paper.testnet",
    });
    expect(checkCredentials("trading", sample.spec, lookupOf(paperAndTestnet, database)).ok).toBe(true);
  });

  it("lets a live bot use a key labelled for live", () => {
    const live = { ...sample.spec, exchange: { ...sample.spec.exchange, mode: "live" as const } };
    const key = secret("paper-exchange-credentials", { apiKey: "k", secret: "s" }, "11", {
      "trading.botops.dev/credentials": "exchange",
      "trading.botops.dev/exchange-modes": "live",
    });
    expect(checkCredentials("trading", live, lookupOf(key, database)).ok).toBe(true);
    expect(checkCredentials("trading", live, lookupOf(exchange, database)).ok).toBe(false);
  });

  it("names the Secret and the missing key, never a value", () => {
    const partial = secret("paper-exchange-credentials", { apiKey: PLANTED });
    const check = checkCredentials("trading", sample.spec, lookupOf(partial, database));
    expect(check.ok).toBe(false);
    const message = (check as { message: string }).message;
    expect(message).toBe(
      'Secret trading/paper-exchange-credentials (spec.exchange.credentialsSecretRef) has no value for key "secret"; it needs apiKey, secret',
    );
    expect(message).not.toContain(PLANTED);
  });

  it("reports every problem at once", () => {
    const badDatabase = secret("trading-database", { host: "pg", port: "5432" });
    const check = checkCredentials("trading", sample.spec, lookupOf(badDatabase));
    expect((check as { message: string }).message).toContain("does not exist");
    expect((check as { message: string }).message).toContain('keys "database", "user", "password"');
  });

  it("refuses a database port that is not a port number", () => {
    const badPort = secret("trading-database", {
      host: "pg",
      port: "99999",
      database: "t",
      user: "u",
      password: "p",
    });
    expect(checkCredentials("trading", sample.spec, lookupOf(exchange, badPort))).toMatchObject({
      ok: false,
      reason: "InvalidDatabasePort",
    });
  });

  it("checks the migration Secret when one is referenced and reports its version", () => {
    const spec = {
      ...sample.spec,
      database: { ...sample.spec.database, migrationSecretRef: { name: "db-owner" } },
    };
    expect(checkCredentials("trading", spec, lookupOf(exchange, database))).toMatchObject({
      ok: false,
      reason: "SecretNotFound",
    });
    const owner = secret(
      "db-owner",
      { host: "pg", port: "5432", database: "t", user: "owner", password: "p" },
      "13",
    );
    expect(checkCredentials("trading", spec, lookupOf(exchange, database, owner))).toMatchObject({
      ok: true,
      versions: { exchange: "11", database: "12", migration: "13" },
    });
  });
});
