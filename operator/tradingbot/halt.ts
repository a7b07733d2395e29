import {
  type BotKillSwitch,
  type HaltStatus,
  type KillSwitchView,
  killSwitchSelects,
  RiskHaltMessage,
  RUNTIME_EXIT_CODES,
  RuntimeHaltedMessage,
  type SelectableBot,
} from "../../api/v1alpha1/index.ts";

// Which halt applies to a bot: pure, from the bot's kill switch, its current status.halt, the
// KillSwitches and its pod's termination. Halting is what the project promises above all, so every
// doubt resolves towards halting: an exit code 3 whose message cannot be read still latches.

export type HaltSourceName = "Spec" | "Risk" | `KillSwitch/${string}`;

export interface HaltSource {
  source: HaltSourceName;
  reason: string;
  /** Who engaged it (the admission stamp on the bot or the KillSwitch); undefined for Risk or unstamped. */
  by: string | undefined;
}

/** How the bot container of the bot's pod ended, if it has. */
export interface BotTermination {
  podUid: string;
  exitCode: number;
  message: string | undefined;
}

export interface HaltInput {
  bot: SelectableBot;
  /** The bot's spec.killSwitch, read leniently (readBotKillSwitch). */
  killSwitch: BotKillSwitch;
  /** Who last changed the bot's spec.killSwitch, as stamped at admission. */
  killSwitchChangedBy?: string | undefined;
  current: HaltStatus | undefined;
  killSwitches: KillSwitchView[];
  termination: BotTermination | undefined;
  now: string;
}

export interface RiskLatch {
  id: string;
  reason: string;
}

export interface HaltDecision {
  halted: boolean;
  /** What status.halt must say. */
  halt: HaltStatus;
  /** Every source that holds the bot, the reported one first. */
  sources: HaltSource[];
  /** A risk halt seen for the first time in this decision. */
  newRiskLatch: RiskLatch | undefined;
  /** The id of a latched halt that this decision releases (acknowledged with the right id). */
  acknowledged: string | undefined;
  /** The acknowledgement value refused, when one is set and wrong. */
  refusedAcknowledgement: string | undefined;
  /** When this decision ends a halt: who released the source that held it, if stamped. */
  releasedBy: string | undefined;
}

const MAX_REASON = 1024;
const MAX_MESSAGE = 2048;
const MAX_BY = 512;

