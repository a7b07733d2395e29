import type { z } from "zod";
import {
  BotKillSwitch,
  KillSwitchSpec,
  type KillSwitchStatus,
  TradingBotSpec,
  type TradingBotStatus,
} from "../../api/v1alpha1/index.ts";
import type { KubeObject } from "../kube/types.ts";
import type { KillSwitchView } from "./halt.ts";

/** A TradingBot as it comes from the API: the spec is validated before use, never trusted. */
export type TradingBotObject = KubeObject & { spec?: unknown; status?: TradingBotStatus };
export type KillSwitchObject = KubeObject & { spec?: unknown; status?: KillSwitchStatus };

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
const parsedSpecs = new Map<string, { generation: number | undefined; parsed: ParsedSpec }>();
// Cache objects are replaced, never mutated, on change: a KillSwitch is parsed once per object version.
const parsedKillSwitches = new WeakMap<object, KillSwitchView | null>();

/** The bot's spec, defaults applied; or the reasons it is invalid (a spec from an older schema, say). */
export function parseBotSpec(bot: TradingBotObject): ParsedSpec {
  const uid = bot.metadata.uid ?? "";
  const known = parsedSpecs.get(uid);
  if (uid !== "" && known && known.generation === bot.metadata.generation) return known.parsed;
  const result = TradingBotSpec.safeParse(bot.spec);
  const parsed: ParsedSpec = result.success
    ? { ok: true, spec: result.data }
    : { ok: false, issues: describeIssues("spec", result.error) };
  if (uid !== "") parsedSpecs.set(uid, { generation: bot.metadata.generation, parsed });
  return parsed;
}

export function forgetBotSpec(uid: string | undefined) {
  if (uid) parsedSpecs.delete(uid);
}

/** The bot's own kill switch, read on its own so that it works even when the rest of the spec does not. */
export function botKillSwitch(bot: TradingBotObject): BotKillSwitch | undefined {
  const parsed = parseBotSpec(bot);
  if (parsed.ok) return parsed.spec.killSwitch;
  const killSwitch = BotKillSwitch.safeParse(
    (bot.spec as { killSwitch?: unknown } | undefined)?.killSwitch ?? {},
  );
  return killSwitch.success ? killSwitch.data : undefined;
}

/** A KillSwitch's validated spec, or null when it does not parse (it then selects nothing). */
export function killSwitchView(object: KillSwitchObject): KillSwitchView | null {
  let view = parsedKillSwitches.get(object);
  if (view === undefined) {
    const result = KillSwitchSpec.safeParse(object.spec);
    view = result.success ? { name: object.metadata.name, spec: result.data } : null;
    parsedKillSwitches.set(object, view);
  }
  return view;
}

export function killSwitchIssues(object: KillSwitchObject): string | undefined {
  const result = KillSwitchSpec.safeParse(object.spec);
  return result.success ? undefined : describeIssues("spec", result.error);
}
