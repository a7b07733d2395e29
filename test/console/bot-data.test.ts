import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessObjects } from "../../api/access/policies.ts";
import { EMPTY_POSITION } from "../../bot-runtime/accounting/position.ts";
import { readDatabaseCredentials } from "../../bot-runtime/config/credentials.ts";
import { Decimal } from "../../bot-runtime/money/decimal.ts";
import { poolConfig } from "../../bot-runtime/store/database.ts";
import { CONSOLE_READABLE_TABLES } from "../../bot-runtime/store/migrate.ts";
import { Store } from "../../bot-runtime/store/store.ts";
import { type BotDatabase, createBotDatabase, runCli } from "../bot-runtime/fixtures.ts";
import { rewriteAuditChainFrom } from "../bot-runtime/harness.ts";
import { botManifest } from "../operator/fixtures.ts";
import { applyObjects, type ClusterAccess, installCrds, REPO_ROOT } from "../operator/harness.ts";
import { clusterContext, postgresContext } from "../support/context.ts";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";
import { ConsoleClient } from "./console-client.ts";
import { type LocalConsole, startLocalConsole } from "./local-console.ts";

// A bot's record on its console page: rows written by the runtime's own store code into the real
// PostgreSQL, read by the console through the read-only role `bot-runtime migrate --console-credentials`
// grants, and shown only to a person the real API server lets get the TradingBot, selected by its uid.
// The audit trail is held to the chain head anchored in the TradingBot's status.audit, written here
// through the status subresource as the operator would.

const tag = randomBytes(3).toString("hex");
const prefix = `botdata-${tag}`;
const policies = accessObjects(prefix, `system:serviceaccount:${prefix}:none`);
const people = {
  viewer: { name: `vic-${tag}`, groups: [] as string[], password: `vic-pw-${tag}` },
  stranger: { name: `sam-${tag}`, groups: [] as string[], password: `sam-pw-${tag}` },
};
const workDir = join(REPO_ROOT, ".local", `test-console-bot-data-${tag}`);
const consoleSecretDir = join(workDir, "console-database");

let ns: TestNamespace;
let db: BotDatabase;
let consoleUnderTest: LocalConsole;
let tradingPool: pg.Pool;
const BOTS = ["traded", "tampered", "anchored", "rewritten"] as const;
const uids: Record<(typeof BOTS)[number], string> = { traded: "", tampered: "", anchored: "", rewritten: "" };
/** A bot deleted and re-created under the same name is another bot: its rows must not show. */
const formerUid = `former-${tag}`;

async function loggedIn(person: (typeof people)[keyof typeof people]): Promise<ConsoleClient> {
  const browser = new ConsoleClient(consoleUnderTest.running.url, consoleUnderTest.ca as string);
  const response = await browser.login(person.name, person.password);
  expect(response.status, response.body).toBe(200);
  return browser;
}

const store = (name: string, uid: string) =>
  new Store(tradingPool, { namespace: ns.name, name, uid }, "BTC/USDT");

/** The row_hash of a bot's audit row, as the database holds it now. */
async function storedHash(botUid: string, seq: number): Promise<string> {
  const admin = await db.admin();
  try {
    const { rows } = await admin.query<{ row_hash: string }>(
      "SELECT row_hash FROM tradingbot.audit_log WHERE bot_uid = $1 AND seq = $2",
      [botUid, seq],
    );
    return rows[0]?.row_hash as string;
  } finally {
    await admin.end();
  }
}

/** What the operator does with the head the runtime reports: record it in status.audit. */
async function anchorInStatus(name: string, sequence: number, hash: string): Promise<void> {
  const audit = { sequence, hash, at: new Date().toISOString() };
  await kubectl([
    "patch",
    "tradingbot",
    name,
    "-n",
    ns.name,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status: { audit } }),
  ]);
}

/**
 * What someone with the database's owner rights can do unseen by the chain check: change one row's
 * payload, then recompute its hash and every hash after it with the chain's own function.
 */
async function rewriteConsistently(botUid: string, fromSeq: number): Promise<void> {
  const admin = await db.admin();
  try {
    await admin.query("BEGIN");
    // Replica mode skips the append-only trigger, as a superuser may.
    await admin.query("SET LOCAL session_replication_role = replica");
    await rewriteAuditChainFrom(admin, botUid, fromSeq);
    await admin.query("COMMIT");
  } finally {
    await admin.end();
  }
}

