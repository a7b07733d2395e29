import { existsSync } from "node:fs";
import pg from "pg";
import { BOT_CONTAINER_PATHS } from "../../api/v1alpha1/runtime-config.ts";
import { CredentialsError, readDatabaseCredentials } from "../config/credentials.ts";
import type { Logger } from "../observability/logger.ts";
import { isConnectionError, poolConfig } from "../store/database.ts";
import {
  type BackupRole,
  type ConsoleRole,
  loadMigrations,
  migrate,
  type TradingRole,
} from "../store/migrate.ts";
import type { MigrateFlags } from "./flags.ts";

// `bot-runtime migrate`, run with the privileged role (the init step of a bot pod, or by hand). Which role
// to grant the runtime's privileges to: --grant-to ROLE, or the `user` of the trading role's Secret given
// with --trading-credentials DIR (then a missing role is created with that Secret's password), or by
// default the bot's database Secret where the operator mounts it, when that folder exists. The console's
// read-only role likewise: --console-role ROLE, or the `user` of --console-credentials DIR; and the
// backup's: --backup-role ROLE, or the `user` of --backup-credentials DIR.

const CONNECT_ATTEMPTS = 30;

export async function runMigrate(
  flags: MigrateFlags,
  log: Logger,
  registerSecret: (value: string) => void,
): Promise<number> {
  let tradingRole: TradingRole | undefined;
  let consoleRole: ConsoleRole | undefined;
  let backupRole: BackupRole | undefined;
  let client: pg.Client | undefined;
  try {
    const credentials = readDatabaseCredentials(flags.databaseCredentials);
    registerSecret(credentials.password);
    const tradingDir =
      flags.tradingCredentials ??
      (flags.grantTo === undefined && existsSync(BOT_CONTAINER_PATHS.databaseCredentialsDir)
        ? BOT_CONTAINER_PATHS.databaseCredentialsDir
        : undefined);
    if (flags.grantTo !== undefined) {
      tradingRole = { name: flags.grantTo };
    } else if (tradingDir !== undefined) {
      const trading = readDatabaseCredentials(tradingDir);
      registerSecret(trading.password);
      tradingRole = { name: trading.user, password: trading.password };
    }
    if (flags.consoleRole !== undefined) {
      consoleRole = { name: flags.consoleRole };
    } else if (flags.consoleCredentials !== undefined) {
      const reader = readDatabaseCredentials(flags.consoleCredentials);
      registerSecret(reader.password);
      consoleRole = { name: reader.user, password: reader.password };
    }
    if (flags.backupRole !== undefined) {
      backupRole = { name: flags.backupRole };
    } else if (flags.backupCredentials !== undefined) {
      const reader = readDatabaseCredentials(flags.backupCredentials);
      registerSecret(reader.password);
      backupRole = { name: reader.user, password: reader.password };
    }
    if (
      backupRole !== undefined &&
      [credentials.user, tradingRole?.name, consoleRole?.name].includes(backupRole.name)
    ) {
      log.error(
        { event: "migrate_failed" },
        `the backup's role (${backupRole.name}) must be a role of its own, neither the migration, the trading nor the console's role: it gets read access only`,
      );
      return 2;
    }
    if (consoleRole !== undefined && [credentials.user, tradingRole?.name].includes(consoleRole.name)) {
      log.error(
        { event: "migrate_failed" },
        `the console's role (${consoleRole.name}) must be a role of its own, neither the migration role nor the trading role: it gets read access only`,
      );
      return 2;
    }
    if (tradingRole?.name === credentials.user) {
      log.error(
        { event: "migrate_failed" },
        `the trading role must not be the migration role (${credentials.user}): the audit log's append-only rule depends on it`,
      );
      return 2;
    }
    for (let attempt = 1; ; attempt++) {
      client = new pg.Client(poolConfig(credentials, "bot-runtime migrate"));
      try {
        await client.connect();
        break;
      } catch (error) {
        await client.end().catch(() => {});
        client = undefined;
        if (!isConnectionError(error) || attempt >= CONNECT_ATTEMPTS) throw error;
        log.warn(
          { event: "database connection", err: error, attempt },
          "database not reachable yet, retrying",
        );
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
    }
    const report = await migrate(client, loadMigrations(), tradingRole, consoleRole, backupRole);
    if (tradingRole === undefined) {
      log.warn(
        { event: "migrate_no_grants" },
        "no trading role given (--grant-to or --trading-credentials): privileges not granted",
      );
    }
    log.info(
      { event: "migrated", ...report },
      `schema at version ${report.current}; applied ${report.applied.length} migration(s)`,
    );
    return 0;
  } catch (error) {
    if (error instanceof CredentialsError) {
      log.error({ event: "credentials_unusable", err: error }, error.message);
      return 2;
    }
    log.error({ event: "migrate_failed", err: error }, `migration failed: ${(error as Error).message}`);
    return 1;
  } finally {
    await client?.end().catch(() => {});
  }
}
