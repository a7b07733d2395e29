import {
  DATABASE_SECRET_KEYS,
  EXCHANGE_SECRET_KEYS,
  REQUIRED_DATABASE_SECRET_KEYS,
  type TradingBotSpec,
} from "../../api/v1alpha1/index.ts";
import type { SecretVersions } from "../desired-state/bot-pod.ts";
import type { Secret } from "../kube/types.ts";

// Whether the Secrets a bot references can run it. Decided from facts about each Secret (which keys
// hold a value, the database port), never from the values themselves: no message here can leak one.

/** What the operator keeps about a Secret: no values, except the database port (not a secret). */
export interface SecretFacts {
  resourceVersion: string;
  /** Keys with a non-empty value. */
  keys: string[];
  /** The `port` key as a port number; "invalid" when present but not one. */
  databasePort: number | "invalid" | undefined;
}

export type SecretLookup = { found: false } | { found: true; facts: SecretFacts };

export function secretFacts(secret: Secret): SecretFacts {
  const data = secret.data ?? {};
  const keys = Object.keys(data)
    .filter((key) => (data[key] ?? "") !== "")
    .sort();
  let databasePort: SecretFacts["databasePort"];
  const encodedPort = data[DATABASE_SECRET_KEYS.port];
  if (encodedPort !== undefined) {
    const text = Buffer.from(encodedPort, "base64").toString("utf8").trim();
    const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : Number.NaN;
    databasePort = port >= 1 && port <= 65535 ? port : "invalid";
  }
  return { resourceVersion: secret.metadata.resourceVersion ?? "", keys, databasePort };
}

export type CredentialsCheck =
  | { ok: true; versions: SecretVersions; databasePort: number }
  | { ok: false; reason: "SecretNotFound" | "SecretKeyMissing" | "InvalidDatabasePort"; message: string };

interface Reference {
  field: string;
  name: string;
  required: readonly string[];
}

function referencesOf(spec: TradingBotSpec): {
  exchange: Reference;
  database: Reference;
  migration?: Reference;
} {
  const exchangeKeys = Object.values(EXCHANGE_SECRET_KEYS);
  return {
    exchange: {
      field: "spec.exchange.credentialsSecretRef",
      name: spec.exchange.credentialsSecretRef.name,
      required: exchangeKeys,
    },
    database: {
      field: "spec.database.secretRef",
      name: spec.database.secretRef.name,
      required: REQUIRED_DATABASE_SECRET_KEYS,
    },
    migration: spec.database.migrationSecretRef
      ? {
          field: "spec.database.migrationSecretRef",
          name: spec.database.migrationSecretRef.name,
          required: REQUIRED_DATABASE_SECRET_KEYS,
        }
      : undefined,
  };
}

/** Names of the Secrets a spec references (for the Secret → bot index). */
export function referencedSecretNames(spec: TradingBotSpec): string[] {
  const refs = referencesOf(spec);
  return [refs.exchange.name, refs.database.name, ...(refs.migration ? [refs.migration.name] : [])];
}

export function checkCredentials(
  namespace: string,
  spec: TradingBotSpec,
  lookup: (name: string) => SecretLookup,
): CredentialsCheck {
  const refs = referencesOf(spec);
  const problems: {
    reason: "SecretNotFound" | "SecretKeyMissing" | "InvalidDatabasePort";
    message: string;
  }[] = [];
  const facts = new Map<Reference, SecretFacts>();
  for (const ref of [refs.exchange, refs.database, refs.migration]) {
    if (!ref) continue;
    const found = lookup(ref.name);
    const where = `Secret ${namespace}/${ref.name} (${ref.field})`;
    if (!found.found) {
      problems.push({ reason: "SecretNotFound", message: `${where} does not exist` });
      continue;
    }
    const missing = ref.required.filter((key) => !found.facts.keys.includes(key));
    if (missing.length > 0) {
      problems.push({
        reason: "SecretKeyMissing",
        message: `${where} has no value for key${missing.length > 1 ? "s" : ""} ${missing.map((k) => `"${k}"`).join(", ")}; it needs ${ref.required.join(", ")}`,
      });
      continue;
    }
    if (ref !== refs.exchange && found.facts.databasePort === "invalid") {
      problems.push({
        reason: "InvalidDatabasePort",
        message: `${where}: key "${DATABASE_SECRET_KEYS.port}" must be a port number between 1 and 65535`,
      });
      continue;
    }
    facts.set(ref, found.facts);
  }
  const [first] = problems;
  if (first) return { ok: false, reason: first.reason, message: problems.map((p) => p.message).join("; ") };
  const exchange = facts.get(refs.exchange) as SecretFacts;
  const database = facts.get(refs.database) as SecretFacts;
  const migration = refs.migration ? facts.get(refs.migration) : undefined;
  return {
    ok: true,
    versions: {
      exchange: exchange.resourceVersion,
      database: database.resourceVersion,
      ...(migration ? { migration: migration.resourceVersion } : {}),
    },
    databasePort: database.databasePort as number,
  };
}
