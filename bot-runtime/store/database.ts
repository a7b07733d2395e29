import type pg from "pg";
import type { DatabaseCredentials } from "../config/credentials.ts";

// Connection settings from the database Secret, and the line between "the database is unreachable"
// (fail closed, retry) and "the database refused this statement" (a bug or a broken schema).

export const SCHEMA = "tradingbot";

export function poolConfig(credentials: DatabaseCredentials, applicationName: string): pg.PoolConfig {
  return {
    host: credentials.host,
    port: credentials.port,
    database: credentials.database,
    user: credentials.user,
    password: credentials.password,
    ssl: sslOptions(credentials),
    application_name: applicationName,
    max: 4,
    connectionTimeoutMillis: 5_000,
    query_timeout: 10_000,
    statement_timeout: 8_000,
    idle_in_transaction_session_timeout: 15_000,
    keepAlive: true,
    idleTimeoutMillis: 30_000,
  };
}

/**
 * Runs `work` in a transaction on a client of the pool. A connection lost between two of its queries is
 * reported on the client, not to a query (pg-pool listens for errors on idle clients only), and an error
 * event nobody listens to ends the process: it is taken here, so the next query fails instead, and the
 * client is dropped, not returned to the pool. `begin` sets the transaction's mode (a read-only snapshot).
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  begin = "BEGIN",
): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  const onLost = () => {
    broken = true;
  };
  client.on("error", onLost);
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    broken = true;
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.off("error", onLost);
    client.release(broken);
  }
}

function sslOptions(credentials: DatabaseCredentials): pg.PoolConfig["ssl"] {
  switch (credentials.sslmode) {
    case "disable":
      return false;
    case "require":
      // libpq's meaning: encrypted, the certificate is not checked.
      return { rejectUnauthorized: false };
    case "verify-ca":
      return { ca: credentials.caCert, rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case "verify-full":
      return { ca: credentials.caCert, rejectUnauthorized: true, servername: credentials.host };
  }
}

const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
  "53300", // too_many_connections
  "57014", // query_canceled (statement timeout while the server stalls)
  // invalid_catalog_name: the database was dropped or is being restored. Like a server gone, the runtime
  // fails closed and stays, so a halt still cancels its orders, rather than exiting and leaving them open.
  "3D000",
]);

/** True when the error means the database could not be reached or went away, not that it refused the statement. */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof DatabaseUnavailable) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && CONNECTION_ERROR_CODES.has(code)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|not queryable|socket hang up/i.test(
    error.message,
  );
}

/** The server refused the role's name or password (28P01 invalid_password, 28000 invalid_authorization). */
export function isAuthenticationRefused(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "28P01" || code === "28000";
}

/** The database cannot be reached; the runtime fails closed until it can. */
export class DatabaseUnavailable extends Error {
  override name = "DatabaseUnavailable";
  constructor(cause: unknown) {
    super(`database unreachable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Rethrows connection failures as DatabaseUnavailable, everything else unchanged. */
export function classifyDatabaseError(error: unknown): Error {
  if (isConnectionError(error))
    return error instanceof DatabaseUnavailable ? error : new DatabaseUnavailable(error);
  return error instanceof Error ? error : new Error(String(error));
}
