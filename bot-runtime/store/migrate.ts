import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { SCHEMA } from "./database.ts";

// `bot-runtime migrate`: applies the SQL files of migrations/ in version order, each in its own
// transaction, under an advisory lock (many bots' init steps may run at once against one database), and
// records each with its checksum; an applied file that changed is an error, not a silent re-run. Then it
// (re)grants the trading role exactly what the runtime needs, and the console's and the backup's roles read
// access only, so a re-run also repairs drifted grants.

export type Migration = { version: number; name: string; sql: string; checksum: string };

const MIGRATION_FILE = /^([0-9]{4})_([a-z0-9_]+)\.sql$/;
const MIGRATION_LOCK_KEY = 7_202_605_211; // any constant shared by every runtime version

/** The migrations folder beside this module or the bundle (`npm run build` copies the .sql files). */
export function migrationsDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "migrations");
}

export function loadMigrations(dir = migrationsDir()): Migration[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith(".sql"))
    .map((file) => {
      const match = MIGRATION_FILE.exec(file);
      if (match === null) throw new Error(`migration file ${file} is not named NNNN_name.sql`);
      const sql = readFileSync(join(dir, file), "utf8");
      return {
        version: Number(match[1]),
        name: match[2] as string,
        sql,
        checksum: createHash("sha256").update(sql).digest("hex"),
      };
    })
    .sort((a, b) => a.version - b.version);
}

export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.at(-1)?.version ?? 0;
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * The trading role's privileges, and nothing more: it records orders, fills, snapshots, risk events and
 * state, prunes them by retention, and may only append to and read the audit log and its risk latches.
 */
export function tradingRoleGrants(role: string): string[] {
  const r = quoteIdentifier(role);
  const s = SCHEMA;
  return [
    `GRANT USAGE ON SCHEMA ${s} TO ${r}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ${s}.orders TO ${r}`,
    `GRANT SELECT, INSERT, DELETE ON ${s}.fills, ${s}.snapshots, ${s}.risk_events TO ${r}`,
    `GRANT SELECT, INSERT, UPDATE ON ${s}.bot_state TO ${r}`,
    `REVOKE ALL ON ${s}.risk_latches FROM ${r}`,
    `GRANT SELECT, INSERT ON ${s}.risk_latches TO ${r}`,
    `REVOKE ALL ON ${s}.audit_log FROM ${r}`,
    `GRANT SELECT, INSERT ON ${s}.audit_log TO ${r}`,
    `REVOKE ALL ON ${s}.audit_prune, ${s}.schema_migrations FROM ${r}`,
    `GRANT SELECT ON ${s}.audit_prune, ${s}.schema_migrations TO ${r}`,
    `GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${s} TO ${r}`,
    `GRANT EXECUTE ON FUNCTION ${s}.prune_audit_log(text, integer) TO ${r}`,
  ];
}

/** The tables the console reads for a bot's page (bot_state, the strategy's memory, is not among them). */
export const CONSOLE_READABLE_TABLES = [
  "orders",
  "fills",
  "snapshots",
  "risk_events",
  "risk_latches",
  "audit_log",
  "audit_prune",
  "schema_migrations",
] as const;

/**
 * The console's role reads and never writes: whatever it held before is revoked (a re-run repairs a
 * drifted grant), then it gets USAGE on the schema and SELECT on the tables of a bot's page. No sequence,
 * no function, no CREATE on the schema.
 */
export function consoleRoleGrants(role: string): string[] {
  const r = quoteIdentifier(role);
  const s = SCHEMA;
  return [
    `REVOKE ALL ON ALL TABLES IN SCHEMA ${s} FROM ${r}`,
    `REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${s} FROM ${r}`,
    `REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ${s} FROM ${r}`,
    `REVOKE ALL ON SCHEMA ${s} FROM ${r}`,
    `GRANT USAGE ON SCHEMA ${s} TO ${r}`,
    `GRANT SELECT ON ${CONSOLE_READABLE_TABLES.map((table) => `${s}.${table}`).join(", ")} TO ${r}`,
  ];
}

/**
 * The backup's role reads every table of the schema and writes nothing: whatever it held before is revoked,
 * then it gets USAGE on the schema and SELECT on all its tables, and on the tables this (the migration) role
 * creates later: a migration applied by a bot's init step, which names no backup role, leaves no table the
 * next backup cannot read. No sequence, no function, no CREATE. `bot-runtime backup` needs no more; restore
 * runs as the schema's owner.
 */
