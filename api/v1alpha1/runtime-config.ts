import { z } from "zod";
import { AuditHead } from "./audit-anchor.ts";
import { nonNegativeDecimal, signedDecimal, timestamp } from "./scalars.ts";
import {
  EXCHANGE_NAMES,
  MarketSymbol,
  ON_ENGAGE_ACTIONS,
  RiskLimits,
  Strategy,
  TRADING_MODES,
} from "./tradingbot.ts";

// The contract between the operator and the bot runtime: the config document the operator renders into
// the bot's ConfigMap and the runtime parses, the flags and paths of the bot container, the runtime's
// status report, its termination message and its exit codes. Both sides import this file; nothing else
// defines these.

export const RUNTIME_CONFIG_SCHEMA_VERSION = 1;

export const RuntimeConfig = z
  .strictObject({
    schemaVersion: z.literal(RUNTIME_CONFIG_SCHEMA_VERSION),
    bot: z.strictObject({
      namespace: z.string().min(1),
      name: z.string().min(1),
      uid: z.string().min(1),
    }),
    exchange: z.strictObject({
      name: z.enum(EXCHANGE_NAMES),
      mode: z.enum(TRADING_MODES),
      endpoint: z.string().optional(),
    }),
    symbol: MarketSymbol,
    strategy: Strategy,
    risk: RiskLimits,
    /** Applied whenever the runtime stops trading (SIGTERM): halt, restart or deletion. */
    onStop: z.enum(ON_ENGAGE_ACTIONS),
    /**
     * spec.killSwitch.acknowledgeHalt: the latched risk halt a human released. A runtime whose database
     * holds a more recent latch, or any latch but this one, refuses to trade.
     */
    acknowledgedHalt: z.string().min(1).max(64).optional(),
    /**
     * spec.killSwitch.haltIfUnsupervisedFor in seconds: the runtime halts itself (source Unsupervised) when
     * its halt watch has not been confirmed current for this long. Unset: it keeps trading and says so.
     */
    haltIfUnsupervisedForSeconds: z.number().int().min(1).optional(),
    /**
     * Who last changed spec.killSwitch (the admission stamp): who released the halt this pod starts after,
     * recorded in the `started` audit row. Left out of the config's hash: it never restarts a bot.
     */
    killSwitchChangedBy: z.string().max(512).optional(),
    /**
     * The pod's grace period (spec.pod.terminationGracePeriodSeconds, capped by the operator): a stop
     * retries its cancels until shortly before the kubelet's SIGKILL, so it can still record how it ended.
     * Unset (rendered by an older operator): it retries for 25 s.
     */
    stopGracePeriodSeconds: z.number().int().min(1).optional(),
    store: z.strictObject({
      retentionDays: z.number().int().min(1),
      auditRetentionDays: z.number().int().min(1).optional(),
    }),
  })
  .describe("Runtime configuration of one bot, rendered by the operator from its TradingBot.");
export type RuntimeConfig = z.infer<typeof RuntimeConfig>;

/** The ConfigMap key holding the rendered RuntimeConfig as JSON. */
export const RUNTIME_CONFIG_KEY = "config.json";

/** Where the operator mounts things in the bot container; the runtime is told each path by a flag. */
export const BOT_CONTAINER_PATHS = {
  configDir: "/etc/tradingbot",
  exchangeCredentialsDir: "/var/run/secrets/tradingbot/exchange",
  databaseCredentialsDir: "/var/run/secrets/tradingbot/database",
  migrationCredentialsDir: "/var/run/secrets/tradingbot/migration",
  /** The halt watch's projected ServiceAccount token, the cluster CA (ca.crt) and nothing else. */
  haltWatchDir: "/var/run/secrets/tradingbot/halt-watch",
  terminationLog: "/dev/termination-log",
  tmp: "/tmp",
} as const;

/** Flags of `bot-runtime run` (and `migrate`, which takes the database flag). */
export const RUNTIME_FLAGS = {
  config: "--config",
  exchangeCredentials: "--exchange-credentials",
  databaseCredentials: "--database-credentials",
  terminationLog: "--termination-log",
  listen: "--listen",
  /** Folder with the halt watch's token and CA; without it the runtime halts only on SIGTERM. */
  haltWatch: "--halt-watch",
  /** `migrate` only: the trading role's Secret, whose role gets the runtime's grants. */
  tradingCredentials: "--trading-credentials",
} as const;

/** The port of the runtime's /healthz, /readyz, /metrics and /status. */
export const RUNTIME_STATUS_PORT = 8080;

/**
 * Secrets opt in to being mounted into bot pods, by label: the operator watches, reads and mounts no
 * other Secret, so whoever may write a TradingBot cannot have the operator hand them any Secret of the
 * namespace. `exchange` or `database` (the trading role's and the migration role's Secrets).
 */
