import type { z } from "zod";
import { type BotKillSwitch, readBotKillSwitch, TradingBotSpec } from "../../api/v1alpha1/index.ts";
import type { TradingBotObject } from "../resources.ts";

export type ParsedSpec = { ok: true; spec: TradingBotSpec } | { ok: false; issues: string };

/** zod issues as the user reads them: field path and message, joined. */
export function describeIssues(prefix: string, error: z.ZodError): string {
  return error.issues
    .slice(0, 10)
    .map((issue) => `${[prefix, ...issue.path.map(String)].join(".")}: ${issue.message}`)
    .join("; ");
}

// A spec changes only with metadata.generation: it is parsed once per generation (status writes, which
// replace the cached object many times, do not parse it again). Forgotten with the bot.
const parsedSpecs = new Map<
  string,
  { generation: number | undefined; parsed: ParsedSpec; killSwitch: ReturnType<typeof readBotKillSwitch> }
>();

function parsedOf(bot: TradingBotObject) {
  const uid = bot.metadata.uid ?? "";
  const known = parsedSpecs.get(uid);
  if (uid !== "" && known && known.generation === bot.metadata.generation) return known;
  const result = TradingBotSpec.safeParse(bot.spec);
  const parsed: ParsedSpec = result.success
    ? { ok: true, spec: result.data }
    : { ok: false, issues: describeIssues("spec", result.error) };
  const entry = {
    generation: bot.metadata.generation,
    parsed,
    killSwitch: readBotKillSwitch((bot.spec as { killSwitch?: unknown } | undefined)?.killSwitch),
  };
  if (uid !== "") parsedSpecs.set(uid, entry);
  return entry;
}

/** The bot's spec, defaults applied; or the reasons it is invalid (a spec from an older schema, say). */
export function parseBotSpec(bot: TradingBotObject): ParsedSpec {
  return parsedOf(bot).parsed;
}

export function forgetBotSpec(uid: string | undefined) {
  if (uid) parsedSpecs.delete(uid);
}

/**
 * The bot's own kill switch, read on its own and leniently (readBotKillSwitch), so that it halts even
 * when the rest of the spec does not parse, or was written under a newer schema.
 */
export function botKillSwitch(bot: TradingBotObject): { killSwitch: BotKillSwitch; problems: string[] } {
  return parsedOf(bot).killSwitch;
}
