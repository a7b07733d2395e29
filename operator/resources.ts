import { GROUP, KILL_SWITCH, TRADING_BOT, VERSION } from "../api/v1alpha1/index.ts";
import { CORE_RESOURCES, type ResourceType } from "./kube/resources.ts";

/** Every kind the operator reads or writes: the built-in ones and its own two. */
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
} as const satisfies Record<string, ResourceType>;
