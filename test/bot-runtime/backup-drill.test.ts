// The restore drill, as an operator runs it: a backup taken while two bots trade (orders placed while it
// runs are left out, and what it holds is consistent across tables), restored into a fresh database where
// the audit chains verify, and bots started on the restored database take up their orders at the exchange
// and place none twice. Then a per-bot backup, which holds that bot's rows and nothing else. Backup and
// restore run from the bundle the image runs (`npm run build` first).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExchangeSim } from "../../exchange-sim/index.ts";
import { waitFor } from "../support/wait-for.ts";
import {
  type AgeKeys,
  ageKeys,
  type BackupRole,
  CliRecorder,
  createBackupRole,
  filesIn,
  logLine,
  passwordsOf,
  tableCounts,
} from "./backup-harness.ts";
import {
  type BotDatabase,
  type BotSetup,
  cleanup,
  RuntimeProcess,
  type SimAccount,
  scratchDir,
  smallGrid,
  startSimulator,
  writeBot,
} from "./fixtures.ts";
import { createSuiteDatabase, expectAuditChainIntact, expectDatabaseMatchesExchange } from "./harness.ts";

const dir = scratchDir("rt-backup-drill");
const cli = new CliRecorder();
const botLogs: RuntimeProcess[] = [];
let source: BotDatabase;
let restored: BotDatabase;
let backupRole: BackupRole;
let keys: AgeKeys;
const backupFile = join(dir, "backups", "drill.backup.age");

type Bot = { name: string; sim: ExchangeSim; account: SimAccount; setup: BotSetup };
const bots: Bot[] = [];

async function tradingBot(name: string): Promise<Bot> {
  const { sim, account } = await startSimulator();
  const price = Number(sim.price("BTCUSDT"));
  const setup = writeBot(join(dir, name), sim, account, {
    bot: { namespace: "trading", name, uid: `${name}-uid-${Date.now().toString(36)}` },
    ...smallGrid(price),
    // A stop leaves the orders at the exchange: the restored bots must find them there.
    onStop: "Freeze",
  });
  return { name, sim, account, setup };
}

function start(bot: Bot, db: BotDatabase): RuntimeProcess {
  const runtime = RuntimeProcess.start(bot.setup, db.tradingCredentials);
  botLogs.push(runtime);
  return runtime;
}

/** The client order ids of a bot's rows in a database. */
async function orderIds(db: BotDatabase, uid: string): Promise<Set<string>> {
  const client = await db.admin();
  try {
    const { rows } = await client.query<{ client_order_id: string }>(
      "SELECT client_order_id FROM tradingbot.orders WHERE bot_uid = $1",
      [uid],
    );
    return new Set(rows.map((row) => row.client_order_id));
  } finally {
    await client.end();
  }
}

const isOpen = (status: string) => status === "NEW" || status === "PARTIALLY_FILLED";
/** The slot of a client order id `tb<tag>-<slot>-<seq>`. */
const slotOf = (clientOrderId: string) => clientOrderId.split("-")[1];

beforeAll(async () => {
  [source, restored] = await Promise.all([
    createSuiteDatabase("rt_bkp_src"),
    createSuiteDatabase("rt_bkp_dst"),
  ]);
  backupRole = await createBackupRole(source, dir, cli);
  keys = await ageKeys(join(dir, "keys"), "drill");
  bots.push(await tradingBot("grid-a"), await tradingBot("grid-b"));
});

afterAll(async () => {
  for (const runtime of botLogs) await runtime.stop();
  for (const bot of bots) await bot.sim.close();
  cleanup(dir);
});

