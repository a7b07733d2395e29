import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/wait-for.ts";
import {
  loadSample,
  SAMPLE_DCA_BOT,
  SAMPLE_GRID_BOT,
  SAMPLE_KILL_SWITCH,
  type TradingEnvironment,
} from "./environment.ts";
import { isReady, startSuiteEnvironment } from "./suite-environment.ts";

// A KillSwitch over one namespace: one kubectl apply halts every bot there, and only those.

let env: TradingEnvironment;
let halted: string;
let trading: string;
let switchName: string;

/** Three grid bots and two DCA bots from the samples in the namespace the switch selects. */
const FLEET = [
  { sample: SAMPLE_GRID_BOT, name: "grid-1" },
  { sample: SAMPLE_GRID_BOT, name: "grid-2" },
  { sample: SAMPLE_GRID_BOT, name: "grid-3" },
  { sample: SAMPLE_DCA_BOT, name: "dca-1" },
  { sample: SAMPLE_DCA_BOT, name: "dca-2" },
];
const OTHERS = [
  { sample: SAMPLE_GRID_BOT, name: "grid-other" },
  { sample: SAMPLE_DCA_BOT, name: "dca-other" },
];

const uids = new Map<string, string>();
const key = (namespace: string, name: string) => `${namespace}/${name}`;
const uidOf = (namespace: string, name: string) => uids.get(key(namespace, name)) as string;

beforeAll(async () => {
  const suite = await startSuiteEnvironment("e2e-fleet", ["halted", "trading"]);
  env = suite.env;
  [halted, trading] = suite.namespaces as [string, string];
  switchName = `${halted}-switch`;
  await env.apply([
    ...FLEET.map((bot) => env.botFromSample(bot.sample, halted, { name: bot.name })),
    ...OTHERS.map((bot) => env.botFromSample(bot.sample, trading, { name: bot.name })),
  ]);
  for (const [namespace, bots] of [
    [halted, FLEET],
    [trading, OTHERS],
  ] as const) {
    for (const bot of bots) {
      const ready = await env.waitForBot(namespace, bot.name, isReady, "Ready", 120_000);
      uids.set(key(namespace, bot.name), ready.metadata.uid);
      await waitFor(() => env.openOrdersAtExchange(ready.metadata.uid).length > 0, {
        what: `${namespace}/${bot.name}'s orders at the simulator`,
        timeoutMs: 60_000,
      });
    }
  }
});

afterAll(async () => {
  await env?.stop();
  await env?.kubectl(["delete", "killswitch", switchName, "--ignore-not-found"]);
});

describe("a KillSwitch over one namespace", () => {
  it("halts its 5 bots (orders cancelled at the simulator, pods and processes gone) and leaves the other namespace's bots trading", async () => {
    const sample = loadSample(SAMPLE_KILL_SWITCH) as {
      metadata: Record<string, unknown>;
      spec: Record<string, unknown>;
    };
    await env.apply([
      {
        ...sample,
        metadata: { ...sample.metadata, name: switchName },
        spec: { ...sample.spec, namespaces: [halted] },
      },
    ]);
    const engaged = Date.now();

    for (const bot of FLEET) {
      const haltedBot = await env.waitForBot(
        halted,
        bot.name,
        (b) => b.status?.phase === "Halted",
        "phase Halted",
      );
      expect(haltedBot.status?.halt).toMatchObject({
        engaged: true,
        source: `KillSwitch/${switchName}`,
        reason: sample.spec.reason,
      });
      await env.view.waitForPodGone(halted, `${bot.name}-runtime`);
      expect(env.openOrdersAtExchange(uidOf(halted, bot.name)), bot.name).toEqual([]);
      expect(env.runtimeProcesses(halted, `${bot.name}-runtime`), bot.name).toEqual([]);
    }

    const otherAccount = env.account(trading);
    await waitFor(
      () => env.sim.requests({ apiKey: otherAccount.apiKey, sinceMs: Date.now() - 1_000 }).length > 0,
      { what: `requests from the bots of ${trading} after the fleet halt`, timeoutMs: 10_000 },
    );
    for (const bot of OTHERS) {
      const running = await env.bot(trading, bot.name);
      expect(isReady(running), bot.name).toBe(true);
      expect(running.status?.halt, bot.name).toEqual({ engaged: false });
      expect(env.openOrdersAtExchange(uidOf(trading, bot.name)).length, bot.name).toBeGreaterThan(0);
      expect(env.runtimeProcesses(trading, `${bot.name}-runtime`), bot.name).toHaveLength(1);
      const heartbeat = Date.parse(running.status?.runtime?.heartbeat ?? "");
      expect(heartbeat, bot.name).toBeGreaterThan(engaged - 10_000);
    }
  });
});
