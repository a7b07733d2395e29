import { readFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { REPO_ROOT } from "./harness.ts";

// Bots and Secrets for the suites, built from the sample in config/samples so the tests exercise what
// users apply. Secret values are planted markers: the suites scan for them where they must never appear.

export const EXCHANGE_SECRET = "paper-exchange-credentials";
export const DATABASE_SECRET = "trading-database";

export interface PlantedValues {
  apiKey: string;
  secret: string;
  password: string;
}

export function plantedValues(tag: string): PlantedValues {
  return {
    apiKey: `PLANTED-api-key-${tag}-7f3a9c`,
    secret: `PLANTED-hmac-secret-${tag}-b81e44`,
    password: `PLANTED-db-password-${tag}-0c2d5e`,
  };
}

type Json = Record<string, unknown>;

const sample = load(
  readFileSync(join(REPO_ROOT, "config/samples/tradingbot-grid-paper.yaml"), "utf8"),
) as Json;

/** The sample grid bot, renamed, with labels and spec fields overridden. */
export function botManifest(
  namespace: string,
  name: string,
  options: { labels?: Record<string, string>; spec?: (spec: Json) => void } = {},
): Json {
  const bot = structuredClone(sample) as { metadata: Json; spec: Json };
  bot.metadata = { name, namespace, labels: options.labels ?? {} };
  options.spec?.(bot.spec);
  return bot as unknown as Json;
}

/** The labels with which a Secret opts in to serving bots (api/v1alpha1/runtime-config.ts). */
export const PAPER_EXCHANGE_LABELS = {
  "trading.botops.dev/credentials": "exchange",
  "trading.botops.dev/exchange-modes": "paper",
};
export const DATABASE_LABELS = { "trading.botops.dev/credentials": "database" };

export function exchangeSecret(
  namespace: string,
  planted: PlantedValues,
  name = EXCHANGE_SECRET,
  keys?: Json,
  labels: Record<string, string> = PAPER_EXCHANGE_LABELS,
): Json {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace, labels },
    type: "Opaque",
    stringData: keys ?? { apiKey: planted.apiKey, secret: planted.secret },
  };
}

export function databaseSecret(namespace: string, planted: PlantedValues, name = DATABASE_SECRET): Json {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace, labels: DATABASE_LABELS },
    type: "Opaque",
    stringData: {
      host: "postgres.trading.svc",
      port: "5432",
      database: "trading",
      user: "tradingbot",
      password: planted.password,
    },
  };
}

/** Labels that make a namespace enforce the `restricted` Pod Security Standard. */
export const RESTRICTED_NAMESPACE_LABELS = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/enforce-version": "latest",
};
