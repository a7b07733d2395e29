import { readFileSync } from "node:fs";
import { join } from "node:path";
import { dump, load } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlane } from "../cluster/control-plane.ts";
import { botManifest } from "../operator/fixtures.ts";
import { type OperatorProcess, REPO_ROOT } from "../operator/harness.ts";
import { PodRecorder } from "../operator/pod-watch.ts";
import { waitFor } from "../support/wait-for.ts";
import { type BotObject, SAMPLE_GRID_BOT, type TradingEnvironment } from "./environment.ts";
import { isReady, startSuiteEnvironmentOnOwnControlPlane } from "./suite-environment.ts";

// Fleet halts under faults that only a control plane of this suite's own can take: a kube-apiserver
// restarted in the middle of a halt, the leader killed in the middle of one, and a KillSwitch CRD newer
// than the operator. A fleet is 100 TradingBots: 10 real runtimes trading on the simulator (their
// orders must be cancelled) and 90 whose pods KWOK runs without processes (the operator's work per bot
// is the same).

const FLEET = 100;
const TRADING = 10;

let controlPlane: ControlPlane;
let env: TradingEnvironment;
let ns: { fleetA: string; fleetB: string; newer: string };
const switches: string[] = [];

beforeAll(async () => {
  const suite = await startSuiteEnvironmentOnOwnControlPlane("e2e-fleet-faults", [
    "failover",
    "restart",
    "newer",
  ]);
  ({ controlPlane, env } = suite);
  const [fleetA, fleetB, newer] = suite.namespaces as [string, string, string];
  ns = { fleetA, fleetB, newer };
});

afterAll(async () => {
  for (const name of switches) await env?.kubectl(["delete", "killswitch", name, "--ignore-not-found"]);
  await env?.stop();
  await controlPlane?.stop();
});

const halted = (bot: BotObject | undefined) => bot?.status?.phase === "Halted" && bot.status.halt?.engaged;

/** 10 sample bots on the node agent and 90 on KWOK nodes, every one Ready; the traders' uids. */
async function fleet(namespace: string): Promise<string[]> {
  const traders = Array.from({ length: TRADING }, (_, i) =>
    env.botFromSample(SAMPLE_GRID_BOT, namespace, { name: `trader-${i}` }),
  );
  const idle = Array.from({ length: FLEET - TRADING }, (_, i) => botManifest(namespace, `idle-${i}`));
  await env.apply([...traders, ...idle]);
  await waitFor(
    async () => {
      const list = JSON.parse(await env.kubectl(["get", "tb", "-n", namespace, "-o", "json"])) as {
        items: BotObject[];
      };
      return list.items.length === FLEET && list.items.every(isReady);
    },
    { what: `${FLEET} bots Ready in ${namespace}`, timeoutMs: 240_000, intervalMs: 1000 },
  );
  const uids: string[] = [];
  for (let i = 0; i < TRADING; i++) {
    const bot = await env.bot(namespace, `trader-${i}`);
    await waitFor(() => env.openOrdersAtExchange(bot.metadata.uid).length > 0, {
      what: `trader-${i}'s orders at the simulator`,
      timeoutMs: 60_000,
    });
    uids.push(bot.metadata.uid);
  }
  return uids;
}

async function engage(name: string, spec: Record<string, unknown>) {
  switches.push(name);
  await env.apply([
    { apiVersion: "trading.botops.dev/v1alpha1", kind: "KillSwitch", metadata: { name }, spec },
  ]);
}

/** Every bot of the namespace Halted, no pod left, no open order of a trader at the simulator. */
async function untilFleetHalted(namespace: string, traders: string[], since: number, timeoutMs = 180_000) {
  let ordersGoneAt: number | undefined;
  await waitFor(
    async () => {
      if (ordersGoneAt === undefined && traders.every((uid) => env.openOrdersAtExchange(uid).length === 0)) {
        ordersGoneAt = performance.now();
      }
      const bots = JSON.parse(await env.kubectl(["get", "tb", "-n", namespace, "-o", "json"])) as {
        items: BotObject[];
      };
      const pods = await env.view.botPods(namespace);
      return ordersGoneAt !== undefined && bots.items.every(halted) && pods.length === 0;
    },
    { what: `every bot of ${namespace} halted, no pod, no open order`, timeoutMs, intervalMs: 250 },
  );
  return {
    toZeroOrders: Math.round((ordersGoneAt as number) - since),
    toHalted: Math.round(performance.now() - since),
  };
}

