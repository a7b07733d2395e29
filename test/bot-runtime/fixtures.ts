// What the bot-runtime suites and benchmarks share (no test runner needed): a database with a migration role
// and a trading role (the schema applied by the real `bot-runtime migrate`), the exchange simulator
// in-process, and the runtime itself as a real child process (`node bot-runtime/main.ts run ...`) whose JSON
// log lines are collected.
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { RuntimeConfig } from "../../api/v1alpha1/runtime-config.ts";
import { type ExchangeSim, type StartOptions, startExchangeSim } from "../../exchange-sim/index.ts";
import { type PostgresEndpoint, postgresConnectionString } from "../postgres/connection-string.ts";
import { waitFor } from "../support/wait-for.ts";

const mainScript = fileURLToPath(new URL("../../bot-runtime/main.ts", import.meta.url));

export function scratchDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

function writeSecretDir(dir: string, values: Record<string, string>): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [key, value] of Object.entries(values)) writeFileSync(join(dir, key), value, { mode: 0o400 });
  return dir;
}

export type BotDatabase = {
  name: string;
  endpoint: PostgresEndpoint;
  migrationRole: string;
  tradingRole: string;
  /** Secret folders as the operator mounts them. */
  migrationCredentials: string;
  tradingCredentials: string;
  /** The console's read-only role (SELECT on a bot's record), as its Secret would be mounted. */
  consoleCredentials: string;
  /** A client as the superuser (for read-back and tampering). */
  admin(): Promise<pg.Client>;
  /** A client as the trading role. */
  asTradingRole(): Promise<pg.Client>;
};

async function connected(connectionString: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  return client;
}

/**
 * A fresh database owned by a fresh migration role, migrated by the real CLI, which also creates the trading
 * role from its Secret and grants it its privileges.
 */
export async function createBotDatabase(
  prefix: string,
  endpoint: PostgresEndpoint,
  dir = scratchDir(prefix),
): Promise<BotDatabase> {
  const suffix = randomBytes(4).toString("hex");
  const name = `${prefix}_${suffix}`;
  const migrationRole = `${prefix}_migrator_${suffix}`;
  const tradingRole = `${prefix}_trader_${suffix}`;
  const consoleRole = `${prefix}_console_${suffix}`;
  const migrationPassword = randomBytes(12).toString("hex");
  const tradingPassword = randomBytes(12).toString("hex");
  const consolePassword = randomBytes(12).toString("hex");
  const superuser = await connected(postgresConnectionString(endpoint, "postgres"));
  try {
    await superuser.query(`CREATE ROLE "${migrationRole}" LOGIN CREATEROLE PASSWORD '${migrationPassword}'`);
    await superuser.query(`CREATE DATABASE "${name}" OWNER "${migrationRole}"`);
  } finally {
    await superuser.end();
  }
  const secret = (user: string, password: string) => ({
    host: endpoint.host,
    port: String(endpoint.port),
    database: name,
    user,
    password: `${password}\n`,
    sslmode: "require",
  });
  const migrationCredentials = writeSecretDir(
    join(dir, "migration"),
    secret(migrationRole, migrationPassword),
  );
  const tradingCredentials = writeSecretDir(join(dir, "database"), secret(tradingRole, tradingPassword));
  const consoleCredentials = writeSecretDir(join(dir, "console"), secret(consoleRole, consolePassword));
  const migrate = await runCli([
    "migrate",
    "--database-credentials",
    migrationCredentials,
    "--trading-credentials",
    tradingCredentials,
    "--console-credentials",
    consoleCredentials,
  ]);
  if (migrate.code !== 0) throw new Error(`bot-runtime migrate failed (${migrate.code}):\n${migrate.output}`);
  const asRole = (user: string, password: string) =>
    `postgresql://${user}:${password}@${endpoint.host}:${endpoint.port}/${name}?sslmode=require&uselibpqcompat=true`;
  return {
    name,
    endpoint,
    migrationRole,
    tradingRole,
    migrationCredentials,
    tradingCredentials,
    consoleCredentials,
    admin: () => connected(postgresConnectionString(endpoint, name)),
    asTradingRole: () => connected(asRole(tradingRole, tradingPassword)),
  };
}