export function backupRoleGrants(role: string): string[] {
  const r = quoteIdentifier(role);
  const s = SCHEMA;
  return [
    `REVOKE ALL ON ALL TABLES IN SCHEMA ${s} FROM ${r}`,
    `REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${s} FROM ${r}`,
    `REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ${s} FROM ${r}`,
    `REVOKE ALL ON SCHEMA ${s} FROM ${r}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} REVOKE ALL ON TABLES FROM ${r}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} REVOKE ALL ON SEQUENCES FROM ${r}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} REVOKE ALL ON FUNCTIONS FROM ${r}`,
    `GRANT USAGE ON SCHEMA ${s} TO ${r}`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA ${s} TO ${r}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT SELECT ON TABLES TO ${r}`,
  ];
}

export type TradingRole = { name: string; password?: string };
/** The console's read-only role: named by `--console-role`, or the `user` of `--console-credentials`. */
export type ConsoleRole = { name: string; password?: string };
/** The backup's read-only role: named by `--backup-role`, or the `user` of `--backup-credentials`. */
export type BackupRole = { name: string; password?: string };

export type MigrationReport = {
  applied: number[];
  current: number;
  grantedTo?: string;
  createdRole?: string;
  readOnlyTo?: string;
  createdConsoleRole?: string;
  backupReadOnlyTo?: string;
  createdBackupRole?: string;
};

export async function migrate(
  client: pg.Client,
  migrations: readonly Migration[],
  tradingRole: TradingRole | undefined,
  consoleRole?: ConsoleRole,
  backupRole?: BackupRole,
): Promise<MigrationReport> {
  await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
    await client.query(`REVOKE ALL ON SCHEMA ${SCHEMA} FROM PUBLIC`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${SCHEMA}.schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ version: number; checksum: string }>(
      `SELECT version, checksum FROM ${SCHEMA}.schema_migrations`,
    );
    const applied = new Map(rows.map((row) => [row.version, row.checksum]));
    const newlyApplied: number[] = [];
    for (const migration of migrations) {
      const checksum = applied.get(migration.version);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) {
          throw new Error(
            `migration ${migration.version}_${migration.name} was applied with checksum ${checksum} but the file now has ${migration.checksum}: applied migrations must not change; add a new one`,
          );
        }
        continue;
      }
      await client.query("BEGIN");
      try {
        await client.query(migration.sql);
        await client.query(
          `INSERT INTO ${SCHEMA}.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`,
          [migration.version, migration.name, migration.checksum],
        );
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw new Error(
          `migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
      newlyApplied.push(migration.version);
    }
    const report: MigrationReport = { applied: newlyApplied, current: latestVersion(migrations) };
    if (tradingRole !== undefined) {
      const created = await ensureRole(client, tradingRole, "--trading-credentials");
      for (const statement of tradingRoleGrants(tradingRole.name)) await client.query(statement);
      report.grantedTo = tradingRole.name;
      if (created) report.createdRole = tradingRole.name;
    }
    if (consoleRole !== undefined) {
      const created = await ensureRole(client, consoleRole, "--console-credentials");
      for (const statement of consoleRoleGrants(consoleRole.name)) await client.query(statement);
      report.readOnlyTo = consoleRole.name;
      if (created) report.createdConsoleRole = consoleRole.name;
    }
    if (backupRole !== undefined) {
      const created = await ensureRole(client, backupRole, "--backup-credentials");
      for (const statement of backupRoleGrants(backupRole.name)) await client.query(statement);
      report.backupReadOnlyTo = backupRole.name;
      if (created) report.createdBackupRole = backupRole.name;
    }
    return report;
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
  }
}

/** Creates a role when it is missing and its password is known (needs CREATEROLE). */
async function ensureRole(
  client: pg.Client,
  role: { name: string; password?: string },
  credentialsFlag: string,
): Promise<boolean> {
  const { rowCount } = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role.name]);
  if (rowCount !== 0) return false;
  if (role.password === undefined) {
    throw new Error(
      `role ${JSON.stringify(role.name)} does not exist: create it (CREATE ROLE ${quoteIdentifier(role.name)} LOGIN PASSWORD '...') or pass ${credentialsFlag} with its Secret so migrate can`,
    );
  }
  // The server receives a SCRAM verifier, never the password itself (it would land in statement logs).
  await client.query(
    `CREATE ROLE ${quoteIdentifier(role.name)} LOGIN PASSWORD ${quoteLiteral(scramVerifier(role.password))}`,
  );
  return true;
}

/** A SCRAM-SHA-256 password verifier in PostgreSQL's stored format (RFC 5802, as libpq's PQencryptPasswordConn). */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

/** The schema version the database is at (0 when never migrated). */
export async function schemaVersion(client: pg.ClientBase | pg.Pool): Promise<number> {
  const exists = await client.query<{ table: string | null }>(
    `SELECT to_regclass('${SCHEMA}.schema_migrations')::text AS table`,
  );
  if (exists.rows[0]?.table == null) return 0;
  const { rows } = await client.query<{ version: number }>(
    `SELECT coalesce(max(version), 0) AS version FROM ${SCHEMA}.schema_migrations`,
  );
  return rows[0]?.version ?? 0;
}