function clip(text: string, max: number) {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The risk halt a terminated bot container reports, if it reports one. */
export function riskLatchFrom(termination: BotTermination | undefined): RiskLatch | undefined {
  if (!termination || termination.exitCode !== RUNTIME_EXIT_CODES.riskHalt) return undefined;
  let parsed: ReturnType<typeof RiskHaltMessage.safeParse> | undefined;
  try {
    parsed = RiskHaltMessage.safeParse(JSON.parse(termination.message ?? ""));
  } catch {
    parsed = undefined;
  }
  if (parsed?.success) {
    const m = parsed.data;
    return {
      id: m.haltId,
      reason: `${m.reason}: ${m.limit} reached ${m.value} against a limit of ${m.threshold} at ${m.at}`,
    };
  }
  return {
    id: `pod-${termination.podUid.slice(0, 8)}`,
    reason: `RiskLimitBreached: the runtime exited with code ${RUNTIME_EXIT_CODES.riskHalt} (risk halt) without a readable termination message`,
  };
}

/**
 * Which path stopped trading first, from a runtime that ended on a halt: its own watch (Runtime), or
 * the SIGTERM of the pod's deletion (Operator). Undefined for any other ending.
 */
export function stoppedByOf(termination: BotTermination | undefined): HaltStatus["stoppedBy"] {
  const halted = runtimeHaltOf(termination);
  if (!halted) return undefined;
  return halted.noticedBy === "watch" ? "Runtime" : "Operator";
}

/** The halt a runtime that exited 0 says it stopped on (its termination message), if it says one. */
export function runtimeHaltOf(
  termination: { exitCode: number; message?: string | undefined } | undefined,
): RuntimeHaltedMessage | undefined {
  if (!termination || termination.exitCode !== RUNTIME_EXIT_CODES.stopped) return undefined;
  try {
    const parsed = RuntimeHaltedMessage.safeParse(JSON.parse(termination.message ?? ""));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function latchedFrom(current: HaltStatus | undefined): (RiskLatch & { since?: string }) | undefined {
  if (!current?.engaged || current.source !== "Risk" || !current.requiresAck || !current.id) return undefined;
  return { id: current.id, reason: current.reason ?? "risk halt", since: current.since };
}

function latchMessage(id: string, acknowledgement: string | undefined): string {
  if (acknowledgement === undefined || acknowledgement === "") {
    return `Latched risk halt: look into it, then set spec.killSwitch.acknowledgeHalt to "${id}" to release it.`;
  }
  return (
    `Acknowledgement refused: spec.killSwitch.acknowledgeHalt is "${acknowledgement}" but the latched halt's id is ` +
    `"${id}"; set it to "${id}" to release the halt.`
  );
}

export function decideHalt(input: HaltInput): HaltDecision {
  const { bot, killSwitch, current, now } = input;
  const acknowledgement = killSwitch.acknowledgeHalt;

  let latch = latchedFrom(current);
  let newRiskLatch: RiskLatch | undefined;
  const observed = riskLatchFrom(input.termination);
  if (observed && observed.id !== latch?.id && observed.id !== acknowledgement) {
    newRiskLatch = observed;
    latch = { ...observed, since: now };
  }

  let acknowledged: string | undefined;
  if (latch && acknowledgement === latch.id) {
    acknowledged = latch.id;
    latch = undefined;
  }

  const sources: HaltSource[] = [];
  if (latch) sources.push({ source: "Risk", reason: latch.reason, by: undefined });
  if (killSwitch.engaged) {
    sources.push({
      source: "Spec",
      reason: killSwitch.reason || "spec.killSwitch.engaged is true",
      by: input.killSwitchChangedBy,
    });
  }
  for (const switchView of [...input.killSwitches].sort((a, b) => a.name.localeCompare(b.name))) {
    if (switchView.engaged && killSwitchSelects(switchView, bot)) {
      sources.push({
        source: `KillSwitch/${switchView.name}`,
        reason: switchView.reason || `KillSwitch ${switchView.name} is engaged`,
        by: switchView.changedBy,
      });
    }
  }

  const [primary, ...others] = sources;
  if (!primary) {
    return {
      halted: false,
      halt: { engaged: false },
      sources,
      newRiskLatch,
      acknowledged,
      refusedAcknowledgement: undefined,
      releasedBy: current?.engaged ? releasedBy(input, current.source) : undefined,
    };
  }

  const messages: string[] = [];
  if (latch) messages.push(latchMessage(latch.id, acknowledgement));
  if (others.length > 0) messages.push(`Also halted by ${others.map((s) => s.source).join(", ")}.`);
  const refused =
    latch && acknowledgement !== undefined && acknowledgement !== "" ? acknowledgement : undefined;

  const halt: HaltStatus = {
    engaged: true,
    source: primary.source,
    reason: clip(primary.reason, MAX_REASON),
    ...(primary.by === undefined ? {} : { by: clip(primary.by, MAX_BY) }),
    since: current?.engaged && current.since ? current.since : (latch?.since ?? now),
  };
  if (latch) {
    halt.id = latch.id;
    halt.requiresAck = true;
  }
  // Known once the runtime has ended; kept after its pod is gone.
  const stoppedBy = stoppedByOf(input.termination) ?? (current?.engaged ? current.stoppedBy : undefined);
  if (stoppedBy !== undefined && primary.source !== "Risk") halt.stoppedBy = stoppedBy;
  if (messages.length > 0) halt.message = clip(messages.join(" "), MAX_MESSAGE);
  return {
    halted: true,
    halt,
    sources,
    newRiskLatch,
    acknowledged,
    refusedAcknowledgement: refused,
    releasedBy: undefined,
  };
}

/** Who released the source that held the bot: the stamp on the bot, or on the KillSwitch (even if gone). */
function releasedBy(input: HaltInput, source: string | undefined): string | undefined {
  if (source === "Spec") return input.killSwitchChangedBy;
  if (source?.startsWith("KillSwitch/")) {
    const name = source.slice("KillSwitch/".length);
    return input.killSwitches.find((view) => view.name === name)?.changedBy;
  }
  return undefined;
}