describe("the restore drill", () => {
  it("backs up while bots trade: orders placed during the backup are left out, and what it holds is consistent", async () => {
    const running = bots.map((bot) => start(bot, source));
    for (const runtime of running) {
      await waitFor(() => runtime.events("order_placed").length >= 2, { what: `orders\n${runtime.tail()}` });
    }

    // Holding a lock on a table the backup reads after its first stops it there, inside its snapshot,
    // while the bots go on trading.
    const hold = await source.admin();
    const observer = await source.admin();
    let backup: ReturnType<CliRecorder["start"]>;
    let placedBefore: number[];
    try {
      await hold.query("BEGIN");
      await hold.query("LOCK TABLE tradingbot.audit_prune IN ACCESS EXCLUSIVE MODE");
      mkdirSync(join(dir, "backups"), { recursive: true });
      backup = cli.start(
        [
          "backup",
          "--database-credentials",
          backupRole.credentials,
          "--out",
          backupFile,
          "--recipient",
          keys.recipient,
        ],
        "bundle",
      );
      const exited = backup.done.then((result) => {
        throw new Error(
          `the backup ended before reaching the held table (${result.code}):\n${result.output}`,
        );
      });
      // (Asked on another connection: a transaction sees one snapshot of pg_stat_activity.)
      const waiting = waitFor(
        async () => {
          const { rows } = await observer.query(
            `SELECT 1 FROM pg_stat_activity
              WHERE datname = $1 AND application_name = 'bot-runtime backup' AND wait_event_type = 'Lock'`,
            [source.name],
          );
          return rows.length === 1;
        },
        { what: "the backup to wait for the held table, inside its snapshot" },
      );
      await Promise.race([waiting, exited]);
      exited.catch(() => {});
      placedBefore = running.map((runtime) => runtime.events("order_placed").length);
      // A move down fills each bot's nearest buy: each records the fill and places a sell above it.
      for (const bot of bots) bot.sim.setPrice({ symbol: "BTCUSDT", movePct: -1.1 });
      for (const [index, runtime] of running.entries()) {
        await waitFor(() => runtime.events("order_placed").length > (placedBefore[index] ?? 0), {
          what: `an order placed during the backup\n${runtime.tail()}`,
        });
      }
    } finally {
      await hold.query("COMMIT").catch(() => {});
      await Promise.all([hold.end(), observer.end()]);
    }
    const written = await backup.done;
    expect(written.code, written.output).toBe(0);
    const report = logLine(written.output, "backup_written");
    expect(report).toMatchObject({ file: backupFile, scope: { kind: "all" }, recipients: 1 });
    console.log(`[backup drill] ${String(report?.msg)}`);

    for (const runtime of running) expect(await runtime.stop()).toEqual({ code: 0, signal: null });

    const restore = await cli.run(
      [
        "restore",
        "--in",
        backupFile,
        "--identity-file",
        keys.identityFile,
        "--database-credentials",
        restored.migrationCredentials,
      ],
      "bundle",
    );
    expect(restore.code, restore.output).toBe(0);
    expect(logLine(restore.output, "restored")).toMatchObject({ rows: report?.rows });
    console.log(`[backup drill] ${String(logLine(restore.output, "restored")?.msg)}`);

    for (const [index, bot] of bots.entries()) {
      const uid = bot.setup.config.bot.uid;
      const [inSource, inRestored] = await Promise.all([orderIds(source, uid), orderIds(restored, uid)]);
      const placedDuringBackup = (running[index]?.events("order_placed") ?? [])
        .slice(placedBefore[index])
        .map((line) => String(line.clientOrderId));
      expect(placedDuringBackup.length).toBeGreaterThan(0);
      for (const id of placedDuringBackup) {
        expect(inSource.has(id), id).toBe(true);
        expect(inRestored.has(id), `${id} was placed after the snapshot`).toBe(false);
      }
      expect([...inRestored].every((id) => inSource.has(id))).toBe(true);
    }

    // One snapshot for every table: the audit log (read before the wait) and the orders and fills (read
    // after it) tell the same story, with nothing of what happened in between.
    const client = await restored.admin();
    try {
      const unmatched = await client.query(
        `SELECT o.client_order_id FROM tradingbot.orders o
          WHERE NOT EXISTS (SELECT 1 FROM tradingbot.audit_log a WHERE a.bot_uid = o.bot_uid
                              AND a.event IN ('order_submitted', 'order_adopted')
                              AND a.payload->>'clientOrderId' = o.client_order_id)
         UNION ALL
         SELECT a.payload->>'clientOrderId' FROM tradingbot.audit_log a
          WHERE a.event = 'order_submitted' AND NOT EXISTS (SELECT 1 FROM tradingbot.orders o
                              WHERE o.bot_uid = a.bot_uid AND o.client_order_id = a.payload->>'clientOrderId')
         UNION ALL
         SELECT f.trade_id FROM tradingbot.fills f
          WHERE NOT EXISTS (SELECT 1 FROM tradingbot.audit_log a WHERE a.bot_uid = f.bot_uid
                              AND a.event = 'fill' AND a.payload->>'tradeId' = f.trade_id)
         UNION ALL
         SELECT a.payload->>'tradeId' FROM tradingbot.audit_log a
          WHERE a.event = 'fill' AND NOT EXISTS (SELECT 1 FROM tradingbot.fills f
                              WHERE f.bot_uid = a.bot_uid AND f.trade_id = a.payload->>'tradeId')`,
      );
      expect(unmatched.rows).toEqual([]);
      // New rows continue after the restored ones.
      const sequence = await client.query<{ last: string; max: string }>(
        "SELECT (SELECT last_value FROM tradingbot.orders_id_seq)::text AS last, (SELECT max(id) FROM tradingbot.orders)::text AS max",
      );
      expect(sequence.rows[0]?.last).toBe(sequence.rows[0]?.max);
      expect(await tableCounts(client)).toEqual(report?.rows);
    } finally {
      await client.end();
    }
    await expectAuditChainIntact(restored);
  });

  it("a bot started on the restored database takes up its orders at the exchange and places none twice", async () => {
    for (const bot of bots) {
      const uid = bot.setup.config.bot.uid;
      const before = bot.sim.orders({ apiKey: bot.account.apiKey });
      const openBefore = before.filter((order) => isOpen(order.status));
      const knownToRestored = await orderIds(restored, uid);
      const placedAfterSnapshot = openBefore.filter((order) => !knownToRestored.has(order.clientOrderId));
      expect(placedAfterSnapshot.length).toBeGreaterThan(0);

      const resumed = start(bot, restored);
      // It keeps what the backup knew, adopts what was placed after it, and leaves nothing foreign.
      expect(await resumed.waitForEvent("reconciled")).toMatchObject({
        kept: openBefore.length - placedAfterSnapshot.length,
        adopted: placedAfterSnapshot.length,
        foreign: 0,
      });
      await resumed.waitForEvent("trading");
      // Two whole ticks after taking stock: the strategy has had its say.
      const first = await waitFor(
        async () => {
          const status = JSON.parse((await resumed.get("/status")).body) as { heartbeat: string };
          return (
            Date.parse(status.heartbeat) > Date.parse(String(resumed.events("trading")[0]?.time)) && status
          );
        },
        { what: `a tick after reconciling\n${resumed.tail()}` },
      );
      await waitFor(
        async () => {
          const status = JSON.parse((await resumed.get("/status")).body) as { heartbeat: string };
          return status.heartbeat > first.heartbeat;
        },
        { what: `a second tick\n${resumed.tail()}` },
      );
      expect(await resumed.stop()).toEqual({ code: 0, signal: null });

      const after = bot.sim.orders({ apiKey: bot.account.apiKey });
      expect(new Set(after.map((order) => order.clientOrderId)).size).toBe(after.length);
      const openSlots = after
        .filter((order) => isOpen(order.status))
        .map((order) => slotOf(order.clientOrderId));
      expect(new Set(openSlots).size).toBe(openSlots.length);
      const slotsTaken = new Set(openBefore.map((order) => slotOf(order.clientOrderId)));
      const placedByResumed = after.filter((order) => !before.some((b) => b.orderId === order.orderId));
      for (const order of placedByResumed) expect(slotsTaken.has(slotOf(order.clientOrderId))).toBe(false);

      await expectDatabaseMatchesExchange(restored, bot.sim, bot.account, uid);
    }
    await expectAuditChainIntact(restored);
  });

  it("backs up one bot: its rows and nothing else, which restore beside another bot's", async () => {
    const [a, b] = bots as [Bot, Bot];
    const perBotDir = join(dir, "per-bot");
    mkdirSync(perBotDir, { recursive: true });
    // Older backups of the bot, and of the whole schema, beside it: --keep removes only the bot's oldest.
    const older = [
      "tradingbot-bot-trading_grid-a-20200101T000000Z.backup.age",
      "tradingbot-bot-trading_grid-a-20200102T000000Z.backup.age",
      "tradingbot-all-20200101T000000Z.backup.age",
    ];
    for (const name of older) writeFileSync(join(perBotDir, name), "an older backup");
    const backups: Record<string, string> = {};
    for (const bot of [a, b]) {
      const result = await cli.run(
        [
          "backup",
          "--database-credentials",
          backupRole.credentials,
          "--out-dir",
          perBotDir,
          "--keep",
          "2",
          "--recipients-file",
          keys.recipientsFile,
          "--bot",
          `trading/${bot.name}`,
        ],
        "bundle",
      );
      expect(result.code, result.output).toBe(0);
      const report = logLine(result.output, "backup_written");
      expect(report?.scope).toEqual({
        kind: "bot",
        namespace: "trading",
        name: bot.name,
        uids: [bot.setup.config.bot.uid],
      });
      backups[bot.name] = String(report?.file);
    }
    const kept = filesIn(perBotDir);
    expect(kept).toContain("tradingbot-bot-trading_grid-a-20200102T000000Z.backup.age");
    expect(kept).not.toContain("tradingbot-bot-trading_grid-a-20200101T000000Z.backup.age");
    expect(kept).toContain("tradingbot-all-20200101T000000Z.backup.age");
    expect(kept.filter((name) => name.endsWith(".partial"))).toEqual([]);

    const target = await createSuiteDatabase("rt_bkp_bot");
    const restoreInto = (file: string) =>
      cli.run([
        "restore",
        "--in",
        file,
        "--identity-file",
        keys.identityFile,
        "--database-credentials",
        target.migrationCredentials,
      ]);
    const first = await restoreInto(backups["grid-a"] as string);
    expect(first.code, first.output).toBe(0);

    const sourceClient = await source.admin();
    const targetClient = await target.admin();
    try {
      const uidA = a.setup.config.bot.uid;
      const expected = await tableCounts(sourceClient, uidA);
      expect(expected.orders).toBeGreaterThan(0);
      expect(await tableCounts(targetClient, uidA)).toEqual(expected);
      expect(await tableCounts(targetClient)).toEqual(expected);

      // Another bot's backup goes in beside it, its ids numbered by the target; the first one again does not.
      const second = await restoreInto(backups["grid-b"] as string);
      expect(second.code, second.output).toBe(0);
      expect(await tableCounts(targetClient, b.setup.config.bot.uid)).toEqual(
        await tableCounts(sourceClient, b.setup.config.bot.uid),
      );
      const again = await restoreInto(backups["grid-a"] as string);
      expect(again.code).toBe(1);
      expect(logLine(again.output, "restore_refused")?.msg).toBe(
        `restore refused: table tradingbot.audit_log already holds rows of bot trading/grid-a (uid ${uidA}): a restore goes only into empty tables (no row of the bot's uids); nothing was written`,
      );
      expect(await tableCounts(targetClient, uidA)).toEqual(expected);
    } finally {
      await Promise.all([sourceClient.end(), targetClient.end()]);
    }
    await expectAuditChainIntact(target);
  });

  it("prints no database password and no age identity, and the backup file holds no plaintext", async () => {
    const secrets = [
      ...passwordsOf(source.migrationCredentials, source.tradingCredentials, backupRole.credentials),
      ...passwordsOf(restored.migrationCredentials, restored.tradingCredentials),
      keys.identity,
    ];
    const printed = [...cli.outputs, ...botLogs.map((runtime) => runtime.raw)].join("\n");
    expect(cli.outputs.length).toBeGreaterThan(4);
    for (const secret of secrets) expect(printed.includes(secret)).toBe(false);
    const file = readFileSync(backupFile);
    expect(file.subarray(0, 22).toString()).toBe("age-encryption.org/v1\n");
    for (const plain of ["tradingbot-backup", "grid-a", bots[0]?.setup.config.bot.uid ?? "uid"]) {
      expect(file.includes(plain)).toBe(false);
    }
  });
});
