import { GROUP, KILL_SWITCH, TRADING_BOT, TRADING_POLICY, VERSION } from "../v1alpha1/group.ts";
import { KillSwitchSpec, KillSwitchStatus } from "../v1alpha1/killswitch.ts";
import { TradingBotSpec, TradingBotStatus } from "../v1alpha1/tradingbot.ts";
import { TradingPolicySpec } from "../v1alpha1/tradingpolicy.ts";
import type { ResourceDefinition } from "./crd.ts";

const CATEGORY = "trading";

const AGE = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
  description: "Time since the object was created.",
} as const;

export const TRADING_BOT_RESOURCE: ResourceDefinition = {
  group: GROUP,
  version: VERSION,
  ...TRADING_BOT,
  shortNames: ["tb"],
  categories: [CATEGORY],
  scope: "Namespaced",
  description:
    "A TradingBot runs one trading strategy on one spot market as a locked-down pod, within risk limits, " +
    "and stops trading when its kill switch, a KillSwitch that selects it, or a latched risk halt says so.",
  spec: TradingBotSpec,
  status: TradingBotStatus,
  printerColumns: [
    { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Lifecycle phase of the bot." },
    { name: "Mode", type: "string", jsonPath: ".spec.exchange.mode", description: "paper, testnet or live." },
    { name: "Symbol", type: "string", jsonPath: ".spec.symbol", description: "The spot market traded." },
    { name: "Strategy", type: "string", jsonPath: ".spec.strategy.type", description: "The strategy type." },
    {
      name: "Halted",
      type: "string",
      // The condition rather than status.halt.engaged: it reads True/False/Unknown like every other
      // Kubernetes condition, and is what `kubectl wait --for=condition=Halted` waits on.
      jsonPath: '.status.conditions[?(@.type=="Halted")].status',
      description: "Whether the bot is halted (its Halted condition).",
    },
    {
      name: "Halted By",
      type: "string",
      jsonPath: ".status.halt.by",
      description: "Who engaged the halt: the user who changed its kill switch (stamped at admission).",
    },
    {
      name: "Orders",
      type: "integer",
      jsonPath: ".status.runtime.openOrders",
      description: "Open orders at the exchange, as the bot last reported.",
    },
    {
      name: "PnL",
      type: "string",
      jsonPath: ".status.runtime.realizedPnl",
      description: "Realized profit and loss in the quote currency, as the bot last reported.",
    },
    {
      name: "Halt Source",
      type: "string",
      jsonPath: ".status.halt.source",
      description: "What halted the bot: Spec, KillSwitch/<name> or Risk.",
      priority: 1,
    },
    AGE,
  ],
};

export const KILL_SWITCH_RESOURCE: ResourceDefinition = {
  group: GROUP,
  version: VERSION,
  ...KILL_SWITCH,
  shortNames: ["ks"],
  categories: [CATEGORY],
  scope: "Cluster",
  description:
    "A KillSwitch halts every TradingBot it selects, across namespaces, while it is engaged: one apply stops " +
    "a whole fleet, and setting engaged to false releases it.",
  spec: KillSwitchSpec,
  status: KillSwitchStatus,
  printerColumns: [
    {
      name: "Engaged",
      type: "boolean",
      jsonPath: ".spec.engaged",
      description: "Whether the switch is engaged.",
    },
    {
      name: "Halted Bots",
      type: "integer",
      jsonPath: ".status.haltedBots",
      description: "Selected TradingBots that are halted now.",
    },
    {
      name: "Stopping",
      type: "integer",
      jsonPath: ".status.stoppingBots",
      description: "Selected TradingBots not halted yet.",
    },
    {
      name: "Matched Bots",
      type: "integer",
      jsonPath: ".status.matchedBots",
      description: "TradingBots the switch selects.",
      priority: 1,
    },
    {
      name: "Reason",
      type: "string",
      jsonPath: ".spec.reason",
      description: "Why the fleet is halted.",
      priority: 1,
    },
    AGE,
  ],
};

export const TRADING_POLICY_RESOURCE: ResourceDefinition = {
  group: GROUP,
  version: VERSION,
  ...TRADING_POLICY,
  shortNames: ["tpol"],
  categories: [CATEGORY],
  scope: "Cluster",
  description:
    "A TradingPolicy says what TradingBots of the namespaces it names may ask for beyond their schema: images, " +
    "paper endpoints, egress peers, placement, grace periods and live trading. It is enforced at admission and " +
    "by the operator; a bot must satisfy every TradingPolicy that applies to it.",
  spec: TradingPolicySpec,
  printerColumns: [
    {
      name: "Digests Only",
      type: "boolean",
      jsonPath: ".spec.images.digestsOnly",
      description: "Whether bot images must be pinned by digest.",
    },
    {
      name: "Max Grace",
      type: "integer",
      jsonPath: ".spec.maxGracePeriodSeconds",
      description: "The longest grace period a bot may ask for, in seconds.",
    },
    AGE,
  ],
};

export const RESOURCES = [TRADING_BOT_RESOURCE, KILL_SWITCH_RESOURCE, TRADING_POLICY_RESOURCE];
