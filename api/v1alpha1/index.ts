export * from "./group.ts";
export * from "./killswitch.ts";
export * from "./meta.ts";
export * from "./rules.ts";
export * from "./runtime-config.ts";
export * from "./scalars.ts";
export * from "./selection.ts";
export * from "./tradingbot.ts";
