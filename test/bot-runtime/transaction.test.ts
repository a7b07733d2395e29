// A database connection lost in the middle of a transaction, between two of its queries, is an error of
// the next query, never an error event that ends the process: the runtime then fails closed instead of
// crashing (the database-outage suite saw such a crash when PostgreSQL stopped between two statements).
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { inTransaction, isConnectionError } from "../../bot-runtime/store/database.ts";
import { postgresConnectionString } from "../postgres/connection-string.ts";
import { postgresContext } from "../support/context.ts";

const pool = new pg.Pool({
  connectionString: postgresConnectionString(postgresContext(), "postgres"),
  max: 2,
});
pool.on("error", () => {});

afterAll(() => pool.end());

describe("a transaction whose connection is lost between two queries", () => {
  it("fails its next query, drops the client, and the process carries on", async () => {
    const admin = new pg.Client({
      connectionString: postgresConnectionString(postgresContext(), "postgres"),
    });
    await admin.connect();
    try {
      const attempt = inTransaction(pool, async (client) => {
        const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        const ended = new Promise((resolve) => client.once("end", resolve));
        await admin.query("SELECT pg_terminate_backend($1)", [rows[0]?.pid]);
        await ended;
        return client.query("SELECT 1");
      });
      const error = await attempt.then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(Error);
      expect(isConnectionError(error)).toBe(true);
      // The broken client was not given back to the pool.
      expect(pool.idleCount).toBe(0);
      expect((await pool.query<{ one: number }>("SELECT 1 AS one")).rows[0]?.one).toBe(1);
    } finally {
      await admin.end();
    }
  });
});
