import type { V1ContainerStateTerminated } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RuntimeHaltedMessage } from "../../api/v1alpha1/index.ts";
import { BOT_CONTAINER_NAME } from "../../operator/desired-state/bot-pod.ts";
import { podNameFor } from "../../operator/names.ts";
import type { ControlPlane } from "../cluster/control-plane.ts";
import { waitFor } from "../support/wait-for.ts";
import {
  type BotManifestOptions,
  type BotObject,
  SAMPLE_GRID_BOT,
  type TradingEnvironment,
} from "./environment.ts";
import {
  conditionOf,
  isReady,
  patchKillSwitch,
  startSuiteEnvironmentOnOwnControlPlane,
} from "./suite-environment.ts";

// The second halt path, each bot runtime's own watch of its TradingBot and the KillSwitches, under faults
// that only a control plane of this suite's own can take: a fleet halt while the operator is frozen, a
// halt right after the kube-apiserver was killed and restarted, and a kube-apiserver stopped long enough
// for the dead man's switch (spec.killSwitch.haltIfUnsupervisedFor). Real runtimes on the node agent, real
// orders at the simulator.

/**
 * Above the longest a healthy watch goes unconfirmed (an idle KillSwitch collection is confirmed only by
 * the bookmark and the end of each watch, about every 40 s: docs/operator.md, "Dead man's switch"), and
 * past the minute after which a runtime without a switch logs that it trades unsupervised: the bot
 * without one says so before this one halts.
 */
const HALT_IF_UNSUPERVISED_FOR = "70s";

let controlPlane: ControlPlane;
let env: TradingEnvironment;
let ns: { fleet: string; restart: string; outage: string };
const switches: string[] = [];

beforeAll(async () => {
  const suite = await startSuiteEnvironmentOnOwnControlPlane("e2e-watch-faults", [
    "fleet",
    "restart",
    "outage",
  ]);
  ({ controlPlane, env } = suite);
  const [fleet, restart, outage] = suite.namespaces as [string, string, string];
  ns = { fleet, restart, outage };
});

afterAll(async () => {
  if (env?.operator.process.isRunning()) env.operator.resume();
  // The bots go with their namespaces before their KillSwitch: released first, they would start again.
  await env?.stop();
  for (const name of switches) await env?.kubectl(["delete", "killswitch", name, "--ignore-not-found"]);
  await controlPlane?.stop();
});

/** Sample grid bots, each Ready with orders at the simulator; their uids, in the order given. */
async function tradingBots(namespace: string, bots: (BotManifestOptions & { name: string })[]) {
  await env.apply(bots.map((bot) => env.botFromSample(SAMPLE_GRID_BOT, namespace, bot)));
  const uids: string[] = [];
  for (const { name } of bots) {
    const { metadata } = await env.waitForBot(namespace, name, isReady, "Ready", 120_000);
    await waitFor(() => env.openOrdersAtExchange(metadata.uid).length >= 2, {
      what: `${namespace}/${name}'s orders at the simulator`,
      timeoutMs: 60_000,
    });
    uids.push(metadata.uid);
  }
  return uids;
}

async function engage(name: string, spec: Record<string, unknown>) {
  switches.push(name);
  await env.apply([
    { apiVersion: "trading.botops.dev/v1alpha1", kind: "KillSwitch", metadata: { name }, spec },
  ]);
}

/** The bot container's end as its pod's status reports it (the pod itself is still there). */
function runtimeExit(namespace: string, bot: string): Promise<V1ContainerStateTerminated> {
  return waitFor(
    async () => {
      const pod = await env.view.pod(namespace, podNameFor(bot));
      const status = pod?.status?.containerStatuses?.find((s) => s.name === BOT_CONTAINER_NAME);
      return status?.state?.terminated ?? undefined;
    },
    { what: `${namespace}/${bot}'s runtime to exit`, timeoutMs: 60_000 },
  );
}

const haltedMessage = (exit: V1ContainerStateTerminated) =>
  RuntimeHaltedMessage.parse(JSON.parse(exit.message ?? ""));

function untilNoOpenOrders(uids: string[], what: string, timeoutMs = 60_000) {
  return waitFor(() => uids.every((uid) => env.openOrdersAtExchange(uid).length === 0), {
    what: `no open order of ${what} at the simulator`,
    timeoutMs,
  });
}

