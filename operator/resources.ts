import {
  GROUP,
  KILL_SWITCH,
  type KillSwitchStatus,
  TRADING_BOT,
  TRADING_POLICY,
  type TradingBotStatus,
  VERSION,
} from "../api/v1alpha1/index.ts";
import { CORE_RESOURCES, type ResourceType } from "./kube/resources.ts";
import type { KubeObject } from "./kube/types.ts";

/** A TradingBot as it comes from the API: the spec is validated before use, never trusted. */
export type TradingBotObject = KubeObject & { spec?: unknown; status?: TradingBotStatus };
/** A KillSwitch as it comes from the API: read leniently (killswitch/view.ts), never trusted. */
export type KillSwitchObject = KubeObject & { spec?: unknown; status?: KillSwitchStatus };

/** A TradingPolicy as it comes from the API: parsed before use; one that does not parse refuses bots. */
export type TradingPolicyObject = KubeObject & { spec?: unknown };

/** Every kind the operator reads or writes: the built-in ones and its own three. */
export const RESOURCES = {
  ...CORE_RESOURCES,
  tradingBots: {
    group: GROUP,
    version: VERSION,
    kind: TRADING_BOT.kind,
    plural: TRADING_BOT.plural,
    namespaced: true,
  },
  killSwitches: {
    group: GROUP,
    version: VERSION,
    kind: KILL_SWITCH.kind,
    plural: KILL_SWITCH.plural,
    namespaced: false,
  },
  tradingPolicies: {
    group: GROUP,
    version: VERSION,
    kind: TRADING_POLICY.kind,
    plural: TRADING_POLICY.plural,
    namespaced: false,
  },
} as const satisfies Record<string, ResourceType>;
