import pg from "pg";
import { describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/postgres.ts";

async function sslOfOwnConnection(
  connectionString: string,
): Promise<{ ssl: boolean; version: string | null }> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const result = await client.query<{ ssl: boolean; version: string | null }>(
      "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    );
    const row = result.rows[0];
    if (!row) throw new Error("pg_stat_ssl has no row for this connection");
    return row;
  } finally {
    await client.end();
  }
}

describe("the test PostgreSQL server", () => {
  it("accepts a connection with sslmode=require, and pg_stat_ssl shows it is encrypted", async () => {
    const db = await createTestDatabase("tls_require");
    const connection = await sslOfOwnConnection(db.connectionString("require"));
    expect(connection.ssl).toBe(true);
    expect(connection.version).toMatch(/^TLSv1\.[23]$/);
  });

  it("presents a certificate that verifies against its CA for 127.0.0.1 (sslmode=verify-full)", async () => {
    const db = await createTestDatabase("tls_verify");
    expect((await sslOfOwnConnection(db.connectionString("verify-full"))).ssl).toBe(true);
  });

  it("reports ssl=false for a plain connection, so the checks above are not vacuous", async () => {
    const db = await createTestDatabase("tls_plain");
    expect((await sslOfOwnConnection(db.connectionString("disable"))).ssl).toBe(false);
  });
});
