import { writeStatus } from "../kube/apply.ts";
import type { KubeApi } from "../kube/client.ts";
import { type ObjectCache, objectKey } from "../kube/object-cache.ts";
import { timestampOf } from "../kube/time.ts";
import type { Pod } from "../kube/types.ts";
import type { ReconcileOutcome } from "../kube/work-queue.ts";
import { podNameFor } from "../names.ts";
import { type KillSwitchObject, RESOURCES, type TradingBotObject } from "../resources.ts";
import { type CountedBot, computeKillSwitchStatus } from "./status.ts";
import { killSwitchViewOf } from "./view.ts";

export interface KillSwitchReconcilerDeps {
  api: KubeApi;
  killSwitches: ObjectCache<KillSwitchObject>;
  bots: ObjectCache<TradingBotObject>;
  pods: ObjectCache<Pod>;
  now: () => number;
}

function* countedBots(deps: KillSwitchReconcilerDeps): Generator<CountedBot> {
  for (const bot of deps.bots.values()) {
    const namespace = bot.metadata.namespace ?? "";
    yield {
      namespace,
      labels: bot.metadata.labels,
      haltRecorded: bot.status?.halt?.engaged === true,
      hasPod: deps.pods.get(objectKey(namespace, podNameFor(bot.metadata.name))) !== undefined,
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
  const next = computeKillSwitchStatus({
    current: killSwitch.status,
    generation: killSwitch.metadata.generation,
    view: killSwitchViewOf(killSwitch),
    bots: countedBots(deps),
    now: timestampOf(deps.now()),
  });
  await writeStatus(deps.api, RESOURCES.killSwitches, deps.killSwitches, killSwitch, next);
  return undefined;
}