/** The runtime's JSON log lines (the node agent keeps them after the process has ended), parsed. */
function runtimeLog(namespace: string, bot: string, fromOffset = 0): Record<string, unknown>[] {
  return env.agent
    .readContainerLog({ namespace, name: podNameFor(bot) }, BOT_CONTAINER_NAME)
    .slice(fromOffset)
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const isHalted = (bot: BotObject) =>
  bot.status?.phase === "Halted" &&
  bot.status.halt?.engaged === true &&
  conditionOf(bot, "Halted")?.status === "True";

describe("the runtimes' own halt watch under control-plane faults", () => {
  it("a fleet halt with the operator frozen: every runtime a KillSwitch selects cancels its orders and exits by itself", async () => {
    const namespace = ns.fleet;
    const bots = ["trader-0", "trader-1", "trader-2"];
    const uids = await tradingBots(
      namespace,
      bots.map((name) => ({ name })),
    );
    const killSwitch = `${namespace}-halt`;
    env.operator.pause();
    try {
      await engage(killSwitch, {
        engaged: true,
        reason: "e2e: fleet halt, operator frozen",
        namespaces: [namespace],
      });
      await untilNoOpenOrders(uids, "the fleet");
      for (const bot of bots) {
        const exit = await runtimeExit(namespace, bot);
        expect(exit.exitCode).toBe(0);
        expect(haltedMessage(exit)).toMatchObject({
          reason: "Halted",
          source: `KillSwitch/${killSwitch}`,
          noticedBy: "watch",
        });
        // Nothing deleted the pod: the runtime stopped by itself.
        expect((await env.view.pod(namespace, podNameFor(bot)))?.metadata?.deletionTimestamp).toBeUndefined();
      }
    } finally {
      env.operator.resume();
    }
    for (const bot of bots) {
      const halted = await env.waitForBot(namespace, bot, isHalted, "Halted", 60_000);
      expect(halted.status?.halt?.source).toBe(`KillSwitch/${killSwitch}`);
      // `Runtime`, or unset by an operator that cannot say; `Operator` would mean the pod's deletion
      // stopped trading, and the operator was frozen until every runtime had exited.
      expect(halted.status?.halt?.stoppedBy).not.toBe("Operator");
      await env.view.waitForPodGone(namespace, podNameFor(bot));
      expect((await env.bot(namespace, bot)).status?.halt?.stoppedBy).not.toBe("Operator");
    }
  });

  it("a halt right after the API server restarts: the runtime's watch reconnects and sees it", async () => {
    const namespace = ns.restart;
    const bot = "trader";
    const [uid] = (await tradingBots(namespace, [{ name: bot }])) as [string];
    const logOffset = env.agent.readContainerLog(
      { namespace, name: podNameFor(bot) },
      BOT_CONTAINER_NAME,
    ).length;
    env.operator.pause();
    try {
      await controlPlane.restartApiServer({ kill: true });
      const reason = "e2e: halt after an API server restart";
      // Retried until the restarted server serves TradingBots again: its /readyz can come first.
      await waitFor(() => patchKillSwitch(env, namespace, bot, { engaged: true, reason }).then(() => true), {
        what: "the restarted API server to take the kill-switch patch",
      });
      await untilNoOpenOrders([uid], `${namespace}/${bot}`);
      const exit = await runtimeExit(namespace, bot);
      expect(exit.exitCode).toBe(0);
      expect(haltedMessage(exit)).toMatchObject({
        reason: "Halted",
        source: "Spec",
        noticedBy: "watch",
        detail: reason,
      });

      // The watch of its TradingBot broke with the API server and was started again: the halt came
      // through a new watch, not one that never broke.
      const events = runtimeLog(namespace, bot, logOffset);
      const broke = events.findIndex(
        (e) => e.event === "halt_watch_problem" && e.collection === "tradingbot",
      );
      const halted = events.findIndex((e) => e.event === "halt" && e.noticedBy === "watch");
      expect(broke).toBeGreaterThanOrEqual(0);
      expect(halted).toBeGreaterThan(broke);
    } finally {
      env.operator.resume();
    }
    const recorded = await env.waitForBot(
      namespace,
      bot,
      (b) => isHalted(b) && b.status?.halt?.stoppedBy !== undefined,
      "Halted, with which path stopped it",
      60_000,
    );
    expect(recorded.status?.halt).toMatchObject({ source: "Spec", stoppedBy: "Runtime" });
  });

  it("the dead man's switch with the API server stopped: the runtime halts itself as Unsupervised and cancels its orders", async () => {
    const namespace = ns.outage;
    const supervised = "dead-mans-switch";
    const control = "no-switch";
    const [supervisedUid, controlUid] = (await tradingBots(namespace, [
      {
        name: supervised,
        spec: (spec) => {
          spec.killSwitch = {
            ...(spec.killSwitch as object),
            haltIfUnsupervisedFor: HALT_IF_UNSUPERVISED_FOR,
          };
        },
      },
      { name: control },
    ])) as [string, string];
    const supervisedPod = await waitFor(
      async () => (await env.view.pod(namespace, podNameFor(supervised)))?.metadata?.uid,
      { what: `${namespace}/${supervised}'s pod` },
    );
    const [controlPid] = env.runtimeProcesses(namespace, podNameFor(control));

    await controlPlane.stopApiServer({ kill: true });
    try {
      // Without a switch, a runtime says after a minute unconfirmed that it trades on unsupervised.
      await waitFor(() => runtimeLog(namespace, control).some((e) => e.event === "halt_watch_unsupervised"), {
        what: `${namespace}/${control} to log that it trades without a confirmed halt watch`,
        timeoutMs: 90_000,
      });
      // An outage past its renew deadline costs the operator its Lease, and it exits, as
      // controller-runtime's do; its Deployment would start it again, as this test does below.
      await waitFor(() => !env.operator.process.isRunning(), {
        what: "the operator to exit, having lost its leader Lease",
      });
      await untilNoOpenOrders([supervisedUid], `${namespace}/${supervised}`, 90_000);
      await waitFor(() => env.runtimeProcesses(namespace, podNameFor(supervised)).length === 0, {
        what: `${namespace}/${supervised}'s runtime to exit`,
      });
    } finally {
      // At once: the node agent (test/node-agent/pod-worker.ts) gives up a pod's status write after about
      // 5 s of failures, and the runtime's end must reach its pod's status.
      await controlPlane.startApiServer();
    }

    expect(runtimeLog(namespace, supervised).filter((e) => e.event === "halt")).toEqual([
      expect.objectContaining({ source: "Unsupervised", noticedBy: "watch" }),
    ]);
    expect(
      (await env.auditRows(supervisedUid)).filter((row) => row.event === "halt").at(-1)?.payload,
    ).toMatchObject({ source: "Unsupervised", noticedBy: "watch", onEngage: "CancelOrders" });
    // No operator runs: nothing has deleted the pod, and its status says how the runtime ended.
    const exit = await runtimeExit(namespace, supervised);
    expect(exit.exitCode).toBe(0);
    expect(haltedMessage(exit)).toMatchObject({
      reason: "Halted",
      source: "Unsupervised",
      noticedBy: "watch",
    });

    // The bot without a switch traded through the whole outage with the same process, and its watch
    // is confirmed again.
    await waitFor(() => runtimeLog(namespace, control).some((e) => e.event === "halt_watch_supervised"), {
      what: `${namespace}/${control}'s halt watch to be confirmed again`,
    });
    expect(env.runtimeProcesses(namespace, podNameFor(control))).toEqual([controlPid]);
    expect(runtimeLog(namespace, control).filter((e) => e.event === "halt")).toEqual([]);
    expect(env.openOrdersAtExchange(controlUid).length).toBeGreaterThan(0);

    // The switch's halt is not latched: the operator says the runtime halted itself (a Warning Event
    // Unsupervised, Ready's reason while it waits) and starts a new pod, as after any ended run.
    await env.startOperator("after-outage");
    const said = await waitFor(
      async () => {
        const events = JSON.parse(
          await env.kubectl([
            "get",
            "events",
            "-n",
            namespace,
            "--field-selector",
            `involvedObject.name=${supervised},reason=Unsupervised`,
            "-o",
            "json",
          ]),
        ) as { items: { type: string; message?: string; note?: string }[] };
        return events.items[0];
      },
      { what: `the Unsupervised Event of ${namespace}/${supervised}`, timeoutMs: 60_000 },
    );
    expect(said.type).toBe("Warning");
    expect(said.message ?? said.note).toMatch(/halted itself/);
    await waitFor(
      async () => {
        const pod = await env.view.pod(namespace, podNameFor(supervised));
        return pod !== undefined && pod.metadata?.uid !== supervisedPod;
      },
      { what: `a new pod for ${namespace}/${supervised}`, timeoutMs: 60_000 },
    );
    const restarted = await env.bot(namespace, supervised);
    expect(restarted.status?.phase).not.toBe("Halted");
    expect(restarted.status?.halt?.engaged ?? false).toBe(false);
    expect(conditionOf(restarted, "Halted")?.status).toBe("False");
  }, 300_000);
});
