import { Watch } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OperatorProcess } from "../operator/harness.ts";
import { PodRecorder } from "../operator/pod-watch.ts";
import { waitFor } from "../support/wait-for.ts";
import { type BotObject, SAMPLE_GRID_BOT, type TradingEnvironment } from "./environment.ts";
import { isReady, patchKillSwitch, startSuiteEnvironment } from "./suite-environment.ts";

// Halts under injected faults. The operator reaches the API server through a fault-injection proxy
// (test/faults/api-fault-proxy.ts) that fails, silences or answers its requests as each test says; the
// bots are real runtimes trading on the simulator. Each test ends with no open order of a halted bot at
// the simulator and no pod left, and prints how long that took.

const BOT = "grid-btc-paper";
const POD = `${BOT}-runtime`;

let env: TradingEnvironment;
let faults: NonNullable<TradingEnvironment["faults"]>;
let operator: OperatorProcess;
const namespaces: Record<string, string> = {};

beforeAll(async () => {
  const labels = ["latch", "secrets", "watches", "killed", "outage"];
  const suite = await startSuiteEnvironment("e2e-faults", labels, { faultProxy: true });
  env = suite.env;
  operator = env.operator;
  faults = env.faults as typeof faults;
  labels.forEach((label, i) => {
    namespaces[label] = suite.namespaces[i] as string;
  });
});

afterAll(async () => {
  await env?.stop();
});

/** A grid bot from the sample in `namespace`, trading with resting buys at the simulator. */
async function tradingBot(namespace: string, name = BOT, spec?: (spec: Record<string, unknown>) => void) {
  await env.apply([env.botFromSample(SAMPLE_GRID_BOT, namespace, { name, spec })]);
  const ready = await env.waitForBot(namespace, name, isReady, "Ready", 120_000);
  await waitFor(() => env.openOrdersAtExchange(ready.metadata.uid).length >= 2, {
    what: `${namespace}/${name}'s orders at the simulator`,
    timeoutMs: 60_000,
  });
  return ready;
}

/** Waits until the bot has no open order at the simulator; milliseconds since `since` (performance.now()). */
async function untilNoOpenOrders(uid: string, since: number, timeoutMs = 90_000): Promise<number> {
  await waitFor(() => env.openOrdersAtExchange(uid).length === 0, {
    what: "no open order at the simulator",
    timeoutMs,
    intervalMs: 25,
  });
  return Math.round(performance.now() - since);
}

const halted = (bot: BotObject) => bot.status?.phase === "Halted" && bot.status.halt?.engaged === true;

/** The simulator's price of BTCUSDT falls 20 %: the grid's buys fill and its daily loss passes 5. */
function crash(): () => void {
  const before = env.sim.price("BTCUSDT");
  env.sim.setPrice({ symbol: "BTCUSDT", movePct: -20 });
  return () => env.sim.setPrice({ symbol: "BTCUSDT", price: before });
}

const riskLimited = (spec: Record<string, unknown>) => {
  spec.risk = { ...(spec.risk as object), maxDailyLossQuote: "5" };
};

