import { parseArgs } from "node:util";
import {
  BOT_CONTAINER_PATHS,
  RUNTIME_CONFIG_KEY,
  RUNTIME_FLAGS,
  RUNTIME_STATUS_PORT,
} from "../../api/v1alpha1/runtime-config.ts";

// Flags of the three subcommands. Every path has a flag (where pods run as local processes, as in the
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
  bot-runtime audit verify [--database-credentials DIR] [--bot NAMESPACE/NAME]`;

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
};

export type AuditVerifyFlags = { databaseCredentials: string; bot?: { namespace: string; name: string } };

function parse(args: readonly string[], options: Record<string, { type: "string" }>) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values as Record<
      string,
      string | undefined
    >;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
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
  const tickIntervalMs = Number(values["tick-interval-ms"] ?? 1000);
  if (!Number.isInteger(tickIntervalMs) || tickIntervalMs < 50 || tickIntervalMs > 600_000) {
    throw new UsageError(`--tick-interval-ms must be a whole number of milliseconds from 50 to 600000`);
  }
  return {
    config: values[FLAG.config] ?? `${BOT_CONTAINER_PATHS.configDir}/${RUNTIME_CONFIG_KEY}`,
    exchangeCredentials: values[FLAG.exchangeCredentials] ?? BOT_CONTAINER_PATHS.exchangeCredentialsDir,
    databaseCredentials: values[FLAG.databaseCredentials] ?? BOT_CONTAINER_PATHS.databaseCredentialsDir,
    terminationLog: values[FLAG.terminationLog] ?? BOT_CONTAINER_PATHS.terminationLog,
    listen: parseListen(values[FLAG.listen] ?? `0.0.0.0:${RUNTIME_STATUS_PORT}`),
    tickIntervalMs,
    ...(values[FLAG.haltWatch] === undefined ? {} : { haltWatch: values[FLAG.haltWatch] }),
  };
}

export function parseMigrateFlags(args: readonly string[]): MigrateFlags {
  const values = parse(args, {
    [FLAG.databaseCredentials]: { type: "string" },
    "grant-to": { type: "string" },
    [FLAG.tradingCredentials]: { type: "string" },
    "console-role": { type: "string" },
    "console-credentials": { type: "string" },
  });
  const tradingCredentials = values[FLAG.tradingCredentials];
  if (values["grant-to"] !== undefined && tradingCredentials !== undefined) {
    throw new UsageError(`give --grant-to ROLE or ${RUNTIME_FLAGS.tradingCredentials} DIR, not both`);
  }
  const consoleRole = values["console-role"];
  const consoleCredentials = values["console-credentials"];
  if (consoleRole !== undefined && consoleCredentials !== undefined) {
    throw new UsageError("give --console-role ROLE or --console-credentials DIR, not both");
  }
  return {
    databaseCredentials: values[FLAG.databaseCredentials] ?? BOT_CONTAINER_PATHS.migrationCredentialsDir,
    ...(values["grant-to"] === undefined ? {} : { grantTo: values["grant-to"] }),
    ...(tradingCredentials === undefined ? {} : { tradingCredentials }),
    ...(consoleRole === undefined ? {} : { consoleRole }),
    ...(consoleCredentials === undefined ? {} : { consoleCredentials }),
  };
}

export function parseAuditVerifyFlags(args: readonly string[]): AuditVerifyFlags {
  const values = parse(args, { [FLAG.databaseCredentials]: { type: "string" }, bot: { type: "string" } });
  let bot: AuditVerifyFlags["bot"];
  if (values.bot !== undefined) {
    const match = /^([a-z0-9][-a-z0-9]*)\/([a-z0-9][-a-z0-9.]*)$/.exec(values.bot);
    if (match === null) throw new UsageError(`--bot ${JSON.stringify(values.bot)} is not NAMESPACE/NAME`);
    bot = { namespace: match[1] as string, name: match[2] as string };
  }
  return {
    databaseCredentials: values[FLAG.databaseCredentials] ?? BOT_CONTAINER_PATHS.databaseCredentialsDir,
    ...(bot === undefined ? {} : { bot }),
  };
}
