export type SslMode = "disable" | "require" | "verify-full";

/** What a client needs to reach the test PostgreSQL server (serializable: it crosses vitest's `provide`). */
export interface PostgresEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  /** CA that signed the server certificate. */
  caCertPath: string;
}

/**
 * A connection URL for `database`. `require` has libpq's meaning (encrypted, certificate not checked: what a
 * user's `sslmode=require` gets), spelled for node-postgres with `uselibpqcompat=true`; `verify-full` (the
 * default) also checks the certificate against the CA and the host name.
 */
export function postgresConnectionString(
  endpoint: PostgresEndpoint,
  database: string,
  sslmode: SslMode = "verify-full",
): string {
  const base = `postgresql://${encodeURIComponent(endpoint.user)}:${encodeURIComponent(endpoint.password)}@${endpoint.host}:${endpoint.port}/${encodeURIComponent(database)}`;
  if (sslmode === "disable") return `${base}?sslmode=disable`;
  if (sslmode === "require") return `${base}?sslmode=require&uselibpqcompat=true`;
  return `${base}?sslmode=verify-full&sslrootcert=${encodeURIComponent(endpoint.caCertPath)}`;
}

const databaseName = /^[a-z_][a-z0-9_]{0,62}$/;

/** `CREATE DATABASE` for a name that needs no quoting rules beyond double quotes. */
export function createDatabaseStatement(name: string): string {
  if (!databaseName.test(name)) {
    throw new Error(`database name ${JSON.stringify(name)} must match ${databaseName.source}`);
  }
  return `CREATE DATABASE "${name}"`;
}