describe("halting under faults", () => {
  it("keeps a new risk latch whose status write fails 3 times: no pod is created again, and the orders are cancelled", async () => {
    const ns = namespaces.latch as string;
    const pods = await PodRecorder.start(env.adminKubeConfig, ns);
    try {
      const bot = await tradingBot(ns, BOT, riskLimited);
      const failing = faults.add({
        match: {
          verb: "patch",
          resource: "tradingbots",
          subresource: "status",
          name: BOT,
          bodyContains: '"source":"Risk"',
        },
        action: { kind: "status", code: 500 },
        times: 3,
      });
      const started = performance.now();
      const restore = crash();
      const latched = await env.waitForBot(ns, BOT, (b) => b.status?.halt?.source === "Risk", "a latch");
      const toZero = await untilNoOpenOrders(bot.metadata.uid, started);
      restore();
      expect(failing.hits).toBe(3);
      expect(latched.status?.halt).toMatchObject({ engaged: true, requiresAck: true });
      await env.view.waitForPodGone(ns, POD);
      await env.waitForBot(ns, BOT, halted, "phase Halted");
      expect(pods.podsSeen(BOT)).toBe(1);
      console.log(`latch write failed 3 times: 0 open orders ${toZero} ms after the crash`);
    } finally {
      pods.stop();
    }
  });

  it("deletes the pod within 1 s of a kill-switch patch while every Secret GET answers 500", async () => {
    const ns = namespaces.secrets as string;
    const bot = await tradingBot(ns);
    const failing = faults.add({
      match: { verb: "get", resource: "secrets" },
      action: { kind: "status", code: 500 },
    });
    try {
      // A new Secret version the operator must read: its reconciles of the bot fail and back off.
      await env.rotateExchangeKey(ns);
      await waitFor(() => failing.hits >= 3, { what: "3 failed Secret GETs", timeoutMs: 60_000 });

      let patchSeenAt: number | undefined;
      const watch = await new Watch(env.adminKubeConfig).watch(
        `/apis/trading.botops.dev/v1alpha1/namespaces/${ns}/tradingbots`,
        { fieldSelector: `metadata.name=${BOT}` },
        (_type, object: BotObject & { spec?: { killSwitch?: { engaged?: boolean } } }) => {
          if (object.spec?.killSwitch?.engaged) patchSeenAt ??= performance.now();
        },
        () => {},
      );
      try {
        await patchKillSwitch(env, ns, BOT, { engaged: true, reason: "Secrets failing" });
        const deletion = await waitFor(
          () =>
            patchSeenAt !== undefined &&
            faults.requestsMatching({ verb: "delete", resource: "pods", name: POD, namespace: ns })[0],
          { what: "the operator's DELETE of the pod", timeoutMs: 10_000, intervalMs: 10 },
        );
        const latency = deletion.at - (patchSeenAt as number);
        console.log(`Secret GETs failing: the pod DELETE came ${Math.round(latency)} ms after the patch`);
        expect(latency).toBeLessThan(1000);
        const toZero = await untilNoOpenOrders(bot.metadata.uid, patchSeenAt as number);
        console.log(`Secret GETs failing: 0 open orders ${toZero} ms after the patch`);
      } finally {
        watch.abort();
      }
    } finally {
      failing.remove();
    }
    await env.view.waitForPodGone(ns, POD);
    await env.waitForBot(ns, BOT, halted, "phase Halted");
  });

  it("halts every bot a KillSwitch selects within 90 s when every watch of the operator has gone silent, and shows the dead watch", async () => {
    const ns = namespaces.watches as string;
    const bots = [await tradingBot(ns, "grid-a"), await tradingBot(ns, "grid-b")];
    const silenced = faults.silenceOpenWatches();
    expect(silenced).toBeGreaterThan(0);
    const engaged = performance.now();
    const switchName = `${ns}-silent`;
    await env.apply([
      {
        apiVersion: "trading.botops.dev/v1alpha1",
        kind: "KillSwitch",
        metadata: { name: switchName },
        spec: { engaged: true, reason: "watches silent", namespaces: [ns] },
      },
    ]);
    try {
      let sawNotReady = false;
      let oldestWatch = 0;
      let haltedAt: number | undefined;
      let ordersGoneAt: number | undefined;
      await waitFor(
        async () => {
          sawNotReady ||= (await fetch(operator.readyUrl)).status === 503;
          const metrics = await operator.metrics();
          for (const match of metrics.matchAll(
            /^tradingbot_operator_watch_last_event_age_seconds\{[^}]*\} (\S+)$/gm,
          )) {
            oldestWatch = Math.max(oldestWatch, Number(match[1]));
          }
          if (ordersGoneAt === undefined) {
            const ordersGone = bots.every((b) => env.openOrdersAtExchange(b.metadata.uid).length === 0);
            if (ordersGone) ordersGoneAt = performance.now();
          }
          if (haltedAt === undefined && ordersGoneAt !== undefined) {
            const states = await Promise.all(bots.map((b) => env.bot(ns, b.metadata.name)));
            if (states.every(halted)) haltedAt = performance.now();
          }
          const restarted =
            /tradingbot_operator_watch_restarts_total\{[^}]*reason="silent"[^}]*\} [1-9]/.test(metrics);
          return haltedAt !== undefined && restarted && sawNotReady;
        },
        {
          what: "the halt, a silent watch restarted and readiness failing meanwhile",
          timeoutMs: 120_000,
          intervalMs: 250,
        },
      );
      const haltMs = Math.round((haltedAt as number) - engaged);
      const toZero = Math.round((ordersGoneAt as number) - engaged);
      console.log(
        `silent watches: 0 open orders ${toZero} ms and every bot Halted ${haltMs} ms after the KillSwitch; oldest watch seen ${oldestWatch.toFixed(0)} s silent`,
      );
      expect(haltMs).toBeLessThan(90_000);
      expect(oldestWatch).toBeGreaterThan(40);
      for (const bot of bots) await env.view.waitForPodGone(ns, `${bot.metadata.name}-runtime`);
      await waitFor(async () => (await fetch(operator.readyUrl)).status === 200, {
        what: "readiness back once the watches are started again",
      });
    } finally {
      await env.kubectl(["delete", "killswitch", switchName, "--ignore-not-found"]);
    }
  });

  it("converges after the operator is SIGKILLed between the pod DELETE and the status write", async () => {
    const ns = namespaces.killed as string;
    const bot = await tradingBot(ns);
    const killed = operator;
    faults.afterAnswer({ verb: "delete", resource: "pods", name: POD, namespace: ns }, () =>
      process.kill(killed.process.pid, "SIGKILL"),
    );
    const started = performance.now();
    await patchKillSwitch(env, ns, BOT, { engaged: true, reason: "killed mid-halt" });
    expect(await killed.process.exited).toBe("killed by SIGKILL");
    // The DELETE happened; the halt was never written to status.
    expect((await env.bot(ns, BOT)).status?.halt?.engaged).toBe(false);
    operator = await env.startOperator("after-kill");
    const toZero = await untilNoOpenOrders(bot.metadata.uid, started);
    await env.waitForBot(ns, BOT, halted, "phase Halted after the new operator took over", 60_000);
    await env.view.waitForPodGone(ns, POD);
    console.log(`operator SIGKILLed after the DELETE: 0 open orders ${toZero} ms after the patch`);
  });

  it("keeps a latch through a pod deleted by hand while the operator was down, and trades again only after the acknowledgement by id", async () => {
    const ns = namespaces.outage as string;
    const bot = await tradingBot(ns, BOT, riskLimited);
    const uid = bot.metadata.uid;
    await operator.stop();
    const started = performance.now();
    const restore = crash();
    await waitFor(() => env.runtimeProcesses(ns, POD).length === 0, {
      what: "the runtime to halt itself on the risk limit",
      timeoutMs: 60_000,
    });
    const toZero = await untilNoOpenOrders(uid, started);
    await env.kubectl(["delete", "pod", POD, "-n", ns, "--wait=true", "--timeout=60s"]);
    restore();
    const ordersBefore = env.ordersAtExchange(uid).length;

    operator = await env.startOperator("after-outage");
    const latched = await env.waitForBot(
      ns,
      BOT,
      (b) => halted(b) && b.status?.halt?.source === "Risk",
      "the latch, found again by the bot's next start",
      90_000,
    );
    const haltId = latched.status?.halt?.id as string;
    const audit = await env.auditRows(uid);
    expect(audit.find((row) => row.event === "halt")?.payload).toMatchObject({ haltId });
    await env.view.waitForPodGone(ns, POD);
    expect(env.ordersAtExchange(uid)).toHaveLength(ordersBefore);
    console.log(`latch with the operator down: 0 open orders ${toZero} ms after the crash`);

    await patchKillSwitch(env, ns, BOT, { acknowledgeHalt: haltId });
    await env.waitForBot(ns, BOT, isReady, "Ready after the acknowledgement", 120_000);
    await waitFor(() => env.ordersAtExchange(uid).length > ordersBefore, {
      what: "new orders after the acknowledgement",
      timeoutMs: 60_000,
    });
  });
});
