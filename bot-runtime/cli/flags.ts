import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import {
  BOT_CONTAINER_PATHS,
  RUNTIME_CONFIG_KEY,
  RUNTIME_FLAGS,
  RUNTIME_STATUS_PORT,
} from "../../api/v1alpha1/runtime-config.ts";

// Flags of the subcommands. Every path has a flag (where pods run as local processes, as in the
// end-to-end tests, the mounted files live in a per-pod folder); the defaults are where the operator mounts
// them in the bot container.

export class UsageError extends Error {
  override name = "UsageError";
}

export const USAGE = `usage:
  bot-runtime run [--config FILE] [--exchange-credentials DIR] [--database-credentials DIR]
                  [--termination-log FILE] [--listen HOST:PORT] [--tick-interval-ms N]
                  [--halt-watch DIR]
  bot-runtime migrate [--database-credentials DIR] [--grant-to ROLE | --trading-credentials DIR]
                      [--console-role ROLE | --console-credentials DIR]
                      [--backup-role ROLE | --backup-credentials DIR]
  bot-runtime audit verify [--database-credentials DIR] [--bot NAMESPACE/NAME] [--anchors [--kubeconfig FILE]]
  bot-runtime backup --database-credentials DIR (--out FILE | --out-dir DIR [--keep N])
                     (--recipient AGE1... [--recipient ...] | --recipients-file FILE) [--bot NAMESPACE/NAME]
  bot-runtime restore --in FILE --identity-file FILE (--database-credentials DIR | --check-only)`;

/** The option names of the flags the operator passes, from the shared contract (`--config` → `config`). */
const FLAG = Object.fromEntries(Object.entries(RUNTIME_FLAGS).map(([key, flag]) => [key, flag.slice(2)])) as {
  [K in keyof typeof RUNTIME_FLAGS]: string;
};

export type Listen = { host: string; port: number };

export type RunFlags = {
  config: string;
  exchangeCredentials: string;
  databaseCredentials: string;
  terminationLog: string;
  listen: Listen;
  tickIntervalMs: number;
  /** The halt watch's token and CA; undefined: no halt watch (halts arrive only as SIGTERM). */
  haltWatch?: string;
};

export type MigrateFlags = {
  databaseCredentials: string;
  grantTo?: string;
  tradingCredentials?: string;
  /** The console's read-only role: an existing role, or the `user` of its Secret (created when missing). */
  consoleRole?: string;
  consoleCredentials?: string;
  /** The backup's read-only role: an existing role, or the `user` of its Secret (created when missing). */
  backupRole?: string;
  backupCredentials?: string;
};

export type BotRef = { namespace: string; name: string };

export type AuditVerifyFlags = {
  databaseCredentials: string;
  bot?: BotRef;
  /** Also hold each chain to its anchors in the API server, read in-cluster or with this kubeconfig. */
  anchors?: { kubeconfig?: string };
};

export type BackupFlags = {
  databaseCredentials: string;
  output: { file: string } | { dir: string; keep?: number };
  /** `--recipient` values, in order. */
  recipients: string[];
  recipientsFile?: string;
  bot?: BotRef;
};

export type RestoreFlags = {
  input: string;
  identityFile: string;
  /** The schema owner's Secret (the migration role); absent with `checkOnly`. */
  databaseCredentials?: string;
  /** Decrypt and check the backup without a database. */
  checkOnly: boolean;
};

type FlagValues = Record<string, string | boolean | string[] | undefined>;

function parse(args: readonly string[], options: ParseArgsOptionsConfig): FlagValues {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false })
      .values as FlagValues;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
}

/** A string flag's value (parseArgs gives strings for `type: "string"` flags). */
function text(values: FlagValues, flag: string): string | undefined {
  const value = values[flag];
  return typeof value === "string" ? value : undefined;
}

function required(values: FlagValues, flag: string, what: string): string {
  const value = text(values, flag);
  if (value === undefined || value === "") throw new UsageError(`--${flag} is required: ${what}\n${USAGE}`);
  return value;
}

