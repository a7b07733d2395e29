import {
  CREDENTIALS_LABEL,
  type CredentialsPurpose,
  DATABASE_SECRET_KEYS,
  EXCHANGE_MODES_LABEL,
  EXCHANGE_SECRET_KEYS,
  exchangeSecretServes,
  REQUIRED_DATABASE_SECRET_KEYS,
  type TradingBotSpec,
} from "../../api/v1alpha1/index.ts";
import type { SecretVersions } from "../desired-state/bot-pod.ts";
import type { Secret } from "../kube/types.ts";

// Whether the Secrets a bot references can run it. Decided from facts about each Secret (its labels,
// which keys hold a value, the database port), never from the values themselves: no message here can
// leak one. A Secret serves a bot only if it is labelled for that use (CREDENTIALS_LABEL), and an
// exchange Secret only for the modes it is labelled for: the operator watches no other Secret, so one
// that is not labelled is, to it, one that does not exist.

/** What the operator keeps about a Secret: no values, except the database port (not a secret). */
export interface SecretFacts {
  resourceVersion: string;
  /** Keys with a non-empty value. */
  keys: string[];
  /** The `port` key as a port number; "invalid" when present but not one. */
  databasePort: number | "invalid" | undefined;
  /** The CREDENTIALS_LABEL and EXCHANGE_MODES_LABEL values. */
  purpose: string | undefined;
  exchangeModes: string | undefined;
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
  return {
    resourceVersion: secret.metadata.resourceVersion ?? "",
    keys,
    databasePort,
    purpose: secret.metadata.labels?.[CREDENTIALS_LABEL],
    exchangeModes: secret.metadata.labels?.[EXCHANGE_MODES_LABEL],
  };
}

export type CredentialsProblem =
  | "SecretNotFound"
  | "SecretNotAllowed"
  | "SecretKeyMissing"
  | "InvalidDatabasePort";

export type CredentialsCheck =
  | { ok: true; versions: SecretVersions; databasePort: number }
  | { ok: false; reason: CredentialsProblem; message: string };

interface Reference {
  field: string;
  name: string;
  required: readonly string[];
  purpose: CredentialsPurpose;
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
      purpose: "exchange",
    },
    database: {
      field: "spec.database.secretRef",
      name: spec.database.secretRef.name,
      required: REQUIRED_DATABASE_SECRET_KEYS,
      purpose: "database",
    },
    migration: spec.database.migrationSecretRef
      ? {
          field: "spec.database.migrationSecretRef",
          name: spec.database.migrationSecretRef.name,
          required: REQUIRED_DATABASE_SECRET_KEYS,
          purpose: "database",
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
  const mode = spec.exchange.mode;
  const problems: { reason: CredentialsProblem; message: string }[] = [];
  const facts = new Map<Reference, SecretFacts>();
  for (const ref of [refs.exchange, refs.database, refs.migration]) {
    if (!ref) continue;
    const found = lookup(ref.name);
    const where = `Secret ${namespace}/${ref.name} (${ref.field})`;
    const labelling =
      ref.purpose === "exchange"
        ? `${CREDENTIALS_LABEL}=exchange and ${EXCHANGE_MODES_LABEL}=${mode}`
        : `${CREDENTIALS_LABEL}=database`;
    if (!found.found) {
      problems.push({
        reason: "SecretNotFound",
        message: `${where} does not exist or is not labelled for this use: the operator only uses Secrets labelled ${labelling}`,
      });
      continue;
    }
    if (found.facts.purpose !== ref.purpose) {
      problems.push({
        reason: "SecretNotAllowed",
        message: `${where} is labelled ${CREDENTIALS_LABEL}=${found.facts.purpose ?? ""}; it needs ${labelling}`,
      });
      continue;
    }
    if (ref.purpose === "exchange" && !exchangeSecretServes(found.facts.exchangeModes, mode)) {
      problems.push({
        reason: "SecretNotAllowed",
        message:
          `${where} is labelled ${EXCHANGE_MODES_LABEL}=${found.facts.exchangeModes ?? ""}; a ${mode} bot needs a ` +
          `Secret labelled for ${mode} (modes joined by dots, such as paper.testnet), and a key allowed for ` +
          "live never serves paper or testnet",
      });
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
