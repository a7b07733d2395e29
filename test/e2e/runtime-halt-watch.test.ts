import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RuntimeHaltedMessage } from "../../api/v1alpha1/index.ts";
import { waitFor } from "../support/wait-for.ts";
import { SAMPLE_GRID_BOT, type TradingEnvironment } from "./environment.ts";
import { isReady, patchKillSwitch, startSuiteEnvironment } from "./suite-environment.ts";

// The second halt path: each bot's runtime watches its own TradingBot and the KillSwitches with its
// pod-bound token, and stops trading by itself. The fault it guards against is an operator that cannot
// act: here it is frozen (SIGSTOP) before the halt, so the only thing that can cancel the bot's orders
// is the runtime's own watch. Real runtimes on the node agent, real orders at the simulator.

const BOT = "grid-btc-paper";
const POD = `${BOT}-runtime`;

let env: TradingEnvironment;
const namespaces: Record<string, string> = {};

beforeAll(async () => {
  const labels = ["spec", "fleet", "gone"];
  const suite = await startSuiteEnvironment("e2e-watch", labels);
  env = suite.env;
  labels.forEach((label, i) => {
    namespaces[label] = suite.namespaces[i] as string;
  });
});

afterAll(async () => {
  if (env?.operator.process.isRunning()) env.operator.resume();
  await env?.stop();
});

async function tradingBot(namespace: string) {
  await env.apply([env.botFromSample(SAMPLE_GRID_BOT, namespace, { name: BOT })]);
  const ready = await env.waitForBot(namespace, BOT, isReady, "Ready", 120_000);
  const uid = ready.metadata.uid as string;
  await waitFor(() => env.openOrdersAtExchange(uid).length >= 2, {
    what: `${namespace}/${BOT}'s orders at the simulator`,
    timeoutMs: 60_000,
  });
  return uid;
}

/** The bot container's termination message, once the runtime has exited (its pod is still there). */
async function runtimeExit(namespace: string) {
  return waitFor(
    async () => {
      const pod = await env.view.pod(namespace, POD);
      const terminated = pod?.status?.containerStatuses?.find((s) => s.name === "bot")?.state?.terminated;
      return terminated ?? undefined;
    },
    { what: "the bot container to exit", timeoutMs: 30_000 },
  );
}

/** The bot once the operator has recorded its halt and which path stopped trading. */
const haltRecorded = (namespace: string) =>
  env.waitForBot(
    namespace,
    BOT,
    (b) => b.status?.phase === "Halted" && b.status.halt?.stoppedBy !== undefined,
    "Halted, with which path stopped it",
  );

async function untilNoOpenOrders(uid: string, since: number): Promise<number> {
  await waitFor(() => env.openOrdersAtExchange(uid).length === 0, {
    what: "no open order of the bot at the simulator",
    timeoutMs: 30_000,
    intervalMs: 20,
  });
  return Math.round(performance.now() - since);
}

describe("a bot's own halt watch, with the operator frozen", () => {
  it("cancels the bot's orders on a kill-switch patch, exits 0 saying its watch saw it, and audits the halt", async () => {
    const ns = namespaces.spec as string;
    const uid = await tradingBot(ns);
    env.operator.pause();
    try {
      await patchKillSwitch(env, ns, BOT, { engaged: true, reason: "e2e: operator frozen" });
      const patched = performance.now();
      const ms = await untilNoOpenOrders(uid, patched);
      console.log(`[watch] kill-switch patch -> 0 open orders with the operator frozen: ${ms} ms`);

      const exit = await runtimeExit(ns);
      expect(exit.exitCode).toBe(0);
      const message = RuntimeHaltedMessage.parse(JSON.parse(exit.message ?? ""));
      expect(message).toMatchObject({ reason: "Halted", source: "Spec", noticedBy: "watch" });
      expect(message.detail).toBe("e2e: operator frozen");
      // The operator never deleted it: it is frozen.
      expect((await env.view.pod(ns, POD))?.metadata?.deletionTimestamp).toBeUndefined();

      const audit = await env.auditRows(uid);
      expect(audit.filter((row) => row.event === "halt").at(-1)?.payload).toMatchObject({
        source: "Spec",
        reason: "e2e: operator frozen",
        noticedBy: "watch",
        onEngage: "CancelOrders",
      });
      expect(audit.filter((row) => row.event === "stopped").at(-1)?.payload).toMatchObject({
        onStop: "CancelOrders",
      });
    } finally {
      env.operator.resume();
    }
    // Back, the operator records that the runtime stopped first, and never starts another pod. It reads
    // that from the runtime's termination message, even when it deletes the pod before its informer has
    // seen the terminated status (both events queued during the freeze): the pod's last state says it.
    const halted = await haltRecorded(ns);
    expect(halted.status?.halt).toMatchObject({ engaged: true, source: "Spec", stoppedBy: "Runtime" });
    await env.view.waitForPodGone(ns, POD);
    expect((await env.bot(ns, BOT)).status?.halt?.stoppedBy).toBe("Runtime");
  });

  it("stops a bot a KillSwitch selects, by itself, while the operator is frozen", async () => {
    const ns = namespaces.fleet as string;
    const uid = await tradingBot(ns);
    const name = `e2e-watch-${randomBytes(3).toString("hex")}`;
    env.operator.pause();
    try {
      await env.apply([
        {
          apiVersion: "trading.botops.dev/v1alpha1",
          kind: "KillSwitch",
          metadata: { name },
          spec: { engaged: true, reason: "e2e: fleet halt", namespaces: [ns] },
        },
      ]);
      const created = performance.now();
      const ms = await untilNoOpenOrders(uid, created);
      console.log(`[watch] KillSwitch create -> 0 open orders with the operator frozen: ${ms} ms`);
      const exit = await runtimeExit(ns);
      expect(exit.exitCode).toBe(0);
      expect(RuntimeHaltedMessage.parse(JSON.parse(exit.message ?? ""))).toMatchObject({
        source: `KillSwitch/${name}`,
        noticedBy: "watch",
      });
    } finally {
      env.operator.resume();
      await env.kubectl(["delete", "killswitch", name, "--ignore-not-found"]);
    }
  });

  it("records that the runtime stopped the bot even when its pod is gone before the operator sees it end", async () => {
    const ns = namespaces.gone as string;
    await tradingBot(ns);
    env.operator.pause();
    try {
      await patchKillSwitch(env, ns, BOT, { engaged: true, reason: "e2e: pod gone while frozen" });
      await runtimeExit(ns);
      // The pod and its termination message go before the operator can look: it learns of both at once.
      await env.kubectl(["delete", "pod", POD, "-n", ns, "--grace-period=0", "--force"]);
      await env.view.waitForPodGone(ns, POD);
    } finally {
      env.operator.resume();
    }
    expect((await haltRecorded(ns)).status?.halt).toMatchObject({ source: "Spec", stoppedBy: "Runtime" });
  });
});
