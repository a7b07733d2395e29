// What the backup suites share: age keys written as age-keygen writes them, the backup's read-only role
// created by the real `bot-runtime migrate`, bot-runtime commands run as child processes (from the sources,
// or from the bundle the image runs) with every byte they print kept for the secret scan, and row counts.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateIdentity, identityToRecipient } from "age-encryption";
import pg from "pg";
import type { BotDatabase } from "./fixtures.ts";

const SOURCE_ENTRY = fileURLToPath(new URL("../../bot-runtime/main.ts", import.meta.url));
/** What the image runs (`npm run build`). */
export const BUNDLE_ENTRY = fileURLToPath(new URL("../../dist/bot-runtime/main.js", import.meta.url));

export type CliResult = { code: number; output: string };

/** Runs bot-runtime commands and keeps everything they print. */
export class CliRecorder {
  readonly outputs: string[] = [];

  /** Starts a command; `done` resolves when it exits. */
  start(
    args: readonly string[],
    entry: "source" | "bundle" = "source",
  ): { child: ChildProcess; done: Promise<CliResult> } {
    const script = entry === "bundle" ? BUNDLE_ENTRY : SOURCE_ENTRY;
    if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` first`);
    const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout?.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr?.on("data", (chunk) => {
      output += chunk;
    });
    const done = new Promise<CliResult>((resolve) =>
      child.on("exit", (code) => {
        this.outputs.push(output);
        resolve({ code: code ?? -1, output });
      }),
    );
    return { child, done };
  }

  run(args: readonly string[], entry: "source" | "bundle" = "source"): Promise<CliResult> {
    return this.start(args, entry).done;
  }
}

/** The JSON log line of `event` in a command's output. */
export function logLine(output: string, event: string): Record<string, unknown> | undefined {
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (parsed.event === event) return parsed;
  }
  return undefined;
}

export type AgeKeys = { identity: string; recipient: string; identityFile: string; recipientsFile: string };

/** A new age key pair, as age-keygen writes the identity (with its comments) and a recipients file. */
export async function ageKeys(dir: string, name: string): Promise<AgeKeys> {
  mkdirSync(dir, { recursive: true });
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const identityFile = join(dir, `${name}.key`);
  writeFileSync(
    identityFile,
    `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`,
    {
      mode: 0o400,
    },
  );
  const recipientsFile = join(dir, `${name}.recipients`);
  writeFileSync(recipientsFile, `# ${name}\n${recipient}\n`);
  return { identity, recipient, identityFile, recipientsFile };
}

export type BackupRole = { role: string; credentials: string; password: string };

/** The backup's role, made by `migrate --backup-credentials` from a Secret folder as the chart mounts it. */
export async function createBackupRole(db: BotDatabase, dir: string, cli: CliRecorder): Promise<BackupRole> {
  const role = `${db.name}_backup`.slice(0, 63);
  const password = randomBytes(12).toString("hex");
  const credentials = join(dir, "backup-secret");
  mkdirSync(credentials, { recursive: true, mode: 0o700 });
  const values = {
    host: db.endpoint.host,
    port: String(db.endpoint.port),
    database: db.name,
    user: role,
    password: `${password}\n`,
    sslmode: "require",
  };
  for (const [key, value] of Object.entries(values))
    writeFileSync(join(credentials, key), value, { mode: 0o400 });
  const migrate = await cli.run([
    "migrate",
    "--database-credentials",
    db.migrationCredentials,
    "--trading-credentials",
    db.tradingCredentials,
    "--backup-credentials",
    credentials,
  ]);
  if (migrate.code !== 0) throw new Error(`migrate --backup-credentials failed:\n${migrate.output}`);
  return { role, credentials, password };
}

/** A client as the role of a Secret folder. */
export async function connectAs(credentials: string): Promise<pg.Client> {
  const read = (key: string) => readFileSync(join(credentials, key), "utf8").trim();
  const client = new pg.Client({
    host: read("host"),
    port: Number(read("port")),
    database: read("database"),
    user: read("user"),
    password: read("password"),
    ssl: { rejectUnauthorized: false },
  });
  await client.connect();
  return client;
}

/** The passwords of every Secret folder given, for the secret scan. */
export function passwordsOf(...credentials: string[]): string[] {
  return credentials.map((dir) => readFileSync(join(dir, "password"), "utf8").trim());
}

export const TABLES = [
  "audit_log",
  "audit_prune",
  "bot_state",
  "fills",
  "orders",
  "risk_events",
  "risk_latches",
  "snapshots",
] as const;

/** Rows per table, all of them or those of one bot's uid. */
export async function tableCounts(client: pg.Client, botUid?: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tradingbot.${table}${botUid === undefined ? "" : " WHERE bot_uid = $1"}`,
      botUid === undefined ? [] : [botUid],
    );
    counts[table] = rows[0]?.n ?? 0;
  }
  return counts;
}

/** Files left in a folder (a backup never leaves a partial file behind). */
export function filesIn(dir: string): string[] {
  return readdirSync(dir).sort();
}
