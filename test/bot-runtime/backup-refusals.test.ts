// What backup and restore refuse, and that a refusal writes nothing: a file changed after it was written
// (age's MAC), content changed and encrypted again (the backup's own checksums), a backup for other keys,
// a target that is not empty, unmigrated or older than the backup; a backup that fails half-way leaves no
// file. The backup's role reads and cannot write. Nothing any of it prints holds a password or an identity.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Decrypter, Encrypter } from "age-encryption";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExchangeSim } from "../../exchange-sim/index.ts";
import { waitFor } from "../support/wait-for.ts";
import {
  type AgeKeys,
  ageKeys,
  type BackupRole,
  CliRecorder,
  connectAs,
  createBackupRole,
  filesIn,
  logLine,
  passwordsOf,
  TABLES,
  tableCounts,
} from "./backup-harness.ts";
import {
  type BotDatabase,
  cleanup,
  RuntimeProcess,
  scratchDir,
  smallGrid,
  startSimulator,
  writeBot,
} from "./fixtures.ts";
import { createSuiteDatabase } from "./harness.ts";

const dir = scratchDir("rt-backup-refusals");
const cli = new CliRecorder();
let sim: ExchangeSim;
let bot: RuntimeProcess;
let source: BotDatabase;
let target: BotDatabase;
let backupRole: BackupRole;
let keys: AgeKeys;
let otherKeys: AgeKeys;
const backupFile = join(dir, "source.backup.age");

const restore = (file: string, identityFile = keys.identityFile, database = target.migrationCredentials) =>
  cli.run(["restore", "--in", file, "--identity-file", identityFile, "--database-credentials", database]);

async function expectRefused(result: { code: number; output: string }, message: string | RegExp) {
  expect(result.code, result.output).toBe(1);
  const line = logLine(result.output, "restore_refused");
  expect(line?.msg).toMatch(message);
  expect(line?.msg).toMatch(/nothing was written$/);
}

async function expectTargetEmpty() {
  const client = await target.admin();
  try {
    expect(Object.values(await tableCounts(client)).every((count) => count === 0)).toBe(true);
  } finally {
    await client.end();
  }
}

/** The backup's plaintext, changed by `edit`, encrypted again to the same recipient. */
async function reencrypted(edit: (plaintext: string) => string, name: string): Promise<string> {
  const decrypter = new Decrypter();
  decrypter.addIdentity(keys.identity);
  const plaintext = await decrypter.decrypt(readFileSync(backupFile), "text");
  const encrypter = new Encrypter();
  encrypter.addRecipient(keys.recipient);
  const file = join(dir, name);
  writeFileSync(file, await encrypter.encrypt(edit(plaintext)));
  return file;
}

function withBytes(name: string, change: (bytes: Buffer) => Buffer): string {
  const file = join(dir, name);
  writeFileSync(file, change(Buffer.from(readFileSync(backupFile))));
  return file;
}

beforeAll(async () => {
  [source, target] = await Promise.all([
    createSuiteDatabase("rt_bkr_src"),
    createSuiteDatabase("rt_bkr_dst"),
  ]);
  backupRole = await createBackupRole(source, dir, cli);
  [keys, otherKeys] = await Promise.all([
    ageKeys(join(dir, "keys"), "ops"),
    ageKeys(join(dir, "keys"), "other"),
  ]);
  const started = await startSimulator();
  sim = started.sim;
  const price = Number(sim.price("BTCUSDT"));
  const setup = writeBot(join(dir, "bot"), sim, started.account, {
    bot: { namespace: "trading", name: "grid-refusals", uid: "grid-refusals-uid" },
    ...smallGrid(price),
    onStop: "CancelOrders",
  });
  bot = RuntimeProcess.start(setup, source.tradingCredentials);
  await waitFor(() => bot.events("order_placed").length >= 2, { what: `orders\n${bot.tail()}` });
  expect(await bot.stop()).toEqual({ code: 0, signal: null });
  const written = await cli.run([
    "backup",
    "--database-credentials",
    backupRole.credentials,
    "--out",
    backupFile,
    "--recipient",
    keys.recipient,
    "--recipient",
    otherKeys.recipient,
  ]);
  if (written.code !== 0) throw new Error(`backup failed:\n${written.output}`);
});

afterAll(async () => {
  await bot?.stop();
  await sim?.close();
  cleanup(dir);
});

