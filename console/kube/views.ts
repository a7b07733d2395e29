import type { KillSwitch } from "../../api/v1alpha1/killswitch.ts";
import type { HaltStatus, TradingBot } from "../../api/v1alpha1/tradingbot.ts";

// What the browser is shown of a TradingBot and a KillSwitch: pure functions of the objects as the API
// server returns them (their schemas in api/v1alpha1/), so the browser never sees specs, Secret names or
// endpoints it has no use for.

export interface BotSummary {
  namespace: string;
  name: string;
  mode: string;
  symbol: string;
  strategy: string;
  phase: string;
  halt: Omit<HaltStatus, "message"> | null;
  openOrders?: number;
  position?: string;
  realizedPnl?: string;
  heartbeat?: string;
  conditions: { type: string; status: string; reason?: string; message?: string }[];
}

/** A TradingBot as read from the API server: what its CRD guarantees, without defaults taken for granted. */
export type StoredTradingBot = Pick<TradingBot, "metadata"> & {
  spec?: { exchange?: { mode?: string }; symbol?: string; strategy?: { type?: string } };
  status?: TradingBot["status"];
};

export function botSummary(bot: StoredTradingBot): BotSummary {
  const { status } = bot;
  const halt = status?.halt;
  const runtime = status?.runtime;
  return {
    namespace: bot.metadata.namespace ?? "",
    name: bot.metadata.name ?? "",
    mode: bot.spec?.exchange?.mode ?? "paper",
    symbol: bot.spec?.symbol ?? "",
    strategy: bot.spec?.strategy?.type ?? "",
    phase: status?.phase ?? "Pending",
    halt: halt
      ? definedOnly({
          engaged: halt.engaged,
          source: halt.source,
          reason: halt.reason,
          by: halt.by,
          since: halt.since,
          id: halt.id,
          requiresAck: halt.requiresAck,
          stoppedBy: halt.stoppedBy,
        })
      : null,
    ...definedOnly({
      openOrders: runtime?.openOrders,
      position: runtime?.position,
      realizedPnl: runtime?.realizedPnl,
      heartbeat: runtime?.heartbeat,
    }),
    conditions: (status?.conditions ?? []).map((c) =>
      definedOnly({ type: c.type, status: c.status, reason: c.reason, message: c.message }),
    ),
  };
}

export interface KillSwitchItem {
  name: string;
  engaged: boolean;
  reason?: string;
  namespaces?: string[];
  selector?: { matchLabels?: Record<string, string> };
  haltedBots?: number;
}

export type StoredKillSwitch = Pick<KillSwitch, "metadata"> & {
  spec?: Partial<KillSwitch["spec"]>;
  status?: KillSwitch["status"];
};

export function killSwitchItem(killSwitch: StoredKillSwitch): KillSwitchItem {
  const spec = killSwitch.spec ?? {};
  return definedOnly({
    name: killSwitch.metadata.name ?? "",
    engaged: spec.engaged ?? false,
    reason: spec.reason,
    namespaces: spec.namespaces && spec.namespaces.length > 0 ? spec.namespaces : undefined,
    selector: spec.selector?.matchLabels ? { matchLabels: spec.selector.matchLabels } : undefined,
    haltedBots: killSwitch.status?.haltedBots,
  });
}

/**
 * The scope of a KillSwitch as a person types it back to confirm it: the namespaces joined with ",",
 * the selector as `k=v,k2=v2` (a space between the two when both are set), and `all` for the whole fleet.
 */
export function killSwitchScopeText(
  namespaces: readonly string[] = [],
  matchLabels: Record<string, string> = {},
): string {
  const parts = [
    namespaces.join(","),
    Object.entries(matchLabels)
      .map(([key, value]) => `${key}=${value}`)
      .join(","),
  ].filter((part) => part !== "");
  return parts.length === 0 ? "all" : parts.join(" ");
}

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