/** What a runtime writes while trading: an open order, a filled one with its fill, a snapshot, a refusal, a halt. */
async function writeTradingRecord(bot: Store): Promise<void> {
  await bot.initState("grid", {}, { event: "bot_registered", payload: { strategy: "grid" } });
  await bot.recordOrder(
    {
      slot: "buy-0",
      side: "buy",
      type: "limit",
      amount: Decimal.parse("0.01"),
      price: Decimal.parse("49000"),
      reason: "grid level 0",
      origin: "strategy",
    },
    (seq) => `tb-buy-0-${seq}`,
    (clientOrderId) => ({ event: "order_submitted", payload: { clientOrderId } }),
  );
  await bot.updateOrders([
    {
      clientOrderId: "tb-buy-0-0",
      change: { status: "open", exchangeOrderId: "1001" },
      audit: { event: "order_placed", payload: { clientOrderId: "tb-buy-0-0" } },
    },
  ]);
  await bot.recordOrder(
    {
      slot: "sell-0",
      side: "sell",
      type: "limit",
      amount: Decimal.parse("0.01"),
      price: Decimal.parse("51000"),
      reason: "grid level 0",
      origin: "strategy",
    },
    (seq) => `tb-sell-0-${seq}`,
    (clientOrderId) => ({ event: "order_submitted", payload: { clientOrderId } }),
  );
  await bot.updateOrders([
    {
      clientOrderId: "tb-sell-0-0",
      change: { status: "filled", exchangeOrderId: "1002", filled: Decimal.parse("0.01") },
      audit: { event: "order_filled", payload: { clientOrderId: "tb-sell-0-0" } },
    },
  ]);
  const trade = {
    id: "7001",
    orderId: "1002",
    clientOrderId: "tb-sell-0-0",
    slot: "sell-0",
    side: "sell" as const,
    price: Decimal.parse("51000"),
    amount: Decimal.parse("0.01"),
    fee: Decimal.parse("0.51"),
    feeCurrency: "USDT",
    timestamp: Date.now(),
  };
  await bot.recordTrades(
    [trade],
    "7001",
    () => ({ strategyMemory: {}, position: { ...EMPTY_POSITION, realizedPnl: Decimal.parse("10") } }),
    (t) => ({ event: "fill", payload: { tradeId: t.id } }),
  );
  await bot.saveSnapshot({
    lastPrice: Decimal.parse("50000"),
    position: { base: Decimal.parse("0.02"), cost: Decimal.parse("990"), realizedPnl: Decimal.parse("10") },
    quoteBalance: Decimal.parse("19000"),
    equity: Decimal.parse("20000"),
    openOrders: 1,
  });
  await bot.recordRiskEvent(
    {
      limit: "maxOrderQuote",
      halting: false,
      value: Decimal.parse("600"),
      threshold: Decimal.parse("500"),
      slot: "buy-1",
      message: "order worth 600 USDT is above maxOrderQuote 500",
    },
    { event: "risk_event", payload: { limit: "maxOrderQuote", halting: false } },
  );
  await bot.appendAudit([
    {
      event: "halt",
      payload: {
        source: "KillSwitch/desk",
        reason: "exchange incident",
        by: people.viewer.name,
        noticedBy: "watch",
        onEngage: "CancelOrders",
      },
    },
  ]);
}