describe("fleet halts under faults", () => {
  it("halts a fleet of 100 when its leader is killed in the middle of the halt, never with two pods for one bot", async () => {
    const namespace = ns.fleetA;
    const standby: OperatorProcess = await env.startOperator("standby");
    const traders = await fleet(namespace);
    const pods = await PodRecorder.start(env.adminKubeConfig, namespace);
    try {
      const leader = (await env.operator.isLeader()) ? env.operator : standby;
      const started = performance.now();
      await engage(`${namespace}-halt`, { engaged: true, reason: "failover drill", namespaces: [namespace] });
      await waitFor(() => pods.events.filter((e) => e.deleting).length >= 10, {
        what: "the first 10 pod deletions",
        timeoutMs: 30_000,
        intervalMs: 5,
      });
      await leader.kill();
      const times = await untilFleetHalted(namespace, traders, started);
      expect(pods.maxPodsPerBot()).toBe(1);
      const next = leader === env.operator ? standby : env.operator;
      expect(await next.isLeader()).toBe(true);
      console.log(
        `leader killed mid-halt of ${FLEET}: 0 open orders after ${times.toZeroOrders} ms, every bot Halted after ${times.toHalted} ms`,
      );
    } finally {
      pods.stop();
    }
  });

  it("halts a fleet of 100 through a kube-apiserver restart in the middle of the halt", async () => {
    const namespace = ns.fleetB;
    const traders = await fleet(namespace);
    const pods = await PodRecorder.start(env.adminKubeConfig, namespace);
    try {
      const started = performance.now();
      await engage(`${namespace}-halt`, { engaged: true, reason: "restart drill", namespaces: [namespace] });
      await waitFor(() => pods.events.filter((e) => e.deleting).length >= 10, {
        what: "the first 10 pod deletions",
        timeoutMs: 30_000,
        intervalMs: 5,
      });
      await controlPlane.restartApiServer({ kill: true });
      const times = await untilFleetHalted(namespace, traders, started);
      console.log(
        `kube-apiserver killed and restarted mid-halt of ${FLEET}: 0 open orders after ${times.toZeroOrders} ms, every bot Halted after ${times.toHalted} ms`,
      );
    } finally {
      pods.stop();
    }
  });

  it("halts on a KillSwitch written under a newer CRD (an unknown field, a selector operator it does not know), and says what it could not read", async () => {
    // The KillSwitch CRD as a newer version could have it: one more field, one more selector operator.
    const crdPath = join(REPO_ROOT, "crds", "trading.botops.dev_killswitches.yaml");
    const crd = load(readFileSync(crdPath, "utf8")) as {
      spec: { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] };
    };
    const [served] = crd.spec.versions;
    if (served === undefined) throw new Error(`${crdPath} has no versions`);
    const specSchema = (served.schema.openAPIV3Schema as { properties: Record<string, never> }).properties
      .spec as unknown as {
      properties: Record<string, unknown> & {
        selector: {
          properties: { matchExpressions: { items: { properties: { operator: { enum: string[] } } } } };
        };
      };
    };
    specSchema.properties.schedule = { type: "string", description: "A field of a newer schema." };
    specSchema.properties.selector.properties.matchExpressions.items.properties.operator.enum.push("Gt");
    await env.kubectl(["apply", "--server-side", "--force-conflicts", "-f", "-"], dump(crd));
    try {
      const namespace = ns.newer;
      await env.apply([
        env.botFromSample(SAMPLE_GRID_BOT, namespace, { name: "trader", labels: { desk: "btc" } }),
        botManifest(namespace, "idle", { labels: { desk: "eth" } }),
      ]);
      const trader = await env.waitForBot(namespace, "trader", isReady, "Ready", 120_000);
      await env.waitForBot(namespace, "idle", isReady, "Ready", 120_000);
      await waitFor(() => env.openOrdersAtExchange(trader.metadata.uid).length > 0, {
        what: "the trader's orders",
        timeoutMs: 60_000,
      });
      const name = `${namespace}-newer`;
      const started = performance.now();
      await engage(name, {
        engaged: true,
        reason: "from a newer schema",
        namespaces: [namespace],
        schedule: "now",
        selector: { matchExpressions: [{ key: "desk", operator: "Gt" }] },
      });
      const times = await untilFleetHalted(namespace, [trader.metadata.uid], started);
      const halt = (await env.bot(namespace, "idle")).status?.halt;
      expect(halt).toMatchObject({ engaged: true, source: `KillSwitch/${name}` });
      const status = await waitFor(
        async () => {
          const ks = JSON.parse(await env.kubectl(["get", "killswitch", name, "-o", "json"])) as {
            status?: { matchedBots?: number; conditions?: { reason: string; message: string }[] };
          };
          return ks.status?.matchedBots === 2 ? ks.status : undefined;
        },
        { what: "the KillSwitch's status" },
      );
      expect(status.conditions?.[0]?.reason).toBe("SpecUnreadable");
      expect(status.conditions?.[0]?.message).toContain("spec.selector.matchExpressions.0.operator");
      console.log(`KillSwitch from a newer CRD: 0 open orders after ${times.toZeroOrders} ms`);
    } finally {
      for (const name of switches.splice(0))
        await env.kubectl(["delete", "killswitch", name, "--ignore-not-found"]);
      await env.kubectl(["apply", "--server-side", "--force-conflicts", "-f", crdPath]);
    }
  });
});
