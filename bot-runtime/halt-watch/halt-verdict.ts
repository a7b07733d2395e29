import {
  KILL_SWITCH_CHANGED_BY_ANNOTATION,
  killSwitchSelects,
  type OnEngageAction,
  readBotKillSwitch,
  readKillSwitch,
} from "../../api/v1alpha1/index.ts";

// Whether the bot must stop trading, from what its halt watch sees: its own TradingBot and the
// KillSwitches. Pure, and read the way the operator reads them (the same lenient readers and the same
// selection function from api/), so both paths halt for the same reasons.

export interface WatchedObject {
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    resourceVersion?: string;
  };
  spec?: unknown;
}

export type HaltVerdict =
  | { halted: false }
  | {
      halted: true;
      /** Spec, KillSwitch/<name> or Deleted (its TradingBot is gone or going). */
      source: string;
      reason: string;
      /** Who last changed the source's switch, as stamped at admission. */
      by: string | undefined;
      /** What to do with the bot's orders: its spec.killSwitch.onEngage as it reads now. */
      onEngage: OnEngageAction;
    };

export interface HaltWatchView {
  namespace: string;
  /** The bot's TradingBot; undefined when the watch listed it and it is not there. */
  bot: WatchedObject | undefined;
  /** The KillSwitches, as far as listed (none yet is no reason to wait: the bot's own switch still counts). */
  killSwitches: Iterable<WatchedObject>;
  /** onStop of the runtime's config: used when the TradingBot itself is gone. */
  configuredOnEngage: OnEngageAction;
}

const stampOf = (object: WatchedObject) => object.metadata.annotations?.[KILL_SWITCH_CHANGED_BY_ANNOTATION];

export function haltVerdict(view: HaltWatchView): HaltVerdict {
  const { bot } = view;
  if (!bot || bot.metadata.deletionTimestamp) {
    return {
      halted: true,
      source: "Deleted",
      reason: "the TradingBot was deleted",
      by: undefined,
      onEngage: view.configuredOnEngage,
    };
  }
  const spec = bot.spec as { killSwitch?: unknown } | undefined;
  const { killSwitch } = readBotKillSwitch(spec?.killSwitch);
  const onEngage = killSwitch.onEngage;
  if (killSwitch.engaged) {
    return {
      halted: true,
      source: "Spec",
      reason: killSwitch.reason || "spec.killSwitch.engaged is true",
      by: stampOf(bot),
      onEngage,
    };
  }
  const selectable = { namespace: view.namespace, labels: bot.metadata.labels };
  const switches = [...view.killSwitches].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const object of switches) {
    const switchView = readKillSwitch(object.metadata.name, object.spec);
    if (switchView.engaged && killSwitchSelects(switchView, selectable)) {
      return {
        halted: true,
        source: `KillSwitch/${switchView.name}`,
        reason: switchView.reason || `KillSwitch ${switchView.name} is engaged`,
        by: stampOf(object),
        onEngage,
      };
    }
  }
  return { halted: false };
}
