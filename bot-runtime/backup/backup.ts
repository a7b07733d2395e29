import { randomBytes } from "node:crypto";
import { open, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Encrypter } from "age-encryption";
import type pg from "pg";
import { SCHEMA } from "../store/database.ts";
import { quoteIdentifier, quoteLiteral } from "../store/migrate.ts";
import { backupFileName, backupsToRemove } from "./backup-files.ts";
import { type CatalogTable, readMigrations, readTables } from "./catalog.ts";
import { BACKUP_FORMAT, BACKUP_FORMAT_VERSION, BackupEncoder, type BackupHeader } from "./format.ts";

// `bot-runtime backup`: one REPEATABLE READ, READ ONLY transaction is the snapshot, so a backup taken while
// bots trade holds each order with its audit rows and fills, or neither. Rows are read through a cursor a
// batch at a time and flow through age's encryption into the file as the file takes them: memory holds
// one batch and age's 64 KiB chunk, whatever the size of the tables. The file is written under a temporary
// name in the same folder, flushed, and renamed: a crash or a full volume leaves no half backup under a
// backup's name.

const FETCH_ROWS = 1_000;

export type BackupScopeRequest = { kind: "all" } | { kind: "bot"; namespace: string; name: string };
export type BackupOutput = { file: string } | { dir: string; keep?: number };

export type BackupReport = {
  file: string;
  bytes: number;
  /** The SHA-256 over the plaintext, as recorded in its trailer. */
  sha256: string;
  createdAt: string;
  schemaVersion: number;
  scope: BackupHeader["scope"];
  recipients: number;
  rows: Record<string, number>;
  /** Older backups of the scope removed by `keep`. */
  removed: string[];
};

/** A per-bot backup of a bot no table has a row of. */
export class NothingToBackUp extends Error {
  override name = "NothingToBackUp";
}

/** Refuses an output that cannot be written before any database work. */
export async function checkOutput(output: BackupOutput): Promise<void> {
  const dir = "file" in output ? dirname(resolve(output.file)) : resolve(output.dir);
  const flag = "file" in output ? "--out" : "--out-dir";
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new Error(`${flag}: folder ${dir} does not exist`);
  if ("file" in output) await refuseExisting(resolve(output.file));
}

async function refuseExisting(file: string): Promise<void> {
  if ((await stat(file).catch(() => undefined)) !== undefined) {
    throw new Error(`${file} already exists: a backup never replaces another; choose a new name`);
  }
}

/** The uids of the bot's rows in any table that names its bot (read in the snapshot). */
async function botUids(
  client: pg.ClientBase,
  tables: readonly CatalogTable[],
  bot: { namespace: string; name: string },
): Promise<string[]> {
  const naming = tables.filter((table) =>
    ["bot_uid", "bot_namespace", "bot_name"].every((column) => table.columns.some((c) => c.name === column)),
  );
  if (naming.length === 0) return [];
  const { rows } = await client.query<{ bot_uid: string }>(
    `SELECT DISTINCT bot_uid FROM (${naming
      .map(
        (table) =>
          `SELECT bot_uid FROM ${SCHEMA}.${quoteIdentifier(table.name)} WHERE bot_namespace = $1 AND bot_name = $2`,
      )
      .join(" UNION ")}) AS uids ORDER BY bot_uid`,
    [bot.namespace, bot.name],
  );
  return rows.map((row) => row.bot_uid);
}

/** The backup's plaintext, line by line, read from the open snapshot as the consumer asks for more. */
async function* plaintext(
  client: pg.ClientBase,
  header: BackupHeader,
  tables: readonly CatalogTable[],
  done: (trailer: { sha256: string; rows: Record<string, number> }) => void,
): AsyncGenerator<Uint8Array> {
  const encoder = new BackupEncoder();
  yield encoder.header(header);
  const uids = header.scope.kind === "bot" ? header.scope.uids : undefined;
  for (const table of header.tables) {
    yield encoder.begin(table);
    const primaryKey = tables.find((t) => t.name === table.name)?.primaryKey ?? [];
    const select =
      `SELECT ${table.columns.map((column) => `${quoteIdentifier(column)}::text`).join(", ")}` +
      ` FROM ${SCHEMA}.${quoteIdentifier(table.name)}` +
      // DECLARE takes no bind parameters: the uids (read from the database itself) go in as literals.
      (uids === undefined ? "" : ` WHERE bot_uid IN (${uids.map(quoteLiteral).join(", ")})`) +
      (primaryKey.length === 0 ? "" : ` ORDER BY ${primaryKey.map(quoteIdentifier).join(", ")}`);
    await client.query(`DECLARE backup_rows NO SCROLL CURSOR FOR ${select}`);
    for (;;) {
      const { rows } = await client.query<(string | null)[]>({
        text: `FETCH ${FETCH_ROWS} FROM backup_rows`,
        rowMode: "array",
      });
      if (rows.length > 0) yield Buffer.concat(rows.map((row) => encoder.row(row)));
      if (rows.length < FETCH_ROWS) break;
    }
    await client.query("CLOSE backup_rows");
    yield encoder.end();
  }
  const trailer = encoder.trailer();
  done(trailer);
  yield trailer.bytes;
}

