/** The API group and version every kind of this project lives in. */
export const GROUP = "trading.botops.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

export const TRADING_BOT = { kind: "TradingBot", plural: "tradingbots", singular: "tradingbot" } as const;
export const KILL_SWITCH = { kind: "KillSwitch", plural: "killswitches", singular: "killswitch" } as const;
export const TRADING_POLICY = {
  kind: "TradingPolicy",
  plural: "tradingpolicies",
  singular: "tradingpolicy",
} as const;
