import { SCHEMA } from "../store/database.ts";
import { quoteIdentifier, quoteLiteral } from "../store/migrate.ts";
import type { CatalogTable } from "./catalog.ts";
import type { BackupHeader, MigrationRecord } from "./format.ts";

// Whether a backup may go into a database, and the statements that put it there. Decided from the backup's
// header and what the target's catalog says, before a row is read:
// - the target must be migrated, to the backup's schema version or a newer one, with the same migration
//   files (checksums) up to the backup's version;
// - every table and column of the backup must exist in the target;
// - the tables of the scope must be empty: every table for a whole backup; no row of the bot's uids for a
//   per-bot backup.
// A whole backup keeps its ids, and each sequence is set past the largest restored id. A per-bot backup
// goes into a database other bots may share: its serial ids are left to the target's sequences (rows are
// inserted in id order, so their order is kept; nothing refers to them), and only rows of its uids are
// accepted.

export class RestoreRefused extends Error {
  override name = "RestoreRefused";
}

export type RestoreTarget = {
  schemaVersion: number;
  migrations: readonly MigrationRecord[];
  tables: readonly CatalogTable[];
  /** Tables already holding rows of the backup's scope, in table order. */
  occupied: readonly string[];
};

export type TableRestore = {
  table: string;
  /** Takes $1, a JSON array of backup rows (each an array of text values); for a per-bot backup also $2. */
  insert: string;
  /** The uids a per-bot backup's rows must carry ($2); undefined for a whole backup. */
  uids?: readonly string[];
};

export type RestorePlan = {
  tables: ReadonlyMap<string, TableRestore>;
  /** Run after the last row: set each sequence past the restored ids. */
  sequenceResets: readonly string[];
  /** What the operator should know (an older backup into a newer schema). */
  notes: readonly string[];
};

const qualified = (table: string) => `${SCHEMA}.${quoteIdentifier(table)}`;
/** A table as messages name it (the schema's table names need no quotes). */
const named = (table: string) => `${SCHEMA}.${table}`;

function scopeText(header: BackupHeader): string {
  return header.scope.kind === "all"
    ? "the whole schema"
    : `bot ${header.scope.namespace}/${header.scope.name} (uid ${header.scope.uids.join(", ")})`;
}

export function planRestore(header: BackupHeader, target: RestoreTarget): RestorePlan {
  if (target.schemaVersion === 0) {
    throw new RestoreRefused(
      `the database has no ${SCHEMA} schema: run \`bot-runtime migrate\` against it first, then restore`,
    );
  }
  if (header.schemaVersion > target.schemaVersion) {
    throw new RestoreRefused(
      `the backup is of schema version ${header.schemaVersion}, newer than this database's ${target.schemaVersion}: migrate the database with a bot-runtime at least as new as the one that wrote the backup, then restore`,
    );
  }
  const applied = new Map(target.migrations.map((migration) => [migration.version, migration]));
  for (const migration of header.migrations) {
    const there = applied.get(migration.version);
    if (there?.checksum !== migration.checksum) {
      throw new RestoreRefused(
        `the backup was written after migration ${migration.version}_${migration.name} (checksum ${migration.checksum}), which this database ${there === undefined ? "never applied" : `applied with checksum ${there.checksum}`}: not the same schema`,
      );
    }
  }
  const targetTables = new Map(target.tables.map((table) => [table.name, table]));
  const scope = header.scope;
  const plans = new Map<string, TableRestore>();
  const sequenceResets: string[] = [];
  for (const backupTable of header.tables) {
    const table = targetTables.get(backupTable.name);
    if (table === undefined) {
      throw new RestoreRefused(`table ${named(backupTable.name)} of the backup is not in this database`);
    }
    const columns = new Map(table.columns.map((column) => [column.name, column]));
    const values: { name: string; cast: string }[] = [];
    let identity = false;
    for (const [index, name] of backupTable.columns.entries()) {
      const column = columns.get(name);
      if (column === undefined) {
        throw new RestoreRefused(
          `column ${name} of table ${named(backupTable.name)} in the backup is not in this database`,
        );
      }
      // A per-bot backup's ids would collide with the rows of other bots: the target numbers them.
      if (scope.kind === "bot" && column.sequence !== null) continue;
      values.push({ name: quoteIdentifier(name), cast: `(r->>${index})::${column.type}` });
      if (column.identity !== "") identity = true;
      if (scope.kind === "all" && column.sequence !== null) {
        const max = `(SELECT max(${quoteIdentifier(name)}) FROM ${qualified(backupTable.name)})`;
        sequenceResets.push(
          `SELECT setval(${quoteLiteral(column.sequence)}::regclass, coalesce(${max}, 1), ${max} IS NOT NULL)`,
        );
      }
    }
    let where = "";
    if (scope.kind === "bot") {
      const uidIndex = backupTable.columns.indexOf("bot_uid");
      if (uidIndex < 0) {
        throw new RestoreRefused(
          `table ${named(backupTable.name)} of a per-bot backup has no bot_uid column: the backup is inconsistent`,
        );
      }
      where = ` WHERE r->>${uidIndex} = ANY($2::text[])`;
    }
    plans.set(backupTable.name, {
      table: backupTable.name,
      insert:
        `INSERT INTO ${qualified(backupTable.name)} (${values.map((value) => value.name).join(", ")})` +
        `${identity ? " OVERRIDING SYSTEM VALUE" : ""}` +
        ` SELECT ${values.map((value) => value.cast).join(", ")}` +
        // In the backup's order (its primary key's), so ids the target assigns keep the rows' order.
        ` FROM json_array_elements($1::json) WITH ORDINALITY AS e(r, n)${where} ORDER BY n`,
      ...(scope.kind === "bot" ? { uids: scope.uids } : {}),
    });
  }
  const occupied = target.occupied[0];
  if (occupied !== undefined) {
    throw new RestoreRefused(
      `table ${named(occupied)} already holds rows${scope.kind === "all" ? "" : ` of ${scopeText(header)}`}: a restore goes only into empty tables (${scope.kind === "all" ? "a database where only `bot-runtime migrate` has run" : "no row of the bot's uids"})`,
    );
  }
  const notes =
    header.schemaVersion < target.schemaVersion
      ? [
          `the backup is of schema version ${header.schemaVersion} and this database is at ${target.schemaVersion}: columns added since take their defaults, tables added since stay empty`,
        ]
      : [];
  return { tables: plans, sequenceResets, notes };
}
