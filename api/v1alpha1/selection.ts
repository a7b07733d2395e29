import type { z } from "zod";
import { KillSwitchSpec } from "./killswitch.ts";
import { LabelSelector } from "./meta.ts";
import { type BotKillSwitch, BotKillSwitch as BotKillSwitchSchema, ON_ENGAGE_ACTIONS } from "./tradingbot.ts";

// Which bots a kill switch halts, read the way a halt must be read: leniently and failing closed. A
// KillSwitch or a bot's spec.killSwitch written under a newer schema than the reader's still halts:
// unknown fields are ignored, and a field that cannot be read is taken in the direction that halts
// (a switch whose selection cannot be read selects every bot it could select). The operator and the
// bot runtime both decide with these functions.

/** metav1.LabelSelector semantics: matchLabels and matchExpressions are ANDed; absent or empty matches all. */
export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string> = {}) {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, key);
    const value = labels[key];
    switch (operator) {
      case "In":
        if (!has || !values.includes(value as string)) return false;
        break;
      case "NotIn":
        if (has && values.includes(value as string)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
    }
  }
  return true;
}

/** A KillSwitch as a halt reads it. */
export interface KillSwitchView {
  name: string;
  engaged: boolean;
  reason: string | undefined;
  /** Namespaces it selects; "all" when the list is empty or cannot be read. */
  namespaces: readonly string[] | "all";
  /** Its label selector; "unreadable" selects every bot of its namespaces. */
  selector: LabelSelector | undefined | "unreadable";
  /** What could not be read, each with the field and how it was taken; empty when all of it was. */
  problems: string[];
  /** Who last changed spec.engaged, as stamped at admission; undefined without a stamp. */
  changedBy?: string | undefined;
}

/** A TradingBot, as far as selection goes. */
export interface SelectableBot {
  namespace: string;
  labels: Record<string, string> | undefined;
}

function issuesOf(field: string, error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${[field, ...issue.path.map(String)].join(".")}: ${issue.message}`)
    .join("; ");
}

const asRecord = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;

/** A KillSwitch's spec, read field by field with the schema's own pieces; never throws. */
export function readKillSwitch(name: string, rawSpec: unknown): KillSwitchView {
  const problems: string[] = [];
  const spec = asRecord(rawSpec);
  const shape = KillSwitchSpec.shape;

  let engaged = true;
  if (typeof spec?.engaged === "boolean") engaged = spec.engaged;
  else problems.push("spec.engaged is not a boolean: read as engaged (a switch that cannot be read halts)");

  const reason = shape.reason.safeParse(spec?.reason);
  const namespaces = shape.namespaces.safeParse(spec?.namespaces);
  if (!namespaces.success) {
    problems.push(`${issuesOf("spec.namespaces", namespaces.error)}: read as every namespace`);
  }
  let selector: KillSwitchView["selector"];
  if (spec?.selector !== undefined) {
    const parsed = LabelSelector.safeParse(spec.selector);
    if (parsed.success) selector = parsed.data;
    else {
      selector = "unreadable";
      problems.push(`${issuesOf("spec.selector", parsed.error)}: read as selecting every TradingBot`);
    }
  }
  const list = namespaces.success ? namespaces.data : [];
  return {
    name,
    engaged,
    reason: reason.success ? reason.data : undefined,
    namespaces: list.length > 0 ? list : "all",
    selector,
    problems,
  };
}

/** Whether the switch selects the bot (engaged or not). */
export function killSwitchSelects(view: KillSwitchView, bot: SelectableBot): boolean {
  if (view.namespaces !== "all" && !view.namespaces.includes(bot.namespace)) return false;
  if (view.selector === "unreadable") return true;
  return selectorMatches(view.selector, bot.labels);
}

/** A bot's spec.killSwitch as a halt reads it: never throws, and an unreadable `engaged` halts. */
export function readBotKillSwitch(raw: unknown): { killSwitch: BotKillSwitch; problems: string[] } {
  const block = asRecord(raw) ?? {};
  const problems: string[] = [];
  const shape = BotKillSwitchSchema.shape;
  const engaged = shape.engaged.safeParse(block.engaged);
  if (!engaged.success) {
    problems.push(
      "spec.killSwitch.engaged is not a boolean: read as engaged (a switch that cannot be read halts)",
    );
  }
  const onEngage = shape.onEngage.safeParse(block.onEngage);
  if (!onEngage.success) {
    problems.push(
      `spec.killSwitch.onEngage must be one of ${ON_ENGAGE_ACTIONS.join(", ")}: read as CancelOrders`,
    );
  }
  const reason = shape.reason.safeParse(block.reason);
  const acknowledgement = shape.acknowledgeHalt.safeParse(block.acknowledgeHalt);
  const killSwitch: BotKillSwitch = {
    engaged: engaged.success ? engaged.data : true,
    onEngage: onEngage.success ? onEngage.data : "CancelOrders",
  };
  if (reason.success && reason.data !== undefined) killSwitch.reason = reason.data;
  if (acknowledgement.success && acknowledgement.data !== undefined) {
    killSwitch.acknowledgeHalt = acknowledgement.data;
  }
  return { killSwitch, problems };
}
