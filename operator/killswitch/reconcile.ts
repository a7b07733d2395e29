import type { KillSwitchStatus } from "../../api/v1alpha1/index.ts";
import type { KubeApi } from "../kube/client.ts";
import { deepEqual } from "../kube/json-compare.ts";
import { createMergePatch } from "../kube/merge-patch.ts";
import type { ObjectCache } from "../kube/object-cache.ts";
import type { ReconcileOutcome } from "../kube/work-queue.ts";
import { RESOURCES } from "../resources.ts";
import {
  type KillSwitchObject,
  killSwitchIssues,
  killSwitchView,
  type TradingBotObject,
} from "../tradingbot/spec.ts";
import { timestampOf } from "../tradingbot/status.ts";
import { computeKillSwitchStatus, type SelectableBot } from "./status.ts";

export interface KillSwitchReconcilerDeps {
  api: KubeApi;
  killSwitches: ObjectCache<KillSwitchObject>;
  bots: ObjectCache<TradingBotObject>;
  now: () => number;
}

function* selectableBots(bots: ObjectCache<TradingBotObject>): Generator<SelectableBot> {
  for (const bot of bots.values()) {
    yield {
      namespace: bot.metadata.namespace ?? "",
      labels: bot.metadata.labels,
      halted: bot.status?.halt?.engaged === true,
    };
  }
}

/**
 * A KillSwitch's own status. The halting itself happens in each TradingBot's reconcile (a KillSwitch
 * change enqueues every bot it could select), so a slow count never delays a halt.
 */
export async function reconcileKillSwitch(
  deps: KillSwitchReconcilerDeps,
  name: string,
): Promise<ReconcileOutcome | undefined> {
  const killSwitch = deps.killSwitches.get(name);
  if (!killSwitch) return undefined;
  const view = killSwitchView(killSwitch) ?? undefined;
  const next = computeKillSwitchStatus({
    current: killSwitch.status,
    generation: killSwitch.metadata.generation,
    view,
    issues: view ? undefined : killSwitchIssues(killSwitch),
    bots: selectableBots(deps.bots),
    now: timestampOf(deps.now()),
  });
  const current: KillSwitchStatus = killSwitch.status ?? {};
  if (deepEqual(current, next)) return undefined;
  const updated = await deps.api.mergePatch<KillSwitchObject>(
    RESOURCES.killSwitches,
    undefined,
    name,
    { status: createMergePatch(current, next) },
    "status",
  );
  deps.killSwitches.upsert(updated);
  return undefined;
}
