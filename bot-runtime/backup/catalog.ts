import type pg from "pg";
import { SCHEMA } from "../store/database.ts";
import { schemaVersion } from "../store/migrate.ts";
import type { MigrationRecord } from "./format.ts";

// What backup and restore read from PostgreSQL's catalog about the trading schema: its tables and their
// columns (from the catalog, so a table a later migration adds is backed up without a change here), and
// the migrations applied. schema_migrations itself is not data: `migrate` writes it on the target.

export type CatalogColumn = {
  name: string;
  /** format_type(): what a text value is cast to on restore. */
  type: string;
  /** The sequence behind a serial or identity column, schema-qualified; null for other columns. */
  sequence: string | null;
  /** pg_attribute.attidentity: "a" (ALWAYS), "d" (BY DEFAULT) or "" (not an identity column). */
  identity: string;
};

export type CatalogTable = { name: string; columns: CatalogColumn[]; primaryKey: string[] };

export const MIGRATIONS_TABLE = "schema_migrations";

/** The schema's ordinary tables (schema_migrations left out) in name order; generated columns left out. */
export async function readTables(client: pg.ClientBase): Promise<CatalogTable[]> {
  const { rows } = await client.query<{
    table: string;
    column: string;
    type: string;
    sequence: string | null;
    identity: string;
    pk_position: number | null;
  }>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
            pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) AS sequence,
            a.attidentity::text AS identity,
            array_position(i.indkey::int2[], a.attnum) AS pk_position
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
      WHERE n.nspname = $1 AND c.relkind = 'r' AND NOT c.relispartition AND a.attgenerated = ''
        AND c.relname <> $2
      ORDER BY c.relname, a.attnum`,
    [SCHEMA, MIGRATIONS_TABLE],
  );
  const tables = new Map<string, CatalogTable & { keyed: { column: string; position: number }[] }>();
  for (const row of rows) {
    let table = tables.get(row.table);
    if (table === undefined) {
      table = { name: row.table, columns: [], primaryKey: [], keyed: [] };
      tables.set(row.table, table);
    }
    table.columns.push({ name: row.column, type: row.type, sequence: row.sequence, identity: row.identity });
    if (row.pk_position !== null) table.keyed.push({ column: row.column, position: row.pk_position });
  }
  return [...tables.values()].map(({ keyed, ...table }) => ({
    ...table,
    primaryKey: keyed.sort((a, b) => a.position - b.position).map(({ column }) => column),
  }));
}

/** The applied migrations, oldest first (none when the schema was never migrated). */
export async function readMigrations(client: pg.ClientBase): Promise<MigrationRecord[]> {
  if ((await schemaVersion(client)) === 0) return [];
  const { rows } = await client.query<MigrationRecord>(
    `SELECT version, name, checksum FROM ${SCHEMA}.${MIGRATIONS_TABLE} ORDER BY version`,
  );
  return rows;
}