export const CREDENTIALS_LABEL = "trading.botops.dev/credentials";
export const CREDENTIALS_PURPOSES = ["exchange", "database"] as const;
export type CredentialsPurpose = (typeof CREDENTIALS_PURPOSES)[number];
/** On an exchange Secret: the trading modes its key may serve, joined by dots (paper.testnet, live). */
export const EXCHANGE_MODES_LABEL = "trading.botops.dev/exchange-modes";

/**
 * Whether an exchange Secret labelled with `modes` may serve a bot in `mode`. A key allowed for live
 * never serves paper or testnet: a paper bot may point at any paper endpoint, and must not be able to
 * send a live key's signed requests there.
 */
export function exchangeSecretServes(
  modes: string | undefined,
  mode: (typeof TRADING_MODES)[number],
): boolean {
  const allowed = (modes ?? "").split(".").filter((m) => m !== "");
  if (!allowed.includes(mode)) return false;
  return mode === "live" || !allowed.includes("live");
}

/** Keys of the exchange credentials Secret. */
export const EXCHANGE_SECRET_KEYS = { apiKey: "apiKey", secret: "secret" } as const;

/** Keys of the database Secret; sslmode and ca.crt are optional. */
export const DATABASE_SECRET_KEYS = {
  host: "host",
  port: "port",
  database: "database",
  user: "user",
  password: "password",
  sslmode: "sslmode",
  caCert: "ca.crt",
} as const;
export const REQUIRED_DATABASE_SECRET_KEYS = ["host", "port", "database", "user", "password"] as const;

export const RUNTIME_STATES = ["Starting", "Trading", "FailClosed", "Stopping"] as const;

/** GET /status on the runtime's status port: what the operator mirrors into TradingBot status.runtime. */
export const RuntimeReport = z.looseObject({
  heartbeat: timestamp("When the report was produced."),
  state: z.enum(RUNTIME_STATES),
  halted: z.boolean(),
  openOrders: z.number().int().min(0),
  position: nonNegativeDecimal("Position in the base currency."),
  realizedPnl: signedDecimal("Realized profit and loss in the quote currency."),
  equity: nonNegativeDecimal("Quote balance plus position at the last price.").optional(),
  /** The newest audit row this runtime committed; absent until it wrote one. */
  audit: AuditHead.optional(),
});
export type RuntimeReport = z.infer<typeof RuntimeReport>;

export const HALTING_RISK_LIMITS = ["maxDailyLossQuote", "maxDrawdownPct"] as const;

/**
 * Written by the runtime to its termination-message file when a halting risk limit is breached; the
 * operator reads it from the terminated container's status and latches the halt under `haltId`.
 */
export const RiskHaltMessage = z.strictObject({
  reason: z.literal("RiskLimitBreached"),
  haltId: z.string().min(1).max(64),
  limit: z.enum(HALTING_RISK_LIMITS),
  value: signedDecimal("The measured value that breached the limit."),
  threshold: signedDecimal("The configured limit."),
  at: timestamp("When the breach was detected."),
});
export type RiskHaltMessage = z.infer<typeof RiskHaltMessage>;

/**
 * The halt watch: the runtime watches its own TradingBot and the KillSwitches with a projected token of the
 * bot's ServiceAccount, bound to the pod, for this audience (unless the operator is told another) and
 * this lifetime. The token may read that one TradingBot and list KillSwitches, nothing else.
 */
export const HALT_WATCH_TOKEN = { path: "token", expirationSeconds: 3600 } as const;
/** The audience the docs recommend for the halt watch's token (the API server must list it). */
export const RECOMMENDED_HALT_WATCH_AUDIENCE = "trading.botops.dev/halt-watch";

/** What stopped a runtime that halted: a halt source, its TradingBot's deletion, or its dead man's switch. */
export const RUNTIME_HALT_SOURCE = /^(Spec|KillSwitch\/.+|Deleted|Unsupervised)$/;

/**
 * Written by the runtime to its termination-message file when it stopped trading because of a halt, with
 * exit code 0: `noticedBy` says whether its own watch saw the halt first (`watch`) or the pod's deletion
 * reached it first (`signal`). The operator reports it as status.halt.stoppedBy.
 */
export const RuntimeHaltedMessage = z.strictObject({
  reason: z.literal("Halted"),
  source: z.string().max(300).regex(RUNTIME_HALT_SOURCE),
  detail: z.string().max(1024).optional(),
  by: z.string().max(512).optional(),
  noticedBy: z.enum(["watch", "signal"]),
  at: timestamp("When the runtime stopped trading."),
});
export type RuntimeHaltedMessage = z.infer<typeof RuntimeHaltedMessage>;

/** Exit codes of `bot-runtime run`. */
export const RUNTIME_EXIT_CODES = {
  /** Stopped on SIGTERM after applying onStop. */
  stopped: 0,
  failure: 1,
  invalidConfig: 2,
  /** A halting risk limit was breached; the termination message says which. */
  riskHalt: 3,
  /** The exchange key can withdraw, or the exchange or database credentials are refused: no trading. */
  unsafeCredentials: 4,
} as const;
