import { createReadStream } from "node:fs";
import { access, constants } from "node:fs/promises";
import { Readable } from "node:stream";
import { Decrypter } from "age-encryption";
import type pg from "pg";
import { SCHEMA } from "../store/database.ts";
import { quoteIdentifier } from "../store/migrate.ts";
import { explainDecryptionFailure } from "./age-keys.ts";
import { readMigrations, readTables } from "./catalog.ts";
import { type BackupEvent, type BackupHeader, BackupReader, BackupRefused, LineSplitter } from "./format.ts";
import { planRestore, RestoreRefused, type TableRestore } from "./restore-plan.ts";

// `bot-runtime restore`: decrypts the backup as a stream and checks it line by line (format.ts) while its
// rows go into the target in batches, all in one transaction that commits only after the trailer's counts
// and checksum have been checked: a backup that fails any check anywhere leaves the database as it was.
// Memory holds one batch (at most BATCH_BYTES of rows) and age's 64 KiB chunk; PostgreSQL holds the
// uncommitted rows until the commit.

const BATCH_ROWS = 5_000;
const BATCH_BYTES = 4 * 1024 * 1024;
/** How long to wait for the tables while something else writes to them before giving up. */
const LOCK_TIMEOUT = "10s";

/** The commit was sent and its answer lost: the rows may or may not be in. */
export class CommitUncertain extends Error {
  override name = "CommitUncertain";
}

export type RestoreReport = {
  header: BackupHeader;
  rows: Record<string, number>;
  notes: readonly string[];
};

/** The backup's events, decrypted and checked as they are read; ends only after the trailer checked out. */
export async function* readBackup(path: string, identities: readonly string[]): AsyncGenerator<BackupEvent> {
  await access(path, constants.R_OK).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`--in ${path}: cannot read the backup (${error.code ?? "error"})`);
  });
  const decrypter = new Decrypter();
  for (const identity of identities) decrypter.addIdentity(identity);
  const file = createReadStream(path);
  try {
    const plaintext = await decrypter.decrypt(Readable.toWeb(file) as ReadableStream<Uint8Array>);
    const splitter = new LineSplitter();
    const reader = new BackupReader();
    for await (const chunk of plaintext) {
      for (const line of splitter.push(chunk)) yield reader.read(line);
    }
    splitter.end();
    reader.finish();
  } catch (error) {
    throw explainDecryptionFailure(error);
  } finally {
    file.destroy();
  }
}

/** The backup's header: the first event, read before any database work (a wrong identity fails here). */
export async function readHeader(events: AsyncGenerator<BackupEvent>): Promise<BackupHeader> {
  const first = await events.next();
  if (first.done || first.value.kind !== "header") throw new BackupRefused("the backup is empty");
  return first.value.header;
}

/** Reads the whole backup and checks it, without a database: what `restore --check-only` does. */
export async function checkBackup(
  header: BackupHeader,
  events: AsyncGenerator<BackupEvent>,
): Promise<RestoreReport> {
  const rows: Record<string, number> = {};
  for await (const event of events) if (event.kind === "end") rows[event.table] = event.rows;
  return { header, rows, notes: [] };
}

/** Restores the rest of the backup whose header was read; runs as the schema's owner (the migration role). */
export async function restoreBackup(
  client: pg.ClientBase,
  header: BackupHeader,
  events: AsyncGenerator<BackupEvent>,
): Promise<RestoreReport> {
  await client.query("BEGIN");
  try {
    await client.query("SET LOCAL TimeZone = 'UTC'");
    await client.query("SET LOCAL DateStyle = 'ISO, YMD'");
    await client.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
    const migrations = await readMigrations(client);
    const tables = await readTables(client);
    // Nothing may write to the tables between the check that they are empty and the commit.
    if (tables.length > 0) {
      await client
        .query(
          `LOCK TABLE ${tables.map((table) => `${SCHEMA}.${quoteIdentifier(table.name)}`).join(", ")} IN SHARE ROW EXCLUSIVE MODE`,
        )
        .catch((error: { code?: string }) => {
          if (error.code !== "55P03") throw error;
          throw new RestoreRefused(
            `the ${SCHEMA} tables stayed locked for ${LOCK_TIMEOUT}: something is writing to this database; stop the bots that use it, then restore`,
          );
        });
    }
    const occupied: string[] = [];
    for (const table of tables) {
      const scoped = header.scope.kind === "bot" && table.columns.some((column) => column.name === "bot_uid");
      if (header.scope.kind === "bot" && !scoped) continue;
      const { rows } = await client.query<{ any: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM ${SCHEMA}.${quoteIdentifier(table.name)}${scoped ? " WHERE bot_uid = ANY($1::text[])" : ""}) AS any`,
        scoped && header.scope.kind === "bot" ? [header.scope.uids] : [],
      );
      if (rows[0]?.any) occupied.push(table.name);
    }
    const plan = planRestore(header, {
      schemaVersion: migrations.at(-1)?.version ?? 0,
      migrations,
      tables,
      occupied,
    });

    const rows: Record<string, number> = {};
    let batch: string[] = [];
    let batchBytes = 0;
    const flush = async (table: TableRestore) => {
      if (batch.length === 0) return;
      const result = await client.query(table.insert, [
        `[${batch.join(",")}]`,
        ...(table.uids === undefined ? [] : [table.uids]),
      ]);
      if (result.rowCount !== batch.length) {
        throw new BackupRefused(
          `table ${SCHEMA}.${table.table} of the per-bot backup holds rows of another bot: the backup is inconsistent`,
        );
      }
      batch = [];
      batchBytes = 0;
    };
    let current: TableRestore | undefined;
    for await (const event of events) {
      switch (event.kind) {
        case "begin":
          current = plan.tables.get(event.table);
          break;
        case "row":
          // The reader lets a row through only between a table's begin and end.
          if (current === undefined) break;
          batch.push(event.json);
          batchBytes += event.json.length;
          if (batch.length >= BATCH_ROWS || batchBytes >= BATCH_BYTES) await flush(current);
          break;
        case "end":
          if (current !== undefined) await flush(current);
          rows[event.table] = event.rows;
          current = undefined;
          break;
        default:
          break;
      }
    }
    // Only here has the trailer been checked: the whole backup is what was written.
    for (const statement of plan.sequenceResets) await client.query(statement);
    await client.query("COMMIT").catch((error: Error) => {
      throw new CommitUncertain(
        `the answer to the commit was lost (${error.message}): the restore may or may not be in; count the rows of the tables before restoring again`,
      );
    });
    return { header, rows, notes: plan.notes };
  } catch (error) {
    if (!(error instanceof CommitUncertain)) await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    await events.return(undefined);
  }
}