beforeAll(async () => {
  const cluster = clusterContext();
  const access: ClusterAccess = { kubectlPath: cluster.kubectlPath, kubeconfigPath: cluster.kubeconfigPath };
  await installCrds(access);
  await applyObjects(access, policies);
  ns = await createTestNamespace(adminKubeConfig(), "botdata");
  const rbac = "rbac.authorization.k8s.io";
  await applyObjects(access, [
    {
      apiVersion: `${rbac}/v1`,
      kind: "RoleBinding",
      metadata: { name: `${people.viewer.name}-view`, namespace: ns.name },
      roleRef: { apiGroup: rbac, kind: "ClusterRole", name: "view" },
      subjects: [{ apiGroup: rbac, kind: "User", name: people.viewer.name }],
    },
  ]);
  await waitFor(
    () =>
      applyObjects(
        access,
        BOTS.map((name) => botManifest(ns.name, name)),
      ).then(() => true),
    { what: "the TradingBots to be admitted", timeoutMs: 60_000 },
  );
  for (const name of BOTS) {
    uids[name] = (
      await kubectl(["get", "tradingbot", name, "-n", ns.name, "-o", "jsonpath={.metadata.uid}"])
    ).stdout.trim();
  }

  // The database as a user's would be: migrated by the real CLI, which also creates the console's role
  // from its Secret (TLS verified against the server's CA, as the runtime can).
  mkdirSync(workDir, { recursive: true });
  db = await createBotDatabase("con_botdata", postgresContext(), join(workDir, "secrets"));
  const endpoint = postgresContext();
  mkdirSync(consoleSecretDir, { recursive: true, mode: 0o700 });
  const consoleSecret = {
    host: endpoint.host,
    port: String(endpoint.port),
    database: db.name,
    user: `con_botdata_reader_${tag}`,
    password: randomBytes(12).toString("hex"),
    sslmode: "verify-full",
    "ca.crt": readFileSync(endpoint.caCertPath, "utf8"),
  };
  for (const [key, value] of Object.entries(consoleSecret)) {
    writeFileSync(join(consoleSecretDir, key), value, { mode: 0o400 });
  }
  const migrate = await runCli([
    "migrate",
    "--database-credentials",
    db.migrationCredentials,
    "--trading-credentials",
    db.tradingCredentials,
    "--console-credentials",
    consoleSecretDir,
  ]);
  expect(migrate.code, migrate.output).toBe(0);

  tradingPool = new pg.Pool(poolConfig(readDatabaseCredentials(db.tradingCredentials), "bot-data test"));
  await writeTradingRecord(store("traded", uids.traded));
  await writeTradingRecord(store("traded", formerUid));
  await writeTradingRecord(store("tampered", uids.tampered));
  await writeTradingRecord(store("anchored", uids.anchored));
  await writeTradingRecord(store("rewritten", uids.rewritten));
  // An older snapshot, so the chart has a line (the store stamps snapshots with the database's clock).
  const admin = await db.admin();
  try {
    await admin.query(
      `INSERT INTO tradingbot.snapshots (bot_namespace, bot_name, bot_uid, taken_at, last_price, position_base,
                                         position_cost, realized_pnl, equity, open_orders)
       VALUES ($1, 'traded', $2, now() - interval '30 minutes', '49500', '0.02', '990', '4', '19950', 1)`,
      [ns.name, uids.traded],
    );
  } finally {
    await admin.end();
  }

  consoleUnderTest = await startLocalConsole({
    access,
    adminKubeConfig: adminKubeConfig(),
    prefix,
    people: Object.values(people),
    groups: [],
    workDir: join(workDir, "console"),
    extra: { databaseCredentials: consoleSecretDir },
  });
  const viewer = await loggedIn(people.viewer);
  await waitFor(async () => (await viewer.get(`/api/bots/${ns.name}/traded`)).status === 200, {
    what: "the viewer's RoleBinding and the console's impersonation rights to act",
  });
});

afterAll(async () => {
  await consoleUnderTest?.close();
  await tradingPool?.end();
  await ns?.cleanup();
  for (const object of [...policies].reverse()) {
    await kubectl(["delete", object.kind, object.metadata.name, "--ignore-not-found"], {
      allowFailure: true,
    });
  }
  rmSync(workDir, { recursive: true, force: true });
});

