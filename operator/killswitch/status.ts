import type { Condition, KillSwitchStatus } from "../../api/v1alpha1/index.ts";
import { type BotView, type KillSwitchView, killSwitchSelects } from "../tradingbot/halt.ts";

export interface SelectableBot extends BotView {
  halted: boolean;
}

export interface KillSwitchStatusInput {
  current: KillSwitchStatus | undefined;
  generation: number | undefined;
  /** The validated switch, or undefined with the issues when its spec does not parse. */
  view: KillSwitchView | undefined;
  issues: string | undefined;
  bots: Iterable<SelectableBot>;
  now: string;
}

/** How many bots a KillSwitch selects and how many of those are halted (by anything), and since when. */
export function computeKillSwitchStatus(input: KillSwitchStatusInput): KillSwitchStatus {
  const { current, view, now } = input;
  let matched = 0;
  let halted = 0;
  if (view) {
    for (const bot of input.bots) {
      if (!killSwitchSelects(view, bot)) continue;
      matched += 1;
      if (bot.halted) halted += 1;
    }
  }
  const ready = view
    ? view.spec.engaged
      ? {
          status: "True" as const,
          reason: "Engaged",
          message: "Every TradingBot this switch selects is halted.",
        }
      : {
          status: "True" as const,
          reason: "Disengaged",
          message: "The switch halts nothing while disengaged.",
        }
    : {
        status: "False" as const,
        reason: "InvalidSpec",
        message: `The spec is not valid, so the switch selects nothing: ${input.issues ?? ""}`,
      };
  const previous = current?.conditions?.find((c) => c.type === "Ready");
  const condition: Condition = {
    type: "Ready",
    ...ready,
    lastTransitionTime: previous && previous.status === ready.status ? previous.lastTransitionTime : now,
  };
  if (input.generation !== undefined) condition.observedGeneration = input.generation;
  const status: KillSwitchStatus = { matchedBots: matched, haltedBots: halted, conditions: [condition] };
  if (input.generation !== undefined) status.observedGeneration = input.generation;
  if (view?.spec.engaged) status.engagedSince = current?.engagedSince ?? now;
  return status;
}