describe("backup and restore refusals", () => {
  it("gives the backup's role SELECT on every table, later ones too, and nothing it could write with", async () => {
    const reader = await connectAs(backupRole.credentials);
    const denied = async (statement: string) => {
      const error = await reader.query(statement).then(
        () => undefined,
        (failure: { code?: string }) => failure.code,
      );
      expect(error, statement).toBe("42501");
    };
    try {
      for (const table of [...TABLES, "schema_migrations"]) {
        await reader.query(`SELECT count(*) FROM tradingbot.${table}`);
        await denied(`INSERT INTO tradingbot.${table} DEFAULT VALUES`);
        await denied(
          `UPDATE tradingbot.${table} SET ${table === "schema_migrations" ? "name = name" : "bot_uid = bot_uid"}`,
        );
        await denied(`DELETE FROM tradingbot.${table}`);
        await denied(`TRUNCATE tradingbot.${table}`);
      }
      await denied("SELECT nextval('tradingbot.orders_id_seq')");
      await denied("SELECT tradingbot.prune_audit_log('grid-refusals-uid', 1)");
      await denied("CREATE TABLE tradingbot.planted (a int)");
      // A table a later migration adds (the migration role creates it) is readable, and no more.
      const owner = await connectAs(source.migrationCredentials);
      try {
        await owner.query("CREATE TABLE tradingbot.added_later (id bigserial PRIMARY KEY, note text)");
        await reader.query("SELECT count(*) FROM tradingbot.added_later");
        await denied("INSERT INTO tradingbot.added_later (note) VALUES ('x')");
        await denied("SELECT nextval('tradingbot.added_later_id_seq')");
      } finally {
        await owner.query("DROP TABLE IF EXISTS tradingbot.added_later");
        await owner.end();
      }
    } finally {
      await reader.end();
    }
    const shared = await cli.run([
      "migrate",
      "--database-credentials",
      source.migrationCredentials,
      "--trading-credentials",
      source.tradingCredentials,
      "--backup-role",
      source.tradingRole,
    ]);
    expect(shared.code).toBe(2);
    expect(shared.output).toContain(`the backup's role (${source.tradingRole}) must be a role of its own`);
  });

  it("refuses a file changed after it was written, by age's MAC, and writes nothing", async () => {
    const payload = withBytes("payload.age", (bytes) => {
      const middle = bytes.length - 200;
      bytes[middle] = (bytes[middle] ?? 0) ^ 0x01;
      return bytes;
    });
    await expectRefused(await restore(payload), /encrypted content failed age authentication \(its MAC\)/);
    const header = withBytes("header.age", (bytes) => {
      const text = bytes.toString("latin1");
      const mac = text.indexOf("\n--- ") + 10;
      bytes[mac] = text[mac] === "A" ? 0x42 : 0x41;
      return bytes;
    });
    await expectRefused(await restore(header), /age header failed its MAC check/);
    const truncated = withBytes("truncated.age", (bytes) => bytes.subarray(0, bytes.length - 100));
    await expectRefused(await restore(truncated), /failed age authentication \(its MAC\): .*truncated/);
    const checked = await cli.run([
      "restore",
      "--in",
      payload,
      "--identity-file",
      keys.identityFile,
      "--check-only",
    ]);
    expect(checked.code).toBe(1);
    expect(logLine(checked.output, "restore_refused")?.msg).toMatch(/failed age authentication/);
    await expectTargetEmpty();
  });

  it("refuses content changed and encrypted again, by its checksums, naming the table, and writes nothing", async () => {
    const changed = await reencrypted((plaintext) => {
      const lines = plaintext.split("\n");
      const orderRow = lines.findIndex(
        (line) => line.includes('"grid-refusals-uid"') && line.includes('"limit"'),
      );
      lines[orderRow] = (lines[orderRow] as string).replace('"buy"', '"sell"');
      return lines.join("\n");
    }, "changed.age");
    await expectRefused(await restore(changed), /^restore refused: checksum mismatch in table orders: /);
    const removed = await reencrypted((plaintext) => {
      const lines = plaintext.split("\n");
      const fill = lines.findIndex((line) => line.startsWith("[") && line.includes('"order_placed"'));
      lines.splice(fill, 1);
      return lines.join("\n");
    }, "removed.age");
    await expectRefused(
      await restore(removed),
      /row count mismatch in table audit_log: (\d+) rows read, (\d+) recorded/,
    );
    const cut = await reencrypted(
      (plaintext) => plaintext.slice(0, plaintext.indexOf('{"trailer"')),
      "cut.age",
    );
    await expectRefused(await restore(cut), /ends before its trailer: it is truncated/);
    await expectTargetEmpty();
  });

  it("refuses a backup for other keys, and restores with any one of its recipients' identities", async () => {
    const stranger = await ageKeys(join(dir, "keys"), "stranger");
    await expectRefused(
      await restore(backupFile, stranger.identityFile),
      /no identity matches this backup's recipients/,
    );
    await expectTargetEmpty();
    const checked = await cli.run([
      "restore",
      "--in",
      backupFile,
      "--identity-file",
      otherKeys.identityFile,
      "--check-only",
    ]);
    expect(checked.code, checked.output).toBe(0);
    expect(logLine(checked.output, "backup_checked")?.msg).toMatch(
      /^backup checked: the whole schema, schema version 2, .* counts and checksums match/,
    );
  });

  it("refuses an identity file it cannot use without quoting it", async () => {
    const broken = join(dir, "keys", "broken.key");
    const corrupted = `${keys.identity.slice(0, -3)}QQQ`;
    writeFileSync(broken, `# public key: ${keys.recipient}\n${corrupted}\n`);
    const result = await restore(backupFile, broken);
    expect(result.code).toBe(2);
    expect(result.output).toContain(`--identity-file ${broken} line 2 is not a valid age identity`);
    expect(result.output).not.toContain(corrupted.slice(16, -3));
  });

  it("refuses a target that holds rows, naming the table, and leaves it as it was", async () => {
    const client = await source.admin();
    try {
      const before = await tableCounts(client);
      await expectRefused(
        await restore(backupFile, keys.identityFile, source.migrationCredentials),
        /^restore refused: table tradingbot.audit_log already holds rows: a restore goes only into empty tables/,
      );
      expect(await tableCounts(client)).toEqual(before);
    } finally {
      await client.end();
    }
  });

  it("refuses a backup of a newer schema, and a database that was never migrated", async () => {
    const newer = await createSuiteDatabase("rt_bkr_new");
    const admin = await newer.admin();
    try {
      await admin.query(
        "INSERT INTO tradingbot.schema_migrations (version, name, checksum) VALUES (99, 'from_the_future', $1)",
        ["f".repeat(64)],
      );
    } finally {
      await admin.end();
    }
    const file = join(dir, "newer.backup.age");
    const written = await cli.run([
      "backup",
      "--database-credentials",
      newer.migrationCredentials,
      "--out",
      file,
      "--recipients-file",
      keys.recipientsFile,
    ]);
    expect(written.code, written.output).toBe(0);
    await expectRefused(
      await restore(file),
      /the backup is of schema version 99, newer than this database's 2: migrate the database with a bot-runtime at least as new/,
    );
    await expectTargetEmpty();

    // The same server and owner, a database where migrate never ran.
    const bare = join(dir, "bare-secret");
    mkdirSync(bare);
    for (const key of ["host", "port", "user", "password", "sslmode"])
      writeFileSync(join(bare, key), readFileSync(join(target.migrationCredentials, key)));
    writeFileSync(join(bare, "database"), `${target.name}_bare`);
    const superuser = await target.admin();
    try {
      await superuser.query(`CREATE DATABASE "${target.name}_bare" OWNER "${target.migrationRole}"`);
    } finally {
      await superuser.end();
    }
    await expectRefused(
      await restore(backupFile, keys.identityFile, bare),
      /has no tradingbot schema: run `bot-runtime migrate`/,
    );
  });

  it("leaves no file behind when the backup fails half-way, and never replaces a backup", async () => {
    const out = join(dir, "failing");
    mkdirSync(out);
    const hold = await source.admin();
    const observer: pg.Client = await source.admin();
    try {
      await hold.query("BEGIN");
      await hold.query("LOCK TABLE tradingbot.audit_prune IN ACCESS EXCLUSIVE MODE");
      const backup = cli.start([
        "backup",
        "--database-credentials",
        backupRole.credentials,
        "--out",
        join(out, "half.backup.age"),
        "--recipient",
        keys.recipient,
      ]);
      const pid = await waitFor(
        async () => {
          const { rows } = await observer.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity
              WHERE datname = $1 AND application_name = 'bot-runtime backup' AND wait_event_type = 'Lock'`,
            [source.name],
          );
          return rows[0]?.pid;
        },
        { what: "the backup to wait for the held table" },
      );
      // The backup has written the header and the audit log by now; its connection goes away.
      await observer.query("SELECT pg_terminate_backend($1)", [pid]);
      const failed = await backup.done;
      expect(failed.code).toBe(1);
      expect(logLine(failed.output, "backup_failed")?.msg).toMatch(/^backup failed: /);
    } finally {
      await hold.query("COMMIT").catch(() => {});
      await Promise.all([hold.end(), observer.end()]);
    }
    expect(filesIn(out)).toEqual([]);

    const again = await cli.run([
      "backup",
      "--database-credentials",
      backupRole.credentials,
      "--out",
      backupFile,
      "--recipient",
      keys.recipient,
    ]);
    expect(again.code).toBe(2);
    expect(logLine(again.output, "backup_failed")?.msg).toBe(
      `backup not started: ${backupFile} already exists: a backup never replaces another; choose a new name`,
    );
  });

  it("prints no database password and no age identity", () => {
    const secrets = [
      ...passwordsOf(source.migrationCredentials, source.tradingCredentials, backupRole.credentials),
      ...passwordsOf(target.migrationCredentials, target.tradingCredentials),
      keys.identity,
      otherKeys.identity,
    ];
    const printed = [...cli.outputs, bot.raw].join("\n");
    expect(cli.outputs.length).toBeGreaterThan(15);
    for (const secret of secrets) expect(printed.includes(secret)).toBe(false);
    // The identity's body too, in case a message quoted part of a key.
    expect(printed).not.toContain(keys.identity.slice(16, 48));
  });
});
