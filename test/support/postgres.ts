import { randomBytes } from "node:crypto";
import pg from "pg";
import {
  createDatabaseStatement,
  postgresConnectionString,
  type SslMode,
} from "../postgres/connection-string.ts";
import { postgresContext } from "./context.ts";

export interface TestDatabase {
  name: string;
  connectionString(sslmode?: SslMode): string;
}

/** Creates an empty database `<prefix>_<random>` on the run's PostgreSQL server, owned by the superuser. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const endpoint = postgresContext();
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: postgresConnectionString(endpoint, "postgres") });
  await admin.connect();
  try {
    await admin.query(createDatabaseStatement(name));
  } finally {
    await admin.end();
  }
  return { name, connectionString: (sslmode) => postgresConnectionString(endpoint, name, sslmode) };
}
