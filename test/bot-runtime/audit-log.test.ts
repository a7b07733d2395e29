// The audit log is append-only and tamper-evident: the trading role may only insert and read it, a
// trigger rejects UPDATE, DELETE and TRUNCATE even for the owner, and a row edited behind the trigger's
// back makes `bot-runtime audit verify` fail and name the row.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExchangeSim } from "../../exchange-sim/index.ts";
import { postgresConnectionString } from "../postgres/connection-string.ts";
import { waitFor } from "../support/wait-for.ts";
import {
  type BotDatabase,
  cleanup,
  RuntimeProcess,
  runCli,
  type SimAccount,
  scratchDir,
  smallGrid,
  startSimulator,
  writeBot,
} from "./fixtures.ts";
import { createSuiteDatabase } from "./harness.ts";

let db: BotDatabase;
let sim: ExchangeSim;
const dir = scratchDir("rt-audit");
let botUid = "";
let simAccount: SimAccount;

beforeAll(async () => {
  db = await createSuiteDatabase("rt_audit");
  const started = await startSimulator();
  sim = started.sim;
  simAccount = started.account;
  const price = Number(sim.price("BTCUSDT"));
  const setup = writeBot(`${dir}/bot`, sim, started.account, {
    bot: { namespace: "audit-ns", name: "audited-bot", uid: "6d1f0c3e-audit-uid" },
    ...smallGrid(price),
    onStop: "CancelOrders",
  });
  botUid = setup.config.bot.uid;
  const bot = RuntimeProcess.start(setup, db.tradingCredentials);
  await waitFor(() => bot.events("order_placed").length >= 2, { what: `orders\n${bot.tail()}` });
  expect(await bot.stop()).toEqual({ code: 0, signal: null });
});

afterAll(async () => {
  await sim?.close();
  cleanup(dir);
});

async function sqlError(
  client: pg.Client,
  statement: string,
): Promise<{ code?: string; message: string } | undefined> {
  try {
    await client.query(statement);
    return undefined;
  } catch (error) {
    return { code: (error as { code?: string }).code, message: (error as Error).message };
  } finally {
    await client.end();
  }
}

async function asMigrationRole(): Promise<pg.Client> {
  const read = (key: string) => readFileSync(join(db.migrationCredentials, key), "utf8").trim();
  const client = new pg.Client({
    host: read("host"),
    port: Number(read("port")),
    database: read("database"),
    user: read("user"),
    password: read("password"),
    ssl: { rejectUnauthorized: false },
  });
  await client.connect();
  return client;
}

