import type pg from "pg";
import type { DatabaseCredentials } from "../config/credentials.ts";
import { poolConfig } from "../store/database.ts";

// A backup reads, and a restore writes, a whole schema in one transaction: the trading loop's short
// timeouts (a statement of 8 s, 15 s idle in a transaction) would cut a large one off. Each statement
// (a batch of rows) still has a limit, and so has a pause between two (a stalled volume or stream).

const STATEMENT_TIMEOUT_MS = 300_000;

export function longSessionConfig(
  credentials: DatabaseCredentials,
  applicationName: string,
): pg.ClientConfig {
  const {
    max: _max,
    idleTimeoutMillis: _idle,
    query_timeout: _query,
    ...config
  } = poolConfig(credentials, applicationName);
  return {
    ...config,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    idle_in_transaction_session_timeout: STATEMENT_TIMEOUT_MS,
  };
}