export async function writeBackup(
  client: pg.ClientBase,
  request: { scope: BackupScopeRequest; recipients: readonly string[]; output: BackupOutput },
): Promise<BackupReport> {
  await checkOutput(request.output);
  const encrypter = new Encrypter();
  for (const recipient of request.recipients) encrypter.addRecipient(recipient);
  let temp: string | undefined;
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  try {
    // Text forms that read back the same anywhere: times in UTC, ISO dates.
    await client.query("SET LOCAL TimeZone = 'UTC'");
    await client.query("SET LOCAL DateStyle = 'ISO, YMD'");
    await client.query("SET LOCAL IntervalStyle = 'postgres'");
    await client.query("SET LOCAL extra_float_digits = 3");
    // The first query takes the snapshot every later one reads.
    const snapshot = await client.query<{ created: Date; server: string }>(
      "SELECT now() AS created, current_setting('server_version') AS server",
    );
    const migrations = await readMigrations(client);
    if (migrations.length === 0) {
      throw new Error(`the database has no ${SCHEMA} schema: nothing to back up (has migrate run?)`);
    }
    const tables = await readTables(client);
    let scope: BackupHeader["scope"] = { kind: "all" };
    if (request.scope.kind === "bot") {
      const { namespace, name } = request.scope;
      const uids = await botUids(client, tables, request.scope);
      if (uids.length === 0) throw new NothingToBackUp(`no rows of bot ${namespace}/${name} in any table`);
      const keyless = tables.find((table) => !table.columns.some((column) => column.name === "bot_uid"));
      if (keyless !== undefined) {
        throw new Error(
          `table ${SCHEMA}.${keyless.name} has no bot_uid column: a per-bot backup cannot select its rows; back up the whole schema`,
        );
      }
      scope = { kind: "bot", namespace, name, uids };
    }
    const createdAt = (snapshot.rows[0]?.created ?? new Date()).toISOString();
    const header: BackupHeader = {
      format: BACKUP_FORMAT,
      formatVersion: BACKUP_FORMAT_VERSION,
      createdAt,
      schema: SCHEMA,
      schemaVersion: migrations.at(-1)?.version ?? 0,
      migrations,
      scope,
      tables: tables.map((table) => ({
        name: table.name,
        columns: table.columns.map((column) => column.name),
      })),
      server: snapshot.rows[0]?.server ?? "",
    };
    const file =
      "file" in request.output
        ? resolve(request.output.file)
        : join(resolve(request.output.dir), backupFileName(scope, createdAt));
    await refuseExisting(file);
    temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString("hex")}.partial`);
    let trailer: { sha256: string; rows: Record<string, number> } | undefined;
    const encrypted = await encrypter.encrypt(
      ReadableStream.from(
        plaintext(client, header, tables, (written) => {
          trailer = written;
        }),
      ),
    );
    const handle = await open(temp, "wx", 0o600);
    // flush: the data reaches the disk before the rename makes it a backup.
    await pipeline(Readable.fromWeb(encrypted), handle.createWriteStream({ flush: true }));
    if (trailer === undefined) throw new Error("the backup stream ended before its trailer");
    await client.query("COMMIT");
    const bytes = (await stat(temp)).size;
    await rename(temp, file);
    temp = undefined;
    await syncFolder(dirname(file));
    const removed = await removeOlder(request.output, scope);
    return {
      file,
      bytes,
      sha256: trailer.sha256,
      createdAt,
      schemaVersion: header.schemaVersion,
      scope,
      recipients: request.recipients.length,
      rows: trailer.rows,
      removed,
    };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    if (temp !== undefined) await rm(temp, { force: true });
  }
}

/** Makes the rename durable; some volume types cannot sync a folder, and then the rename stands as is. */
async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, "r").catch(() => undefined);
  if (handle === undefined) return;
  await handle.sync().catch(() => {});
  await handle.close();
}

async function removeOlder(output: BackupOutput, scope: BackupHeader["scope"]): Promise<string[]> {
  if (!("dir" in output) || output.keep === undefined) return [];
  const dir = resolve(output.dir);
  const remove = backupsToRemove(await readdir(dir), scope, output.keep);
  for (const name of remove) await rm(join(dir, name), { force: true });
  return remove;
}