function parseBot(value: string | undefined): BotRef | undefined {
  if (value === undefined) return undefined;
  const match = /^([a-z0-9][-a-z0-9]*)\/([a-z0-9][-a-z0-9.]*)$/.exec(value);
  if (match === null) throw new UsageError(`--bot ${JSON.stringify(value)} is not NAMESPACE/NAME`);
  return { namespace: match[1] as string, name: match[2] as string };
}

export function parseListen(text: string): Listen {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:[\]]+):([0-9]{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (match === null || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(
      `--listen ${JSON.stringify(text)} is not HOST:PORT, such as 0.0.0.0:8080 or 127.0.0.1:0`,
    );
  }
  return { host: (match[1] as string).replace(/^\[|\]$/g, ""), port };
}

export function parseRunFlags(args: readonly string[]): RunFlags {
  const values = parse(args, {
    [FLAG.config]: { type: "string" },
    [FLAG.exchangeCredentials]: { type: "string" },
    [FLAG.databaseCredentials]: { type: "string" },
    [FLAG.terminationLog]: { type: "string" },
    [FLAG.listen]: { type: "string" },
    [FLAG.haltWatch]: { type: "string" },
    "tick-interval-ms": { type: "string" },
  });
  const tickIntervalMs = Number(text(values, "tick-interval-ms") ?? 1000);
  if (!Number.isInteger(tickIntervalMs) || tickIntervalMs < 50 || tickIntervalMs > 600_000) {
    throw new UsageError(`--tick-interval-ms must be a whole number of milliseconds from 50 to 600000`);
  }
  const haltWatch = text(values, FLAG.haltWatch);
  return {
    config: text(values, FLAG.config) ?? `${BOT_CONTAINER_PATHS.configDir}/${RUNTIME_CONFIG_KEY}`,
    exchangeCredentials: text(values, FLAG.exchangeCredentials) ?? BOT_CONTAINER_PATHS.exchangeCredentialsDir,
    databaseCredentials: text(values, FLAG.databaseCredentials) ?? BOT_CONTAINER_PATHS.databaseCredentialsDir,
    terminationLog: text(values, FLAG.terminationLog) ?? BOT_CONTAINER_PATHS.terminationLog,
    listen: parseListen(text(values, FLAG.listen) ?? `0.0.0.0:${RUNTIME_STATUS_PORT}`),
    tickIntervalMs,
    ...(haltWatch === undefined ? {} : { haltWatch }),
  };
}

export function parseMigrateFlags(args: readonly string[]): MigrateFlags {
  const values = parse(args, {
    [FLAG.databaseCredentials]: { type: "string" },
    "grant-to": { type: "string" },
    [FLAG.tradingCredentials]: { type: "string" },
    "console-role": { type: "string" },
    "console-credentials": { type: "string" },
    "backup-role": { type: "string" },
    "backup-credentials": { type: "string" },
  });
  const grantTo = text(values, "grant-to");
  const tradingCredentials = text(values, FLAG.tradingCredentials);
  if (grantTo !== undefined && tradingCredentials !== undefined) {
    throw new UsageError(`give --grant-to ROLE or ${RUNTIME_FLAGS.tradingCredentials} DIR, not both`);
  }
  const consoleRole = text(values, "console-role");
  const consoleCredentials = text(values, "console-credentials");
  if (consoleRole !== undefined && consoleCredentials !== undefined) {
    throw new UsageError("give --console-role ROLE or --console-credentials DIR, not both");
  }
  const backupRole = text(values, "backup-role");
  const backupCredentials = text(values, "backup-credentials");
  if (backupRole !== undefined && backupCredentials !== undefined) {
    throw new UsageError("give --backup-role ROLE or --backup-credentials DIR, not both");
  }
  return {
    databaseCredentials:
      text(values, FLAG.databaseCredentials) ?? BOT_CONTAINER_PATHS.migrationCredentialsDir,
    ...(grantTo === undefined ? {} : { grantTo }),
    ...(tradingCredentials === undefined ? {} : { tradingCredentials }),
    ...(consoleRole === undefined ? {} : { consoleRole }),
    ...(consoleCredentials === undefined ? {} : { consoleCredentials }),
    ...(backupRole === undefined ? {} : { backupRole }),
    ...(backupCredentials === undefined ? {} : { backupCredentials }),
  };
}

export function parseAuditVerifyFlags(args: readonly string[]): AuditVerifyFlags {
  const values = parse(args, {
    [FLAG.databaseCredentials]: { type: "string" },
    bot: { type: "string" },
    anchors: { type: "boolean" },
    kubeconfig: { type: "string" },
  });
  const bot = parseBot(text(values, "bot"));
  const kubeconfig = text(values, "kubeconfig");
  if (kubeconfig !== undefined && values.anchors !== true) {
    throw new UsageError("--kubeconfig needs --anchors: it says where to read the anchors from");
  }
  return {
    databaseCredentials: text(values, FLAG.databaseCredentials) ?? BOT_CONTAINER_PATHS.databaseCredentialsDir,
    ...(bot === undefined ? {} : { bot }),
    ...(values.anchors === true ? { anchors: kubeconfig === undefined ? {} : { kubeconfig } } : {}),
  };
}

export function parseBackupFlags(args: readonly string[]): BackupFlags {
  const values = parse(args, {
    [FLAG.databaseCredentials]: { type: "string" },
    out: { type: "string" },
    "out-dir": { type: "string" },
    keep: { type: "string" },
    recipient: { type: "string", multiple: true },
    "recipients-file": { type: "string" },
    bot: { type: "string" },
  });
  const databaseCredentials = required(
    values,
    FLAG.databaseCredentials,
    "the Secret folder of the backup's read-only role (`migrate --backup-credentials` creates it)",
  );
  const out = text(values, "out");
  const outDir = text(values, "out-dir");
  const keepText = text(values, "keep");
  if ((out === undefined) === (outDir === undefined)) {
    throw new UsageError(
      `give --out FILE (one backup file) or --out-dir DIR (a file named by scope and time), one of them\n${USAGE}`,
    );
  }
  let keep: number | undefined;
  if (keepText !== undefined) {
    keep = Number(keepText);
    if (outDir === undefined) throw new UsageError("--keep needs --out-dir: it removes older backups there");
    if (!Number.isInteger(keep) || keep < 1 || keep > 10_000) {
      throw new UsageError(
        `--keep must be a whole number of backups from 1 to 10000, got ${JSON.stringify(keepText)}`,
      );
    }
  }
  const recipients = (values.recipient as string[] | undefined) ?? [];
  const recipientsFile = text(values, "recipients-file");
  if (recipients.length === 0 && recipientsFile === undefined) {
    throw new UsageError(
      `give at least one age recipient: --recipient age1... (repeatable) and/or --recipients-file FILE\n${USAGE}`,
    );
  }
  const bot = parseBot(text(values, "bot"));
  return {
    databaseCredentials,
    output:
      outDir !== undefined
        ? { dir: outDir, ...(keep === undefined ? {} : { keep }) }
        : { file: out as string },
    recipients,
    ...(recipientsFile === undefined ? {} : { recipientsFile }),
    ...(bot === undefined ? {} : { bot }),
  };
}

export function parseRestoreFlags(args: readonly string[]): RestoreFlags {
  const values = parse(args, {
    [FLAG.databaseCredentials]: { type: "string" },
    in: { type: "string" },
    "identity-file": { type: "string" },
    "check-only": { type: "boolean" },
  });
  const input = required(values, "in", "the backup file to restore");
  const identityFile = required(
    values,
    "identity-file",
    "a file with the age secret key(s) the backup was encrypted to",
  );
  const checkOnly = values["check-only"] === true;
  const databaseCredentials = text(values, FLAG.databaseCredentials);
  if (checkOnly === (databaseCredentials !== undefined)) {
    throw new UsageError(
      `give --database-credentials DIR (the schema owner's Secret: the migration role) to restore, or --check-only to check the backup without a database\n${USAGE}`,
    );
  }
  return {
    input,
    identityFile,
    checkOnly,
    ...(databaseCredentials === undefined ? {} : { databaseCredentials }),
  };
}
