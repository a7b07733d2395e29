import { z } from "zod";
import { AuditHead } from "./audit-anchor.ts";
import { API_VERSION, TRADING_BOT } from "./group.ts";
import {
  Condition,
  LabelKey,
  LabelValue,
  labelMap,
  MatchLabels,
  ObjectMeta,
  SecretReference,
} from "./meta.ts";
import { immutable, mapList, withRules } from "./rules.ts";
import {
  boundedPositiveDecimal,
  durationSeconds,
  durationString,
  nonNegativeDecimal,
  objectName,
  positiveDecimal,
  signedDecimal,
  timestamp,
} from "./scalars.ts";

// ---------------------------------------------------------------------------------------------------------
// Exchange

export const EXCHANGE_NAMES = ["binance"] as const;
export const TRADING_MODES = ["paper", "testnet", "live"] as const;
export type TradingMode = (typeof TRADING_MODES)[number];

export const RotationPeriod = withRules(
  durationString(["m", "h", "d"], "must be a duration in minutes, hours or days, such as 90m, 12h or 30d"),
  [
    {
      // Hours and days are at least 1h by their pattern; minutes must be 60 or more.
      rule: "!self.endsWith('m') || self.matches('^([6-9][0-9]|[1-9][0-9]{2,4})m$')",
      message: "spec.exchange.rotateCredentialsEvery must be at least 1h (60m), such as 12h, 30d or 90d",
      holds: (every) => !every.endsWith("m") || /^([6-9][0-9]|[1-9][0-9]{2,4})m$/.test(every),
    },
  ],
);

/** spec.exchange.rotateCredentialsEvery ("90m", "12h", "30d") in seconds. */
export function rotationPeriodSeconds(every: string): number {
  return durationSeconds(every, "spec.exchange.rotateCredentialsEvery");
}

