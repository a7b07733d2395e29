// First: age is loaded with V8's optimising compilers on (see backup/v8-settings.ts).
import "../backup/v8-settings.ts";
import { readFileSync } from "node:fs";
import pg from "pg";
import { checkRecipients, recipientsFromFile } from "../backup/age-keys.ts";
import { checkOutput, NothingToBackUp, writeBackup } from "../backup/backup.ts";
import { longSessionConfig } from "../backup/session.ts";
import { readDatabaseCredentials } from "../config/credentials.ts";
import type { Logger } from "../observability/logger.ts";
import type { BackupFlags } from "./flags.ts";

// `bot-runtime backup`, run as the backup's read-only role (a CronJob of the chart, or by hand). Exits 0
// when the backup is written, 1 when it failed (nothing is left under the backup's name), 2 when its
// flags, recipients or credentials are unusable (before the database is asked anything).

export async function runBackup(
  flags: BackupFlags,
  log: Logger,
  registerSecret: (value: string) => void,
): Promise<number> {
  let recipients: string[];
  let credentials: ReturnType<typeof readDatabaseCredentials>;
  try {
    credentials = readDatabaseCredentials(flags.databaseCredentials);
    registerSecret(credentials.password);
    const fromFile =
      flags.recipientsFile === undefined
        ? []
        : recipientsFromFile(readRecipientsFile(flags.recipientsFile), flags.recipientsFile);
    recipients = checkRecipients([
      ...flags.recipients.map((value, index) => ({ value, source: `--recipient #${index + 1}` })),
      ...fromFile,
    ]);
    await checkOutput(flags.output);
  } catch (error) {
    log.error({ event: "backup_failed" }, `backup not started: ${(error as Error).message}`);
    return 2;
  }
  const client = new pg.Client(longSessionConfig(credentials, "bot-runtime backup"));
  // A connection lost mid-backup fails the next query; the event itself must not end the process.
  client.on("error", () => {});
  const started = performance.now();
  try {
    await client.connect();
    const report = await writeBackup(client, {
      scope: flags.bot === undefined ? { kind: "all" } : { kind: "bot", ...flags.bot },
      recipients,
      output: flags.output,
    });
    const seconds = Number(((performance.now() - started) / 1000).toFixed(2));
    const rows = Object.values(report.rows).reduce((sum, count) => sum + count, 0);
    log.info(
      { event: "backup_written", ...report, seconds },
      `backup of ${report.scope.kind === "all" ? "the whole schema" : `bot ${report.scope.namespace}/${report.scope.name}`} (schema version ${report.schemaVersion}, snapshot ${report.createdAt}) written to ${report.file}: ${rows} rows, ${report.bytes} bytes, in ${seconds} s`,
    );
    return 0;
  } catch (error) {
    if (error instanceof NothingToBackUp) {
      log.error({ event: "backup_failed" }, `backup not written: ${error.message}`);
      return 1;
    }
    log.error({ event: "backup_failed", err: error }, `backup failed: ${(error as Error).message}`);
    return 1;
  } finally {
    await client.end().catch(() => {});
  }
}

function readRecipientsFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(
      `cannot read --recipients-file ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
}
