// The demo's fleet: the paper samples of config/samples, three bots in the namespace the fleet halt selects
// and two in another one, so that halting one namespace visibly leaves the other trading.

import { join } from "node:path";
import {
  loadSample,
  SAMPLE_DCA_BOT,
  SAMPLE_GRID_BOT,
  SAMPLE_KILL_SWITCH,
  SAMPLES_DIR,
} from "../test/e2e/environment.ts";
import type { FleetSwitch } from "./commands.ts";
import type { DemoOptions } from "./options.ts";

export interface FleetBot {
  namespace: string;
  name: string;
  /** A file of config/samples. */
  sample: string;
}

/** The bot the single-bot halt and resume act on. */
export const FEATURED_BOT = "grid-btc-paper";

export function demoFleet(namespaces: { trading: string; research: string }): FleetBot[] {
  return [
    { namespace: namespaces.trading, name: FEATURED_BOT, sample: SAMPLE_GRID_BOT },
    { namespace: namespaces.trading, name: "grid-btc-paper-2", sample: SAMPLE_GRID_BOT },
    { namespace: namespaces.trading, name: "dca-eth-paper", sample: SAMPLE_DCA_BOT },
    { namespace: namespaces.research, name: "grid-btc-paper", sample: SAMPLE_GRID_BOT },
    { namespace: namespaces.research, name: "dca-eth-paper", sample: SAMPLE_DCA_BOT },
  ];
}

export const botKey = (bot: { namespace: string; name: string }) => `${bot.namespace}/${bot.name}`;

export const KILL_SWITCH_SAMPLE_PATH = join(SAMPLES_DIR, SAMPLE_KILL_SWITCH);

/** The fleet halt: the KillSwitch sample's reason, over the demo's `trading` namespace. */
export function demoFleetSwitch(
  options: Pick<DemoOptions, "killSwitchName" | "namespaces">,
  reason: string,
): FleetSwitch {
  return { name: options.killSwitchName, namespace: options.namespaces.trading, reason };
}

/** The reason the KillSwitch sample gives (read from config/samples). */
export function sampleKillSwitchReason(): string {
  return String((loadSample(SAMPLE_KILL_SWITCH) as { spec: { reason: string } }).spec.reason);
}
