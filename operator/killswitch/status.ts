import {
  type Condition,
  type KillSwitchStatus,
  type KillSwitchView,
  killSwitchSelects,
  type SelectableBot,
} from "../../api/v1alpha1/index.ts";

/** A TradingBot as a KillSwitch counts it. */
export interface CountedBot extends SelectableBot {
  /** Its status records a halt (by anything). */
  haltRecorded: boolean;
  /** A pod of it still exists (running or terminating). */
  hasPod: boolean;
}

export interface KillSwitchStatusInput {
  current: KillSwitchStatus | undefined;
  generation: number | undefined;
  view: KillSwitchView;
  bots: Iterable<CountedBot>;
  now: string;
}

interface ConditionValue {
  status: "True" | "False";
  reason: string;
  message: string;
}

function readiness(view: KillSwitchView, matched: number, halted: number): ConditionValue {
  if (view.problems.length > 0) {
    return {
      status: "False",
      reason: "SpecUnreadable",
      message:
        `Part of the spec cannot be read, so the switch is taken to halt every TradingBot it could select ` +
        `(${halted} of ${matched} halted): ${view.problems.join("; ")}`,
    };
  }
  if (!view.engaged) {
    return { status: "True", reason: "Disengaged", message: "The switch halts nothing while disengaged." };
  }
  const stopping = matched - halted;
  if (stopping > 0) {
    return {
      status: "False",
      reason: "Halting",
      message: `${stopping} of the ${matched} TradingBots this switch selects are not halted yet.`,
    };
  }
  return {
    status: "True",
    reason: "Engaged",
    message: `Every TradingBot this switch selects is halted (${matched}), and none has a pod left.`,
  };
}

/**
 * How many bots a KillSwitch selects, how many of those are halted (the halt on record and the pod
 * gone) and, while engaged, how many are still stopping. Ready is True for an engaged switch only
 * when none is.
 */
export function computeKillSwitchStatus(input: KillSwitchStatusInput): KillSwitchStatus {
  const { current, view, now } = input;
  let matched = 0;
  let halted = 0;
  for (const bot of input.bots) {
    if (!killSwitchSelects(view, bot)) continue;
    matched += 1;
    if (bot.haltRecorded && !bot.hasPod) halted += 1;
  }
  const ready = readiness(view, matched, halted);
  const previous = current?.conditions?.find((c) => c.type === "Ready");
  const condition: Condition = {
    type: "Ready",
    ...ready,
    lastTransitionTime: previous && previous.status === ready.status ? previous.lastTransitionTime : now,
  };
  if (input.generation !== undefined) condition.observedGeneration = input.generation;
  const status: KillSwitchStatus = {
    matchedBots: matched,
    haltedBots: halted,
    stoppingBots: view.engaged ? matched - halted : 0,
    conditions: [condition],
  };
  if (input.generation !== undefined) status.observedGeneration = input.generation;
  if (view.engaged) status.engagedSince = current?.engagedSince ?? now;
  return status;
}