export const ExchangeSpec = withRules(
  z.strictObject({
    name: immutable(
      z
        .enum(EXCHANGE_NAMES)
        .describe("Exchange to trade on, as a ccxt exchange id. v1alpha1 supports binance (spot markets)."),
      "spec.exchange.name",
    ),
    mode: z
      .enum(TRADING_MODES)
      .default("paper")
      .describe(
        "paper: trade on a paper exchange at spec.exchange.endpoint (such as the bundled exchange simulator); " +
          "testnet: the exchange's public test network; live: real money.",
      ),
    credentialsSecretRef: SecretReference.describe(
      "Secret holding the exchange API key under the key `apiKey` and the HMAC secret or Ed25519 private key " +
        "(PEM) under `secret`. Mounted into the bot as read-only files, never as environment variables. " +
        "A key that can withdraw is refused. Paper exchanges authenticate too, so every mode needs one.",
    ),
    endpoint: z
      .string()
      .max(2048)
      // Spelled out instead of \s-based: JavaScript and the API server's RE2 disagree on what \s matches.
      .regex(
        /^https?:\/\/([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(\/[-A-Za-z0-9._~%!$&'()*+,;=:@/]*)?$/,
        {
          message:
            "must be an http(s) URL: host name or IP address, optional port and path, no credentials, query " +
            "or fragment, such as http://exchange-sim.trading:8080",
        },
      )
      .optional()
      .describe(
        "Base URL that replaces the exchange's own API URL. Required in paper mode (the paper exchange's " +
          "URL); optional otherwise (for example an egress proxy). Must be https in live mode.",
      ),
    rotateCredentialsEvery: RotationPeriod.optional().describe(
      "How long the exchange credentials Secret may go without a change before the bot reports " +
        "CredentialsRotationDue=True (and the operator's metrics let an alert fire), such as 30d or 90d; at " +
        "least 1h. The age counts from status.credentials.since, when the operator first saw the Secret's " +
        "current version. Unset: no schedule.",
    ),
  }),
  [
    {
      rule: "self.mode != 'paper' || has(self.endpoint)",
      message:
        "spec.exchange.endpoint is required in paper mode: set it to the URL of the paper exchange (for example the exchange simulator)",
      fieldPath: ".endpoint",
      reason: "FieldValueRequired",
      holds: (e) => e.mode !== "paper" || e.endpoint !== undefined,
    },
    {
      rule: "self.mode != 'live' || !has(self.endpoint) || self.endpoint.startsWith('https://')",
      message:
        "spec.exchange.endpoint must use https:// in live mode: API keys and orders must not cross the network in clear",
      fieldPath: ".endpoint",
      holds: (e) => e.mode !== "live" || e.endpoint === undefined || e.endpoint.startsWith("https://"),
    },
  ],
).describe("Where and how the bot trades.");
export type ExchangeSpec = z.infer<typeof ExchangeSpec>;

export const MarketSymbol = immutable(
  z
    .string()
    .max(41)
    .regex(/^[A-Z0-9]{2,20}\/[A-Z0-9]{2,20}$/, {
      message: "must be a spot market as BASE/QUOTE in capitals, such as BTC/USDT",
    })
    .describe("Spot market to trade, as BASE/QUOTE (ccxt's unified symbol), such as BTC/USDT. Immutable."),
  "spec.symbol",
);

// ---------------------------------------------------------------------------------------------------------
// Strategies: a union discriminated by `type`, each with its own parameter block (the Kubernetes
// convention for unions, as in volume sources): `type: grid` goes with `grid: {...}` and no other block.

export const GridParams = withRules(
  z.strictObject({
    lowerPrice: positiveDecimal("Lowest price of the grid, in the quote currency."),
    upperPrice: positiveDecimal(
      "Highest price of the grid, in the quote currency. Must be above lowerPrice.",
    ),
    levels: z
      .number()
      .int()
      .min(2)
      .max(100)
      .describe("Number of price levels, evenly spaced from lowerPrice to upperPrice inclusive (2-100)."),
    quotePerOrder: positiveDecimal("Order size at each level, in the quote currency (for example USDT)."),
  }),
  [
    {
      rule: "double(self.lowerPrice) < double(self.upperPrice)",
      message: "lowerPrice must be below upperPrice",
      fieldPath: ".upperPrice",
      holds: (g) => Number(g.lowerPrice) < Number(g.upperPrice),
    },
  ],
).describe("Grid trading: buy orders below the price and sell orders above it, on fixed levels.");

export const DcaParams = z
  .strictObject({
    interval: durationString(
      ["m", "h", "d"],
      "must be a duration in minutes, hours or days, such as 15m, 4h or 1d",
    ).describe("Time between buys, such as 15m, 4h or 1d."),
    quotePerBuy: positiveDecimal("Amount spent on each buy, in the quote currency."),
    maxBuys: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .describe("Buys per cycle before the bot waits for the take-profit (1-1000)."),
    takeProfitPct: boundedPositiveDecimal(
      "Sell the whole position when the price is this many percent above the average entry (0-1000].",
      1000,
    ),
  })
  .describe("Dollar-cost averaging: buy a fixed amount every interval, sell everything at the take-profit.");

export const TIMEFRAMES = [
  "1m",
  "3m",
  "5m",
  "15m",
  "30m",
  "1h",
  "2h",
  "4h",
  "6h",
  "8h",
  "12h",
  "1d",
] as const;

export const SmaCrossParams = withRules(
  z.strictObject({
    fastPeriod: z
      .number()
      .int()
      .min(2)
      .max(500)
      .describe("Candles in the fast simple moving average (2-500)."),
    slowPeriod: z
      .number()
      .int()
      .min(3)
      .max(1000)
      .describe("Candles in the slow simple moving average (3-1000). Must exceed fastPeriod."),
    timeframe: z.enum(TIMEFRAMES).default("1h").describe("Candle timeframe the averages are computed on."),
    quotePerOrder: positiveDecimal("Amount bought on a golden cross, in the quote currency."),
  }),
  [
    {
      rule: "self.fastPeriod < self.slowPeriod",
      message: "fastPeriod must be smaller than slowPeriod",
      fieldPath: ".fastPeriod",
      holds: (s) => s.fastPeriod < s.slowPeriod,
    },
  ],
).describe(
  "Moving-average crossover: buy when the fast SMA crosses above the slow one, sell on the cross down.",
);

export const STRATEGY_TYPES = ["grid", "dca", "smaCross"] as const;
export type StrategyType = (typeof STRATEGY_TYPES)[number];

const STRATEGY_TYPE_DESCRIPTION =
  "Which strategy the bot runs: grid, dca or smaCross. Set the parameter block of the same name, and no other.";

export const Strategy = z
  .discriminatedUnion("type", [
    z.strictObject({ type: z.literal("grid").describe(STRATEGY_TYPE_DESCRIPTION), grid: GridParams }),
    z.strictObject({ type: z.literal("dca").describe(STRATEGY_TYPE_DESCRIPTION), dca: DcaParams }),
    z.strictObject({
      type: z.literal("smaCross").describe(STRATEGY_TYPE_DESCRIPTION),
      smaCross: SmaCrossParams,
    }),
  ])
  .describe(
    "What the bot trades on. Set type to grid, dca or smaCross and the parameter block of the same name.",
  );
export type Strategy = z.infer<typeof Strategy>;

/** The order size a strategy uses, in quote currency. */
export function strategyOrderQuote(strategy: Strategy): string {
  switch (strategy.type) {
    case "grid":
      return strategy.grid.quotePerOrder;
    case "dca":
      return strategy.dca.quotePerBuy;
    case "smaCross":
      return strategy.smaCross.quotePerOrder;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Risk

export const RiskLimits = withRules(
  z.strictObject({
    maxOrderQuote: positiveDecimal(
      "Largest notional of one order, in the quote currency. Larger orders are refused (not halting), except sells that only reduce the bot's position (a take-profit or a flatten).",
    ),
    maxPositionQuote: positiveDecimal(
      "Largest position, valued in the quote currency at the last price. Orders that would exceed it are refused.",
    ),
    maxDailyLossQuote: positiveDecimal(
      "Loss since 00:00 UTC (realized and unrealized), in the quote currency, that halts the bot. The halt latches.",
    ),
    maxDrawdownPct: boundedPositiveDecimal(
      "Fall of equity from its peak, in percent, that halts the bot. The halt latches.",
      100,
    ),
    maxOpenOrders: z
      .number()
      .int()
      .min(1)
      .max(200)
      .default(20)
      .describe("Most orders open at once; further orders are refused (1-200)."),
    maxOrdersPerMinute: z
      .number()
      .int()
      .min(1)
      .max(600)
      .default(30)
      .describe("Most new orders in any 60 seconds; further orders are refused (1-600)."),
    priceBandPct: boundedPositiveDecimal(
      "Limit orders priced further than this percentage from the last price are refused.",
      50,
    ).default("5"),
  }),
  [
    {
      rule: "double(self.maxOrderQuote) <= double(self.maxPositionQuote)",
      message: "maxOrderQuote must not exceed maxPositionQuote",
      fieldPath: ".maxOrderQuote",
      holds: (r) => Number(r.maxOrderQuote) <= Number(r.maxPositionQuote),
    },
  ],
).describe(
  "Limits checked before every order. Order, position, open-order, rate and price-band limits refuse the " +
    "order and record a risk event; daily loss and drawdown halt the bot until a human acknowledges it.",
);
export type RiskLimits = z.infer<typeof RiskLimits>;

// ---------------------------------------------------------------------------------------------------------
// Kill switch

export const ON_ENGAGE_ACTIONS = ["CancelOrders", "Flatten", "Freeze"] as const;
export type OnEngageAction = (typeof ON_ENGAGE_ACTIONS)[number];

/**
 * A healthy halt watch is confirmed about every 40 s (each watch ends within that and starts again): a
 * dead man's switch shorter than a minute would halt bots that are supervised.
 */
export const UnsupervisedPeriod = withRules(
  durationString(["s", "m", "h"], "must be a duration in seconds, minutes or hours, such as 90s, 5m or 1h"),
  [
    {
      // Minutes and hours are at least 1m by their pattern; seconds must be 60 or more.
      rule: "!self.endsWith('s') || self.matches('^([6-9][0-9]|[1-9][0-9]{2,4})s$')",
      message:
        "spec.killSwitch.haltIfUnsupervisedFor must be at least 60s: a healthy halt watch is confirmed only about every 40 s; such as 2m or 5m",
      holds: (period) => !period.endsWith("s") || /^([6-9][0-9]|[1-9][0-9]{2,4})s$/.test(period),
    },
  ],
);

export const BotKillSwitch = z
  .strictObject({
    engaged: z.boolean().default(false).describe("true halts the bot: its pod is stopped and trading ends."),
    reason: z
      .string()
      .max(256)
      .optional()
      .describe("Why the switch was engaged; shown in status and events."),
    onEngage: z
      .enum(ON_ENGAGE_ACTIONS)
      .default("CancelOrders")
      .describe(
        "What the bot does to its exchange state whenever it stops trading (halt, restart or deletion): " +
          "CancelOrders cancels its open orders; Flatten also sells the position at market; Freeze leaves " +
          "orders as they are.",
      ),
    acknowledgeHalt: z
      .string()
      .max(64)
      .optional()
      .describe(
        "Set to status.halt.id to release a latched risk halt after you have looked into it. " +
          "Any other value is refused in status.",
      ),
    haltIfUnsupervisedFor: UnsupervisedPeriod.optional().describe(
      "Dead man's switch: a runtime that has been unable to confirm its halt sources (its TradingBot and " +
        "the KillSwitches, watched in the API server) for this long halts itself with reason Unsupervised; " +
        "at least 60s, two minutes or more advised. Unset: it keeps trading through a control-plane outage " +
        "and says so in its log and metrics.",
    ),
  })
  .describe("Halts this bot on command. Anyone allowed to patch the TradingBot can engage it.");
export type BotKillSwitch = z.infer<typeof BotKillSwitch>;

/** haltIfUnsupervisedFor ("90s", "5m", "1h") in seconds. */
export function unsupervisedHaltSeconds(duration: string): number {
  return durationSeconds(duration, "spec.killSwitch.haltIfUnsupervisedFor");
}

// ---------------------------------------------------------------------------------------------------------
// Database

export const DatabaseSpec = z
  .strictObject({
    secretRef: SecretReference.describe(
      "Secret with the PostgreSQL connection of the bot's least-privilege role: keys host, port, database, " +
        "user, password, and optionally sslmode (default require) and ca.crt.",
    ),
    migrationSecretRef: SecretReference.optional().describe(
      "Secret of the same shape for a role allowed to change the schema. When set, an init step applies " +
        "migrations before the bot starts; only that step sees this Secret.",
    ),
    retentionDays: z
      .number()
      .int()
      .min(1)
      .max(3650)
      .default(90)
      .describe("Orders, fills and snapshots older than this are pruned (1-3650 days)."),
    auditRetentionDays: z
      .number()
      .int()
      .min(1)
      .max(36500)
      .optional()
      .describe("Audit rows older than this are pruned. Unset: the audit log is never pruned."),
  })
  .describe("Where the bot records every action (PostgreSQL).");
export type DatabaseSpec = z.infer<typeof DatabaseSpec>;

// ---------------------------------------------------------------------------------------------------------
// Pod placement and resources

const Quantity = z
  .string()
  .max(32)
  .regex(/^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/, {
    message: "must be a Kubernetes quantity such as 100m, 0.5, 128Mi or 1Gi",
  });

const ResourceList = z
  .strictObject({
    cpu: Quantity.optional().describe("CPU, such as 100m."),
    memory: Quantity.optional().describe("Memory, such as 192Mi."),
  })
  .describe("CPU and memory quantities.");

// The rules are the ones the API server applies to a pod's tolerations, checked here so that a bad toleration
// is refused on the TradingBot instead of failing every pod creation later.
export const Toleration = withRules(
  z.strictObject({
    key: LabelKey.optional().describe(
      "Taint key the toleration applies to. Unset with operator Exists tolerates every taint.",
    ),
    operator: z
      .enum(["Exists", "Equal"])
      .default("Equal")
      .describe("Equal matches the taint's value; Exists matches any value of the key."),
    value: LabelValue.optional().describe("Taint value to match with Equal; unset with Exists."),
    effect: z
      .enum(["NoSchedule", "PreferNoSchedule", "NoExecute"])
      .optional()
      .describe("Taint effect to match; unset matches all effects."),
    tolerationSeconds: z
      .number()
      .int()
      .min(0)
      .max(31_536_000)
      .optional()
      .describe("How long a NoExecute taint is tolerated before eviction (effect must be NoExecute)."),
  }),
  [
    {
      rule: "self.operator == 'Exists' || has(self.key)",
      message: "key is required unless operator is Exists (which, without a key, tolerates every taint)",
      fieldPath: ".key",
      reason: "FieldValueRequired",
      holds: (t) => t.operator === "Exists" || t.key !== undefined,
    },
    {
      rule: "self.operator != 'Exists' || !has(self.value)",
      message: "value must be unset when operator is Exists",
      fieldPath: ".value",
      reason: "FieldValueForbidden",
      holds: (t) => t.operator !== "Exists" || t.value === undefined,
    },
    {
      rule: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
      message: "tolerationSeconds needs effect NoExecute",
      fieldPath: ".tolerationSeconds",
      holds: (t) => t.tolerationSeconds === undefined || t.effect === "NoExecute",
    },
  ],
).describe("A pod toleration (corev1.Toleration).");

export const PodSpecOverrides = z
  .strictObject({
    image: z
      .string()
      .max(512)
      .regex(/^[!-~]+$/, {
        message: "must be an image reference (printable ASCII, no spaces), such as ghcr.io/example/bot:1.0",
      })
      .optional()
      .describe("Bot runtime image; defaults to the operator's configured image."),
    resources: z
      .strictObject({
        requests: ResourceList.optional(),
        limits: ResourceList.optional(),
      })
      .optional()
      .describe("Resources of the bot container; defaults are small (one bot needs little)."),
    nodeSelector: labelMap("Node labels the pod must run on.").optional(),
    tolerations: z.array(Toleration).max(32).optional().describe("Taints the pod tolerates."),
    priorityClassName: objectName("PriorityClass of the pod.").optional(),
    terminationGracePeriodSeconds: z
      .number()
      .int()
      .min(10)
      .max(600)
      .default(30)
      .describe("Time the bot has to cancel its orders after it is told to stop (10-600 s)."),
  })
  .describe("How the bot pod is placed and sized.");
export type PodSpecOverrides = z.infer<typeof PodSpecOverrides>;

// ---------------------------------------------------------------------------------------------------------
// Network

export const CIDR = z
  .string()
  .max(49)
  .regex(/^(([0-9]{1,3}\.){3}[0-9]{1,3}\/[0-9]{1,2}|[0-9a-fA-F:]+\/[0-9]{1,3})$/, {
    message: "must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32",
  });

export const EgressPeer = withRules(
  z.strictObject({
    cidr: CIDR.optional().describe("Addresses the bot may reach, as a CIDR."),
    except: z.array(CIDR).max(32).optional().describe("CIDRs inside cidr that stay closed."),
    namespaceSelector: z
      .strictObject({ matchLabels: MatchLabels })
      .optional()
      .describe("Namespaces whose pods the bot may reach (with podSelector: only those pods)."),
    podSelector: z
      .strictObject({ matchLabels: MatchLabels })
      .optional()
      .describe("Pods the bot may reach (in its own namespace unless namespaceSelector is set)."),
  }),
  [
    {
      rule: "has(self.cidr) != (has(self.namespaceSelector) || has(self.podSelector))",
      message: "set either cidr or namespaceSelector/podSelector, not both and not neither",
      holds: (p) =>
        (p.cidr !== undefined) !== (p.namespaceSelector !== undefined || p.podSelector !== undefined),
    },
    {
      rule: "!has(self.except) || has(self.cidr)",
      message: "except needs cidr",
      fieldPath: ".except",
      holds: (p) => p.except === undefined || p.cidr !== undefined,
    },
  ],
).describe("A destination the bot may open connections to (a NetworkPolicy peer).");
export type EgressPeer = z.infer<typeof EgressPeer>;

export const NetworkSpec = z
  .strictObject({
    exchangeEgress: z
      .array(EgressPeer)
      .max(32)
      .optional()
      .describe(
        "Where the exchange endpoint lives. Unset: any address, on the endpoint's port only (exchanges sit " +
          "behind CDNs whose addresses change).",
      ),
    databaseEgress: z
      .array(EgressPeer)
      .max(32)
      .optional()
      .describe("Where the database lives. Unset: any address, on the database port only."),
  })
  .describe(
    "Egress of the bot pod. The bot may only reach DNS, the exchange and the database; while halted, nothing.",
  );
export type NetworkSpec = z.infer<typeof NetworkSpec>;

// ---------------------------------------------------------------------------------------------------------
// TradingBot

export const TradingBotSpec = withRules(
  z.strictObject({
    exchange: ExchangeSpec,
    symbol: MarketSymbol,
    strategy: Strategy,
    risk: RiskLimits,
    killSwitch: BotKillSwitch.prefault({}),
    database: DatabaseSpec,
    pod: PodSpecOverrides.prefault({}),
    network: NetworkSpec.optional(),
  }),
  [
    {
      // Guarded with has(): a missing parameter block is reported by the strategy's own union rule.
      rule:
        "self.strategy.type == 'grid' ? !has(self.strategy.grid) || double(self.strategy.grid.quotePerOrder) <= double(self.risk.maxOrderQuote)" +
        " : self.strategy.type == 'dca' ? !has(self.strategy.dca) || double(self.strategy.dca.quotePerBuy) <= double(self.risk.maxOrderQuote)" +
        " : !has(self.strategy.smaCross) || double(self.strategy.smaCross.quotePerOrder) <= double(self.risk.maxOrderQuote)",
      message:
        "the strategy's order size exceeds spec.risk.maxOrderQuote, so every order would be refused: lower the order size or raise the limit",
      fieldPath: ".risk.maxOrderQuote",
      holds: (s) => Number(strategyOrderQuote(s.strategy)) <= Number(s.risk.maxOrderQuote),
    },
  ],
).describe("Desired state of a trading bot.");
export type TradingBotSpec = z.infer<typeof TradingBotSpec>;
/** A spec as a user writes it: fields with defaults may be absent. */
export type TradingBotSpecInput = z.input<typeof TradingBotSpec>;

export const BOT_PHASES = ["Pending", "Running", "Halting", "Halted", "Degraded", "Terminating"] as const;
export type BotPhase = (typeof BOT_PHASES)[number];

export const BOT_CONDITION_TYPES = [
  "Ready",
  "Halted",
  "CredentialsAvailable",
  "RuntimeReachable",
  "CredentialsRotationDue",
] as const;
export type BotConditionType = (typeof BOT_CONDITION_TYPES)[number];

export const HaltStatus = z
  .strictObject({
    engaged: z.boolean().describe("Whether the bot is halted now."),
    source: z
      .string()
      .max(300)
      .regex(/^(Spec|Risk|KillSwitch\/.+)$/)
      .optional()
      .describe(
        "What halted it: Spec (its own kill switch), KillSwitch/<name>, or Risk (a latched risk halt).",
      ),
    reason: z.string().max(1024).optional().describe("Why, as given by the source."),
    by: z
      .string()
      .max(512)
      .optional()
      .describe(
        "Who engaged it: the user who last changed the source's kill switch, as stamped at admission " +
          "(annotation trading.botops.dev/kill-switch-changed-by). Unset for a risk halt, and when no stamp is there.",
      ),
    since: timestamp("When the current halt began.").optional(),
    id: z
      .string()
      .max(64)
      .optional()
      .describe("Identifier of a latched risk halt; acknowledgeHalt must repeat it."),
    requiresAck: z
      .boolean()
      .optional()
      .describe("True while a risk halt waits for spec.killSwitch.acknowledgeHalt to equal id."),
    stoppedBy: z
      .enum(["Runtime", "Operator"])
      .optional()
      .describe(
        "Which path stopped trading first: Runtime (the bot's own watch of its halt sources) or Operator " +
          "(the pod deletion). Unset until the bot's runtime has ended.",
      ),
    message: z
      .string()
      .max(2048)
      .optional()
      .describe("What the user can do next, such as a refused acknowledgement."),
  })
  .describe("The halt state the operator enforces.");
export type HaltStatus = z.infer<typeof HaltStatus>;

export const RuntimeStatus = z
  .strictObject({
    heartbeat: timestamp("Last heartbeat reported by the bot runtime.").optional(),
    state: z.string().max(64).optional().describe("Runtime state: Starting, Trading, FailClosed, Stopping."),
    openOrders: z.number().int().min(0).optional().describe("Open orders at the exchange."),
    position: nonNegativeDecimal("Position in the base currency.").optional(),
    realizedPnl: signedDecimal("Realized profit and loss, in the quote currency.").optional(),
    equity: nonNegativeDecimal("Equity (quote balance plus position at the last price).").optional(),
  })
  .describe("What the bot runtime last reported about its trading.");
export type RuntimeStatus = z.infer<typeof RuntimeStatus>;

export const CredentialsStatus = z
  .strictObject({
    secretName: objectName("The exchange credentials Secret (spec.exchange.credentialsSecretRef.name)."),
    secretResourceVersion: z
      .string()
      .max(64)
      .describe(
        "The Secret's metadata.resourceVersion the operator last saw: a version, the one the bot's pod " +
          "restarts on, and nothing derived from the Secret's values.",
      ),
    since: timestamp(
      "Since when the Secret has held its current data: when the operator first saw this version, or the " +
        "Secret's creationTimestamp for a Secret it had not seen before. Its age (CredentialsRotationDue, " +
        "tradingbot_credentials_age_seconds) counts from here.",
    ),
  })
  .describe("The key-rotation clock of the exchange credentials, kept by the operator.");
export type CredentialsStatus = z.infer<typeof CredentialsStatus>;

export const AuditAnchorStatus = AuditHead.extend({
  at: timestamp("When the operator recorded this head from the runtime's report."),
  lastEvent: z
    .strictObject({
      sequence: z.number().int().min(1).describe("The sequence the Event recorded."),
      at: timestamp("When the operator recorded the Event."),
    })
    .optional()
    .describe(
      "The head last recorded in an AuditAnchor Event (the operator's cadence counts from it). Events " +
        "expire (one hour by default), so this status is the anchor that lasts.",
    ),
}).describe(
  "The head of the bot's audit chain (its newest audit row) as the runtime last reported it: the anchor " +
    "`bot-runtime audit verify --anchors` holds the database to. Only moves forward.",
);
export type AuditAnchorStatus = z.infer<typeof AuditAnchorStatus>;

export const TradingBotStatus = z
  .strictObject({
    phase: z
      .enum(BOT_PHASES)
      .optional()
      .describe("Lifecycle phase: Pending, Running, Halting, Halted, Degraded, Terminating."),
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("The .metadata.generation last acted on."),
    conditions: mapList(z.array(Condition).max(16), "type")
      .optional()
      .describe(
        "Ready, Halted, CredentialsAvailable, RuntimeReachable and, with spec.exchange.rotateCredentialsEvery, " +
          "CredentialsRotationDue, as metav1.Conditions.",
      ),
    podName: z.string().max(253).optional().describe("Name of the bot pod while one exists."),
    halt: HaltStatus.optional(),
    runtime: RuntimeStatus.optional(),
    credentials: CredentialsStatus.optional(),
    audit: AuditAnchorStatus.optional(),
  })
  .describe("Observed state of a trading bot, written by the operator.");
export type TradingBotStatus = z.infer<typeof TradingBotStatus>;

export const TradingBot = z.looseObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(TRADING_BOT.kind),
  metadata: ObjectMeta,
  spec: TradingBotSpec,
  status: TradingBotStatus.optional(),
});
export type TradingBot = z.infer<typeof TradingBot>;
