// `make demo`: the fleet live, redrawn every 2 seconds, with the commands to try from another terminal,
// while the simulator's prices swing slowly so that the grids fill and PnL moves.

import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { userCommands } from "./commands.ts";
import {
  demoFleet,
  demoFleetSwitch,
  FEATURED_BOT,
  KILL_SWITCH_SAMPLE_PATH,
  sampleKillSwitchReason,
} from "./fleet.ts";
import { demoPrices } from "./market.ts";
import { liveFrame } from "./narration.ts";
import type { DemoOptions } from "./options.ts";
import type { DemoStack } from "./stack.ts";
import { rowsInNamespaces } from "./tables.ts";

const REFRESH_MS = 2_000;
const CLEAR_SCREEN = "\x1b[H\x1b[2J";

export interface LiveContext {
  stack: DemoStack;
  options: DemoOptions;
  write(text: string): void;
  /** Redraw in place (a terminal) or print frame after frame (a pipe or a log). */
  redraw: boolean;
  signal: AbortSignal;
}

export async function runLive(context: LiveContext): Promise<void> {
  const { stack, options, write, signal } = context;
  const { env } = stack;
  const fleet = demoFleet(options.namespaces);
  const namespaces = [options.namespaces.trading, options.namespaces.research];
  await env.apply(fleet.map((bot) => env.botFromSample(bot.sample, bot.namespace, { name: bot.name })));

  const commands = userCommands(
    { kubeconfigPath: stack.kubeconfigPath, killSwitchSamplePath: KILL_SWITCH_SAMPLE_PATH },
    { namespace: options.namespaces.trading, name: FEATURED_BOT },
    demoFleetSwitch(options, sampleKillSwitchReason()),
  );
  const kubectlHint =
    options.cluster.kind === "local"
      ? `No kubectl? The demo's own is in ${dirname(stack.kubectlPath)}: export PATH=${dirname(stack.kubectlPath)}:$PATH`
      : undefined;

  const started = Date.now();
  while (!signal.aborted) {
    const prices = demoPrices(Date.now() - started);
    for (const price of prices) env.sim.setPrice(price);
    const [botsTable, switchesTable] = await Promise.all([
      env
        .kubectl(["get", "tb", "-A"])
        .then((table) => rowsInNamespaces(table, namespaces))
        .catch((error: Error) => `(kubectl get tb failed: ${error.message})`),
      env.kubectl(["get", "ks"]).catch(() => ""),
    ]);
    const frame = liveFrame({ now: new Date(), botsTable, switchesTable, prices, commands, kubectlHint });
    write(context.redraw ? `${CLEAR_SCREEN}${frame}\n` : `${frame}\n\n`);
    await sleep(REFRESH_MS, undefined, { signal }).catch(() => {});
  }
}