describe("a bot's record on the console, from PostgreSQL through the read-only role", () => {
  it("shows a person who may get the bot its open orders, fills, chart, risk events and halts, by its uid alone", async () => {
    const viewer = await loggedIn(people.viewer);
    const base = `/api/bots/${ns.name}/traded`;

    const orders = await viewer.get(`${base}/orders`);
    expect(orders.status, orders.body).toBe(200);
    expect(orders.json.items).toEqual([
      expect.objectContaining({
        clientOrderId: "tb-buy-0-0",
        side: "buy",
        price: "49000",
        amount: "0.01",
        status: "open",
        exchangeOrderId: "1001",
      }),
    ]);

    const fills = await viewer.get(`${base}/fills`);
    expect(fills.json.items).toEqual([
      expect.objectContaining({
        tradeId: "7001",
        clientOrderId: "tb-sell-0-0",
        side: "sell",
        price: "51000",
        fee: "0.51",
        feeCurrency: "USDT",
      }),
    ]);

    const snapshots = await viewer.get(
      `${base}/snapshots?since=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`,
    );
    expect(snapshots.status, snapshots.body).toBe(200);
    expect(snapshots.json.items.map((p: { equity: string }) => p.equity)).toEqual(["19950", "20000"]);
    expect(Number(snapshots.json.items[1].unrealizedPnl)).toBe(10);

    const risk = await viewer.get(`${base}/risk-events`);
    expect(risk.json.items).toEqual([
      expect.objectContaining({
        limit: "maxOrderQuote",
        halting: false,
        value: "600",
        threshold: "500",
        slot: "buy-1",
      }),
    ]);

    const halts = await viewer.get(`${base}/halts`);
    expect(halts.json.items).toEqual([
      expect.objectContaining({
        source: "KillSwitch/desk",
        by: people.viewer.name,
        reason: "exchange incident",
        noticedBy: "watch",
      }),
    ]);
  });

  it("refuses a person the API server does not let get the bot with its 403, and reads no rows for them", async () => {
    const stranger = await loggedIn(people.stranger);
    for (const view of ["orders", "fills", "snapshots", "risk-events", "audit", "halts"]) {
      const response = await stranger.get(`/api/bots/${ns.name}/traded/${view}`);
      expect(response.status, `${view}: ${response.body}`).toBe(403);
      expect(response.json.error).toContain(
        `User "${people.stranger.name}" cannot get resource "tradingbots"`,
      );
    }
  });

  it("pages the audit trail newest first, with the whole hash chain checked by the runtime's own code", async () => {
    const viewer = await loggedIn(people.viewer);
    const first = await viewer.get(`/api/bots/${ns.name}/traded/audit?limit=4`);
    expect(first.status, first.body).toBe(200);
    const total = first.json.chain.rows as number;
    // No operator runs here, so nothing anchored this bot's chain.
    expect(first.json.chain).toEqual({ intact: true, rows: total, anchor: { result: "none" } });
    expect(total).toBeGreaterThan(4);
    const seqs: number[] = first.json.items.map((item: { seq: number }) => item.seq);
    expect(seqs).toEqual([total, total - 1, total - 2, total - 3]);
    expect(first.json.items[0]).toMatchObject({ event: "halt" });
    let before = first.json.nextBefore as number | null;
    while (before !== null) {
      const page = await viewer.get(`/api/bots/${ns.name}/traded/audit?limit=4&before=${before}`);
      expect(page.json.chain).toBeUndefined();
      seqs.push(...page.json.items.map((item: { seq: number }) => item.seq));
      before = page.json.nextBefore;
    }
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => total - i));
  });

  it("shows an audit row edited behind the database's back as a broken chain, naming the row", async () => {
    const admin = await db.admin();
    let editedId: string;
    try {
      const { rows } = await admin.query<{ id: string }>(
        "SELECT id FROM tradingbot.audit_log WHERE bot_uid = $1 AND seq = 3",
        [uids.tampered],
      );
      editedId = rows[0]?.id as string;
      // Replica mode skips the append-only trigger: what someone with superuser access could do.
      await admin.query("SET session_replication_role = replica");
      await admin.query(
        `UPDATE tradingbot.audit_log SET payload = '{"clientOrderId":"forged"}' WHERE id = $1`,
        [editedId],
      );
    } finally {
      await admin.end();
    }
    const viewer = await loggedIn(people.viewer);
    const page = await viewer.get(`/api/bots/${ns.name}/tampered/audit`);
    expect(page.status, page.body).toBe(200);
    expect(page.json.chain).toEqual({
      intact: false,
      rows: 2,
      brokenRow: { id: editedId, seq: 3 },
      reason: "row_hash does not match the row's content: the row was edited",
      anchor: { result: "none" },
    });
    const untouched = await viewer.get(`/api/bots/${ns.name}/traded/audit`);
    expect(untouched.json.chain.intact).toBe(true);
  });

  it("verifies an untampered audit trail against the chain head anchored in the bot's status", async () => {
    const viewer = await loggedIn(people.viewer);
    const before = await viewer.get(`/api/bots/${ns.name}/anchored/audit`);
    const rows = before.json.chain.rows as number;
    // The operator's anchor trails the database: the runtime has written on since.
    const hash = await storedHash(uids.anchored, rows - 2);
    await anchorInStatus("anchored", rows - 2, hash);

    const page = await viewer.get(`/api/bots/${ns.name}/anchored/audit`);
    expect(page.status, page.body).toBe(200);
    expect(page.json.chain).toEqual({
      intact: true,
      rows,
      anchor: { result: "matches", sequence: rows - 2, hash, anchoredAt: expect.any(String) },
    });
  });

  it("reports a consistent rewrite of the audit log, which passes the chain check, as a mismatch with the anchor", async () => {
    const viewer = await loggedIn(people.viewer);
    const rows = (await viewer.get(`/api/bots/${ns.name}/rewritten/audit`)).json.chain.rows as number;
    const anchoredHash = await storedHash(uids.rewritten, rows);
    await anchorInStatus("rewritten", rows, anchoredHash);
    expect((await viewer.get(`/api/bots/${ns.name}/rewritten/audit`)).json.chain.anchor.result).toBe(
      "matches",
    );

    await rewriteConsistently(uids.rewritten, 3);
    const databaseHash = await storedHash(uids.rewritten, rows);
    expect(databaseHash).not.toBe(anchoredHash);

    const page = await viewer.get(`/api/bots/${ns.name}/rewritten/audit`);
    expect(page.status, page.body).toBe(200);
    expect(page.json.items.find((item: { seq: number }) => item.seq === 3).payload).toMatchObject({
      rewritten: "by the owner",
    });
    expect(page.json.chain).toEqual({
      intact: true,
      rows,
      anchor: {
        result: "differs",
        sequence: rows,
        hash: anchoredHash,
        anchoredAt: expect.any(String),
        databaseHash,
      },
    });
  });

  it("gives the console's role SELECT only: every INSERT, UPDATE, DELETE and TRUNCATE, and every write through a function or sequence, is refused", async () => {
    const reader = new pg.Client(
      poolConfig(readDatabaseCredentials(consoleSecretDir), "bot-data test reader"),
    );
    await reader.connect();
    const refusal = async (statement: string) => {
      const error = await reader.query(statement).then(
        () => undefined,
        (e: unknown) => e as { code?: string; message: string },
      );
      return error === undefined ? `${statement}: allowed` : `${error.code}`;
    };
    try {
      // The grants alone decide here: this session is not the console's read-only one.
      expect((await reader.query("SHOW default_transaction_read_only")).rows[0]).toEqual({
        default_transaction_read_only: "off",
      });
      const tables = [...CONSOLE_READABLE_TABLES, "bot_state"];
      for (const table of tables) {
        const column = table === "schema_migrations" ? "version" : "bot_uid";
        for (const statement of [
          `INSERT INTO tradingbot.${table} DEFAULT VALUES`,
          `UPDATE tradingbot.${table} SET ${column} = ${column}`,
          `DELETE FROM tradingbot.${table}`,
          `TRUNCATE tradingbot.${table}`,
        ]) {
          expect(await refusal(statement), statement).toBe("42501");
        }
      }
      for (const statement of [
        `SELECT tradingbot.prune_audit_log('${uids.traded}', 1)`,
        "SELECT nextval('tradingbot.orders_id_seq')",
        "CREATE TABLE tradingbot.planted (id int)",
        "SELECT * FROM tradingbot.bot_state",
        "SELECT id FROM tradingbot.audit_log FOR UPDATE",
      ]) {
        expect(await refusal(statement), statement).toBe("42501");
      }
      for (const table of CONSOLE_READABLE_TABLES) {
        await expect(reader.query(`SELECT count(*) FROM tradingbot.${table}`)).resolves.toBeDefined();
      }
    } finally {
      await reader.end();
    }
    const admin = await db.admin();
    try {
      const { rows } = await admin.query<{ count: string }>(
        "SELECT count(*)::text AS count FROM tradingbot.orders WHERE bot_uid = $1",
        [uids.traded],
      );
      expect(rows[0]?.count).toBe("2");
    } finally {
      await admin.end();
    }
  });
});