describe("audit log", () => {
  it("refuses UPDATE, DELETE and TRUNCATE from the trading role for lack of privilege", async () => {
    for (const statement of [
      "UPDATE tradingbot.audit_log SET event = 'forged'",
      "DELETE FROM tradingbot.audit_log",
      "TRUNCATE tradingbot.audit_log",
    ]) {
      expect(await sqlError(await db.asTradingRole(), statement)).toMatchObject({
        code: "42501",
        message: expect.stringContaining("permission denied"),
      });
    }
    const reader = await db.asTradingRole();
    try {
      const { rows } = await reader.query("SELECT count(*)::int AS n FROM tradingbot.audit_log");
      expect(rows[0].n).toBeGreaterThan(3);
    } finally {
      await reader.end();
    }
  });

  it("refuses UPDATE, DELETE and TRUNCATE even from the owner, through the append-only trigger", async () => {
    for (const statement of [
      "UPDATE tradingbot.audit_log SET event = 'forged'",
      "DELETE FROM tradingbot.audit_log",
      "TRUNCATE tradingbot.audit_log",
    ]) {
      expect(await sqlError(await asMigrationRole(), statement)).toMatchObject({
        code: "42501",
        message: expect.stringContaining("append-only"),
      });
    }
  });

  it("verifies the chain, and names the row a superuser edited behind the trigger's back", async () => {
    const intact = await runCli([
      "audit",
      "verify",
      "--database-credentials",
      db.tradingCredentials,
      "--bot",
      "audit-ns/audited-bot",
    ]);
    expect(intact.code).toBe(0);
    expect(intact.output).toMatch(/ok +audit-ns\/audited-bot .*chain intact/);

    const superuser = new pg.Client({ connectionString: postgresConnectionString(db.endpoint, db.name) });
    await superuser.connect();
    let editedId: string;
    try {
      const { rows } = await superuser.query<{ id: string }>(
        "SELECT id FROM tradingbot.audit_log WHERE bot_uid = $1 AND event = 'order_placed' ORDER BY seq LIMIT 1",
        [botUid],
      );
      editedId = rows[0]?.id as string;
      // Replica mode skips triggers: what someone with superuser access could do.
      await superuser.query("SET session_replication_role = replica");
      await superuser.query(
        `UPDATE tradingbot.audit_log SET payload = jsonb_set(payload, '{price}', '"1.00"') WHERE id = $1`,
        [editedId],
      );
    } finally {
      await superuser.end();
    }
    const broken = await runCli(["audit", "verify", "--database-credentials", db.tradingCredentials]);
    expect(broken.code).toBe(1);
    expect(broken.output).toContain(
      `BROKEN  audit-ns/audited-bot (uid ${botUid}): first broken row id ${editedId}`,
    );
    expect(broken.output).toContain("the row was edited");
  });

  it("says so when the bot asked for has no audit rows", async () => {
    const none = await runCli([
      "audit",
      "verify",
      "--database-credentials",
      db.tradingCredentials,
      "--bot",
      "audit-ns/nobody",
    ]);
    expect(none.code).toBe(1);
    expect(none.output).toContain("no audit rows for audit-ns/nobody");
  });

  it("prunes orders past retentionDays and audit rows past auditRetentionDays, and the shortened chain still verifies", async () => {
    const price = Number(sim.price("BTCUSDT"));
    const account = simAccount;
    const setup = writeBot(`${dir}/retention`, sim, account, {
      bot: { namespace: "audit-ns", name: "retained-bot", uid: "retained-bot-uid" },
      ...smallGrid(price),
      onStop: "CancelOrders",
      store: { retentionDays: 1, auditRetentionDays: 2 },
    });
    const first = RuntimeProcess.start(setup, db.tradingCredentials);
    await waitFor(() => first.events("order_placed").length >= 2, { what: `orders\n${first.tail()}` });
    expect(await first.stop()).toEqual({ code: 0, signal: null });

    // Age the first run's rows by three days, as a superuser could (triggers off).
    const superuser = new pg.Client({ connectionString: postgresConnectionString(db.endpoint, db.name) });
    await superuser.connect();
    try {
      await superuser.query("SET session_replication_role = replica");
      await superuser.query(
        "UPDATE tradingbot.orders SET updated_at = now() - interval '3 days' WHERE bot_uid = $1",
        ["retained-bot-uid"],
      );
      await superuser.query(
        "UPDATE tradingbot.audit_log SET at = at - interval '3 days' WHERE bot_uid = $1 AND seq <= 4",
        ["retained-bot-uid"],
      );
    } finally {
      await superuser.end();
    }

    const second = RuntimeProcess.start(setup, db.tradingCredentials);
    const pruned = await second.waitForEvent("pruned");
    expect(pruned.removed).toMatchObject({ audit_log: 4 });
    expect(await second.stop()).toEqual({ code: 0, signal: null });

    const client = await db.admin();
    try {
      const audit = await client.query<{ seq: string }>(
        "SELECT seq FROM tradingbot.audit_log WHERE bot_uid = $1 ORDER BY seq LIMIT 1",
        ["retained-bot-uid"],
      );
      expect(audit.rows[0]?.seq).toBe("5");
      const anchor = await client.query("SELECT through_seq FROM tradingbot.audit_prune WHERE bot_uid = $1", [
        "retained-bot-uid",
      ]);
      expect(anchor.rows).toEqual([{ through_seq: "4" }]);
      // Each slot keeps its newest order (its sequence continues from it); older finished ones are gone.
      const orders = await client.query<{ slot: string; n: number }>(
        `SELECT slot, count(*)::int AS n FROM tradingbot.orders
          WHERE bot_uid = $1 AND updated_at < now() - interval '1 day' GROUP BY slot`,
        ["retained-bot-uid"],
      );
      expect(orders.rows.every((row) => row.n === 1)).toBe(true);
    } finally {
      await client.end();
    }
    const verify = await runCli([
      "audit",
      "verify",
      "--database-credentials",
      db.tradingCredentials,
      "--bot",
      "audit-ns/retained-bot",
    ]);
    expect(verify.output).toContain("chain intact");
    expect(verify.code).toBe(0);
  });
});
