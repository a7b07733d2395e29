// First: age is loaded with V8's optimising compilers on (see backup/v8-settings.ts).
import "../backup/v8-settings.ts";
import { readFileSync } from "node:fs";
import pg from "pg";
import { identitiesFromFile } from "../backup/age-keys.ts";
import { BackupRefused } from "../backup/format.ts";
import {
  CommitUncertain,
  checkBackup,
  type RestoreReport,
  readBackup,
  readHeader,
  restoreBackup,
} from "../backup/restore.ts";
import { RestoreRefused } from "../backup/restore-plan.ts";
import { longSessionConfig } from "../backup/session.ts";
import { readDatabaseCredentials } from "../config/credentials.ts";
import type { Logger } from "../observability/logger.ts";
import type { RestoreFlags } from "./flags.ts";

// `bot-runtime restore`, run as the schema's owner (the migration role's Secret): it inserts into every
// table, audit log included, and sets the sequences, which only the owner may. With --check-only it
// decrypts and checks the backup without a database. Exits 0 when restored (or checked), 1 when the backup
// or the target is refused or the restore failed (nothing is written then), 2 when its flags, identity
// file or credentials are unusable.

export async function runRestore(
  flags: RestoreFlags,
  log: Logger,
  registerSecret: (value: string) => void,
): Promise<number> {
  let identities: string[];
  let credentials: ReturnType<typeof readDatabaseCredentials> | undefined;
  try {
    identities = identitiesFromFile(readIdentityFile(flags.identityFile), flags.identityFile);
    for (const identity of identities) registerSecret(identity);
    if (flags.databaseCredentials !== undefined) {
      credentials = readDatabaseCredentials(flags.databaseCredentials);
      registerSecret(credentials.password);
    }
  } catch (error) {
    log.error({ event: "restore_failed" }, `restore not started: ${(error as Error).message}`);
    return 2;
  }
  const events = readBackup(flags.input, identities);
  let client: pg.Client | undefined;
  const started = performance.now();
  try {
    const header = await readHeader(events);
    let report: RestoreReport;
    if (credentials === undefined) {
      report = await checkBackup(header, events);
    } else {
      client = new pg.Client(longSessionConfig(credentials, "bot-runtime restore"));
      client.on("error", () => {});
      await client.connect();
      report = await restoreBackup(client, header, events);
    }
    const seconds = Number(((performance.now() - started) / 1000).toFixed(2));
    const rows = Object.values(report.rows).reduce((sum, count) => sum + count, 0);
    const scope =
      header.scope.kind === "all"
        ? "the whole schema"
        : `bot ${header.scope.namespace}/${header.scope.name} (uid ${header.scope.uids.join(", ")})`;
    for (const note of report.notes) log.warn({ event: "restore_note" }, note);
    log.info(
      {
        event: credentials === undefined ? "backup_checked" : "restored",
        file: flags.input,
        scope: header.scope,
        createdAt: header.createdAt,
        schemaVersion: header.schemaVersion,
        rows: report.rows,
        seconds,
      },
      `${credentials === undefined ? "backup checked" : "restored"}: ${scope}, schema version ${header.schemaVersion}, snapshot ${header.createdAt}, ${rows} rows in ${Object.keys(report.rows).length} tables, counts and checksums match (${seconds} s)`,
    );
    return 0;
  } catch (error) {
    if (error instanceof BackupRefused || error instanceof RestoreRefused) {
      log.error({ event: "restore_refused" }, `restore refused: ${error.message}; nothing was written`);
      return 1;
    }
    log.error(
      { event: "restore_failed", err: error },
      `restore failed: ${(error as Error).message}${error instanceof CommitUncertain ? "" : "; nothing was written"}`,
    );
    return 1;
  } finally {
    await events.return(undefined);
    await client?.end().catch(() => {});
  }
}

/** The identity file's text; a read error names the file, never its content. */
function readIdentityFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(
      `cannot read --identity-file ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
}
