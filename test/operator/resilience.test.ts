import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterContext } from "../support/context.ts";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";
import { ClusterView, isReady } from "./cluster-view.ts";
import {
  botManifest,
  databaseSecret,
  exchangeSecret,
  plantedValues,
  RESTRICTED_NAMESPACE_LABELS,
} from "./fixtures.ts";
import {
  applyObjects,
  deleteBotNamespaces,
  installCrds,
  installOperatorIdentity,
  type OperatorProcess,
  startOperator,
} from "./harness.ts";
import { PodRecorder } from "./pod-watch.ts";

const cluster = clusterContext();
const access = { kubectlPath: cluster.kubectlPath, kubeconfigPath: cluster.kubeconfigPath };
const adminKc = adminKubeConfig();
const view = new ClusterView(adminKc);
const planted = plantedValues(randomBytes(3).toString("hex"));

/** The Lease timings of leader-election.ts: 15 s lease, 2 s retry (with up to 20 % jitter). */
const LEASE_DURATION_MS = 15_000;
const RETRY_PERIOD_MS = 2_000;

const operatorNamespaces: TestNamespace[] = [];
const botNamespaces: TestNamespace[] = [];
const operators: OperatorProcess[] = [];

async function prepare(prefix: string) {
  const operatorNamespace = await createTestNamespace(adminKc, `${prefix}op`);
  const botNamespace = await createTestNamespace(adminKc, prefix, RESTRICTED_NAMESPACE_LABELS);
  operatorNamespaces.push(operatorNamespace);
  botNamespaces.push(botNamespace);
  const kubeconfigPath = await installOperatorIdentity(access, operatorNamespace.name);
  await applyObjects(access, [
    exchangeSecret(botNamespace.name, planted),
    databaseSecret(botNamespace.name, planted),
  ]);
  return { kubeconfigPath, operatorNamespace: operatorNamespace.name, ns: botNamespace.name };
}

async function start(options: Parameters<typeof startOperator>[0]) {
  const operator = await startOperator(options);
  operators.push(operator);
  return operator;
}

beforeAll(() => installCrds(access));

afterAll(async () => {
  await deleteBotNamespaces(
    access,
    botNamespaces.map((n) => n.name),
  );
  await Promise.all(operators.map((o) => o.stop()));
  await Promise.all(operatorNamespaces.map((n) => n.cleanup()));
});

describe("two operator processes on one Lease", () => {
  it("have one leader; when it is killed, the other takes over within the lease time and reconciles", async () => {
    const env = await prepare("lf");
    const [a, b] = await Promise.all(
      ["a", "b"].map((name) => start({ ...env, namespaces: [env.ns], identity: `${env.ns}-${name}` })),
    );
    const leader = await waitFor(
      async () => ((await a?.isLeader()) ? a : (await b?.isLeader()) ? b : undefined),
      {
        what: "a leader",
        timeoutMs: 30_000,
      },
    );
    const standby = leader === a ? b : a;
    if (!leader || !standby) throw new Error("two operators expected");
    expect(await standby.isLeader()).toBe(false);

    await applyObjects(access, [botManifest(env.ns, "failover")]);
    await view.waitForBot(env.ns, "failover", isReady, "Ready under the first leader", 60_000);
    const writesBefore = await standby.metric(
      "tradingbot_operator_reconcile_total",
      '{controller="TradingBot",result="success"}',
    );
    expect(writesBefore).toBeUndefined();

    await leader.kill();
    const killedAt = Date.now();
    await waitFor(() => standby.isLeader(), {
      what: "the standby to lead",
      timeoutMs: 40_000,
      intervalMs: 100,
    });
    const takeoverMs = Date.now() - killedAt;
    console.log(`leader failover: the standby led ${takeoverMs} ms after the leader was killed`);
    // The standby measures the lease on its own clock from the last renewal it saw, which it polls every
    // retry period: it takes over between one lease duration and one lease plus two retry periods.
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_DURATION_MS + 2 * RETRY_PERIOD_MS * 1.2 + 1000);

    await kubectl([
      "patch",
      "tb",
      "failover",
      "-n",
      env.ns,
      "--type",
      "merge",
      "-p",
      '{"spec":{"killSwitch":{"engaged":true,"reason":"after failover"}}}',
    ]);
    const halted = await view.waitForBot(
      env.ns,
      "failover",
      (bot) => bot.status?.phase === "Halted",
      "halted by the new leader",
    );
    expect(halted.status?.halt?.reason).toBe("after failover");
  });
});

describe("an operator restarted in the middle of a batch of 50 bots", () => {
  it("converges with exactly one pod per bot and never two at once", async () => {
    const env = await prepare("batch");
    const recorder = await PodRecorder.start(adminKc, env.ns);
    try {
      // Slowed down (a few requests per second) so that it is surely killed with the batch half done.
      const first = await start({
        ...env,
        namespaces: [env.ns],
        identity: `${env.ns}-first`,
        leaderElect: false,
        extraArgs: ["--qps=15", "--burst=15", "--concurrency=4"],
      });
      const names = Array.from({ length: 50 }, (_, i) => `bot-${String(i).padStart(2, "0")}`);
      await applyObjects(
        access,
        names.map((name) => botManifest(env.ns, name)),
      );
      await waitFor(async () => (await view.botPods(env.ns)).length >= 5, {
        what: "the first pods",
        intervalMs: 20,
      });
      await first.kill();
      const createdByFirst = (await view.botPods(env.ns)).length;
      console.log(`operator killed after it had created ${createdByFirst} of 50 pods`);
      expect(createdByFirst).toBeLessThan(50);

      await start({ ...env, namespaces: [env.ns], identity: `${env.ns}-second`, leaderElect: false });
      await waitFor(
        async () => {
          const bots = await view.custom.listNamespacedCustomObject({
            group: "trading.botops.dev",
            version: "v1alpha1",
            namespace: env.ns,
            plural: "tradingbots",
          });
          const items = (bots as { items: Parameters<typeof isReady>[0][] }).items;
          return items.length === 50 && items.every(isReady);
        },
        { what: "all 50 bots Ready", timeoutMs: 120_000, intervalMs: 500 },
      );
      const pods = await view.botPods(env.ns);
      expect(pods).toHaveLength(50);
      expect(new Set(pods.map((p) => p.metadata?.labels?.["trading.botops.dev/bot"]))).toEqual(
        new Set(names),
      );
      for (const name of names) expect(recorder.podsSeen(name)).toBe(1);
      expect(recorder.maxPodsPerBot()).toBe(1);
      const [configMaps, policies, accounts] = await Promise.all([
        view.core.listNamespacedConfigMap({
          namespace: env.ns,
          labelSelector: "app.kubernetes.io/managed-by=tradingbot-operator",
        }),
        view.networking.listNamespacedNetworkPolicy({ namespace: env.ns }),
        view.core.listNamespacedServiceAccount({
          namespace: env.ns,
          labelSelector: "app.kubernetes.io/managed-by=tradingbot-operator",
        }),
      ]);
      expect([configMaps.items.length, policies.items.length, accounts.items.length]).toEqual([50, 50, 50]);
    } finally {
      recorder.stop();
    }
  });
});
