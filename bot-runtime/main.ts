#!/usr/bin/env node
// First: V8's settings apply to all the code loaded after them.
import "./v8-settings.ts";
import { RUNTIME_EXIT_CODES } from "../api/v1alpha1/runtime-config.ts";
import { runAuditVerify } from "./cli/audit-verify-command.ts";
import {
  parseAuditVerifyFlags,
  parseBackupFlags,
  parseMigrateFlags,
  parseRestoreFlags,
  parseRunFlags,
  USAGE,
  UsageError,
} from "./cli/flags.ts";
import { runMigrate } from "./cli/migrate-command.ts";
import { createLogger } from "./observability/logger.ts";
import { SecretScrubber } from "./observability/secret-scrubber.ts";
import { runBot } from "./runtime/run.ts";

// Entry point: `bot-runtime run | migrate | audit verify | backup | restore`. The scrubbing logger exists
// before any secret is read, and every way out of the process (including a crash) goes through it.

const scrubber = new SecretScrubber();
const log = createLogger(scrubber);
const registerSecret = (value: string) => {
  if (!scrubber.add(value))
    log.warn({ event: "short_secret" }, "a secret shorter than 4 characters cannot be scrubbed from logs");
};

function exit(code: number): never {
  process.exit(code);
}

process.on("uncaughtException", (error) => {
  log.fatal({ event: "crash", err: error }, "unexpected error");
  exit(RUNTIME_EXIT_CODES.failure);
});
process.on("unhandledRejection", (reason) => {
  log.fatal({ event: "crash", err: reason }, "unexpected rejected promise");
  exit(RUNTIME_EXIT_CODES.failure);
});

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "run": {
        const flags = parseRunFlags(rest);
        return await runBot(flags, {
          log,
          registerSecret,
          onSignal: (handler) => {
            for (const signal of ["SIGTERM", "SIGINT"] as const) {
              process.on(signal, () => {
                log.info({ event: "signal", signal }, `${signal}: stopping`);
                handler();
              });
            }
          },
        });
      }
      case "migrate":
        return await runMigrate(parseMigrateFlags(rest), log, registerSecret);
      case "audit":
        if (rest[0] !== "verify")
          throw new UsageError(`unknown audit command ${JSON.stringify(rest[0] ?? "")}\n${USAGE}`);
        return await runAuditVerify(
          parseAuditVerifyFlags(rest.slice(1)),
          (line) => process.stdout.write(`${scrubber.scrub(line)}\n`),
          registerSecret,
        );
      // Loaded when asked for: a bot's `run` never evaluates age's ciphers.
      case "backup": {
        const flags = parseBackupFlags(rest);
        const { runBackup } = await import("./cli/backup-command.ts");
        return await runBackup(flags, log, registerSecret);
      }
      case "restore": {
        const flags = parseRestoreFlags(rest);
        const { runRestore } = await import("./cli/restore-command.ts");
        return await runRestore(flags, log, registerSecret);
      }
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(`${USAGE}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command ?? "")}\n${USAGE}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return RUNTIME_EXIT_CODES.invalidConfig;
    }
    log.fatal({ event: "crash", err: error }, "unexpected error");
    return RUNTIME_EXIT_CODES.failure;
  }
}

exit(await main(process.argv.slice(2)));