/** Runs a short CLI command (migrate, audit verify) to completion. */
export async function runCli(args: readonly string[]): Promise<{ code: number; output: string }> {
  const child = spawn(process.execPath, [mainScript, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  const code = await new Promise<number>((resolve) =>
    child.on("exit", (exitCode) => resolve(exitCode ?? -1)),
  );
  return { code, output };
}

export type SimAccount = { apiKey: string; secret: string };

export async function startSimulator(
  options: Partial<StartOptions> & { balances?: Record<string, string>; canWithdraw?: boolean } = {},
): Promise<{ sim: ExchangeSim; account: SimAccount }> {
  const account = {
    apiKey: `key${randomBytes(12).toString("hex")}`,
    secret: randomBytes(24).toString("hex"),
  };
  const { balances = { USDT: "20000", BTC: "0.5" }, canWithdraw = false, ...simOptions } = options;
  const sim = await startExchangeSim({
    seed: 7,
    accounts: [{ ...account, balances, canWithdraw }],
    ...simOptions,
  });
  return { sim, account };
}

/** A signed order request straight to the simulator's API, as another program on the same account would send it. */
export async function placeOrder(
  sim: ExchangeSim,
  account: SimAccount,
  order: { side: "BUY" | "SELL"; price: string; quantity: string; newClientOrderId: string },
): Promise<{ status: number; body: unknown }> {
  const query = new URLSearchParams({
    symbol: "BTCUSDT",
    type: "LIMIT",
    timeInForce: "GTC",
    ...order,
    timestamp: String(Date.now()),
    recvWindow: "5000",
  }).toString();
  const signature = createHmac("sha256", account.secret).update(query).digest("hex");
  const response = await fetch(`${sim.url}/api/v3/order?${query}&signature=${signature}`, {
    method: "POST",
    headers: { "X-MBX-APIKEY": account.apiKey },
  });
  return { status: response.status, body: await response.json() };
}

export type BotSetup = {
  dir: string;
  configPath: string;
  exchangeCredentials: string;
  terminationLog: string;
  config: RuntimeConfig;
};

/**
 * A five-level grid 2 % either side of `price` on BTC/USDT, with risk limits that never get in its way: the
 * bot most suites trade with when the strategy is not what they test.
 */
export function smallGrid(price: number): Pick<RuntimeConfig, "symbol" | "strategy" | "risk"> {
  return {
    symbol: "BTC/USDT",
    strategy: {
      type: "grid",
      grid: {
        lowerPrice: (price * 0.98).toFixed(2),
        upperPrice: (price * 1.02).toFixed(2),
        levels: 5,
        quotePerOrder: "20",
      },
    },
    risk: {
      maxOrderQuote: "100",
      maxPositionQuote: "5000",
      maxDailyLossQuote: "1000",
      maxDrawdownPct: "50",
      maxOpenOrders: 20,
      maxOrdersPerMinute: 120,
      priceBandPct: "10",
    },
  };
}

/** Writes the config and the exchange Secret (with the CRLF line end of a Windows-edited file). */
export function writeBot(
  dir: string,
  sim: ExchangeSim,
  account: SimAccount,
  config: Omit<RuntimeConfig, "schemaVersion" | "exchange" | "bot" | "store"> &
    Partial<Pick<RuntimeConfig, "bot" | "store">>,
): BotSetup {
  const { bot, store, ...rest } = config;
  // Optional fields left undefined are dropped by JSON.stringify, as the operator's rendering drops them.
  const full: RuntimeConfig = {
    schemaVersion: 1,
    bot: bot ?? { namespace: "trading", name: "bot", uid: randomBytes(8).toString("hex") },
    exchange: { name: "binance", mode: "paper", endpoint: sim.url },
    store: store ?? { retentionDays: 30 },
    ...rest,
  };
  mkdirSync(dir, { recursive: true });
  const configPath = join(dir, "config.json");
  writeFileSync(configPath, JSON.stringify(full, null, 2));
  const exchangeCredentials = writeSecretDir(join(dir, "exchange"), {
    apiKey: `${account.apiKey}\r\n`,
    secret: `  ${account.secret}\r\n`,
  });
  return { dir, configPath, exchangeCredentials, terminationLog: join(dir, "termination-log"), config: full };
}

export type LogLine = { level: string; event?: string; msg?: string; [key: string]: unknown };

/** The runtime as a child process, exactly as a pod runs it. */
export class RuntimeProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  /** Every byte the process wrote, for secret checks. */
  raw = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(child: ChildProcess) {
    this.child = child;
    let pending = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      this.raw += chunk.toString();
      pending += chunk.toString();
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      for (const part of parts) {
        if (part.trim() === "") continue;
        try {
          this.lines.push(JSON.parse(part) as LogLine);
        } catch {
          this.lines.push({ level: "raw", msg: part });
        }
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      this.raw += chunk.toString();
      this.lines.push({ level: "stderr", msg: chunk.toString() });
    });
    this.exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  }

  /**
   * Starts `bot-runtime run`; by default from source, or `entry` (such as the compiled
   * dist/bot-runtime/main.js) with `nodeArgs` and `env` as a pod would set them.
   */
  static start(
    setup: BotSetup,
    databaseCredentials: string,
    extraArgs: readonly string[] = ["--tick-interval-ms", "200"],
    process_: { entry?: string; nodeArgs?: readonly string[]; env?: NodeJS.ProcessEnv } = {},
  ): RuntimeProcess {
    const child = spawn(
      process.execPath,
      [
        ...(process_.nodeArgs ?? []),
        process_.entry ?? mainScript,
        "run",
        "--config",
        setup.configPath,
        "--exchange-credentials",
        setup.exchangeCredentials,
        "--database-credentials",
        databaseCredentials,
        "--termination-log",
        setup.terminationLog,
        "--listen",
        "127.0.0.1:0",
        ...extraArgs,
      ],
      { stdio: ["ignore", "pipe", "pipe"], cwd: setup.dir, env: { ...process.env, ...process_.env } },
    );
    return new RuntimeProcess(child);
  }

  events(event: string): LogLine[] {
    return this.lines.filter((line) => line.event === event);
  }

  async waitForLog(
    predicate: (line: LogLine) => boolean,
    what: string,
    timeoutMs = 30_000,
  ): Promise<LogLine> {
    return waitFor(() => this.lines.find(predicate), {
      what: `${what}; log so far:\n${this.tail()}`,
      timeoutMs,
      intervalMs: 50,
    });
  }

  async waitForEvent(event: string, timeoutMs = 30_000): Promise<LogLine> {
    return this.waitForLog((line) => line.event === event, `log event ${event}`, timeoutMs);
  }

  tail(count = 15): string {
    return this.raw.trimEnd().split("\n").slice(-count).join("\n");
  }

  async statusUrl(): Promise<string> {
    const line = await this.waitForEvent("listening");
    return line.url as string;
  }

  async get(path: string): Promise<{ status: number; body: string }> {
    const response = await fetch(`${await this.statusUrl()}${path}`);
    return { status: response.status, body: await response.text() };
  }

  async stop(
    signal: NodeJS.Signals = "SIGTERM",
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** The bot's rows, for comparison with the simulator's read-back. */
export async function botRows(client: pg.Client, botUid: string) {
  const orders = await client.query<{
    client_order_id: string;
    exchange_order_id: string | null;
    status: string;
    side: string;
    type: string;
    amount: string;
    price: string | null;
    filled: string;
  }>(
    `SELECT client_order_id, exchange_order_id, status, side, type, amount::text, price::text, filled::text
       FROM tradingbot.orders WHERE bot_uid = $1 ORDER BY id`,
    [botUid],
  );
  const fills = await client.query<{
    trade_id: string;
    client_order_id: string;
    side: string;
    price: string;
    amount: string;
    fee: string;
  }>(
    `SELECT trade_id, client_order_id, side, price::text, amount::text, fee::text FROM tradingbot.fills
      WHERE bot_uid = $1 ORDER BY trade_id::bigint`,
    [botUid],
  );
  const audit = await client.query<{ seq: string; event: string; payload: Record<string, unknown> }>(
    "SELECT seq, event, payload FROM tradingbot.audit_log WHERE bot_uid = $1 ORDER BY seq",
    [botUid],
  );
  return { orders: orders.rows, fills: fills.rows, audit: audit.rows };
}

/** Plain decimal text without trailing zeros, as the runtime stores it ("0.00083000" -> "0.00083"). */
export function plain(decimal: string): string {
  return decimal.includes(".") ? decimal.replace(/0+$/, "").replace(/\.$/, "") : decimal;
}

const SIM_STATUS: Record<string, string> = {
  NEW: "open",
  PARTIALLY_FILLED: "open",
  FILLED: "filled",
  CANCELED: "canceled",
  EXPIRED: "expired",
  REJECTED: "rejected",
};

/** What the simulator's admin read-back says about an account's orders, in the database's terms. */
export function simOrders(sim: ExchangeSim, apiKey: string) {
  return sim.orders({ apiKey }).map((order) => ({
    client_order_id: order.clientOrderId,
    exchange_order_id: String(order.orderId),
    status: SIM_STATUS[order.status] ?? order.status,
    side: order.side.toLowerCase(),
    filled: plain(order.executedQty),
  }));
}

export function simTrades(sim: ExchangeSim, apiKey: string) {
  return sim.trades({ apiKey }).map((trade) => ({
    trade_id: String(trade.id),
    exchange_order_id: String(trade.orderId),
    side: trade.isBuyer ? "buy" : "sell",
    price: plain(trade.price),
    amount: plain(trade.qty),
    fee: plain(trade.commission),
  }));
}

export function cleanup(dir: string) {
  rmSync(dir, { recursive: true, force: true });
}
