import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server, Socket } from "node:net";
import { join } from "node:path";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RuntimeHaltedMessage } from "../../api/v1alpha1/index.ts";
import type { ExchangeSim } from "../../exchange-sim/index.ts";
import {
  buildHaltWatchClusterRoleBinding,
  buildHaltWatchRole,
  buildHaltWatchRoleBinding,
} from "../../operator/desired-state/bot-halt-watch-access.ts";
import { botManifest } from "../operator/fixtures.ts";
import { applyObjects, installCrds } from "../operator/harness.ts";
import { clusterContext } from "../support/context.ts";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";
import {
  type BotDatabase,
  cleanup,
  RuntimeProcess,
  type SimAccount,
  scratchDir,
  startSimulator,
  writeBot,
} from "./fixtures.ts";
import { createSuiteDatabase } from "./harness.ts";

// The dead man's switch (spec.killSwitch.haltIfUnsupervisedFor). The runtime watches its TradingBot and
// the KillSwitches in the real API server, through a TCP relay this test controls; the fault is the relay
// cut while the bot trades: the control plane is unreachable. With the switch set, the runtime halts
// itself (source Unsupervised) and cancels its orders; without it, it keeps trading and says so.

let db: BotDatabase;
let adminKc: KubeConfig;
let namespace: TestNamespace;
const dir = scratchDir("rt-dms");
const sims: ExchangeSim[] = [];
const relays: Relay[] = [];
/** Cluster-scoped objects this suite created, deleted at the end. */
const clusterObjects: string[] = [];

/** A TCP relay to the API server that can be cut (listener closed, every connection destroyed). */
interface Relay {
  port: number;
  cut(): Promise<void>;
}

async function startRelay(target: URL): Promise<Relay> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client).add(upstream);
    upstream.connect(Number(target.port), target.hostname);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const relay = {
    port: (server.address() as { port: number }).port,
    async cut() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
  relays.push(relay);
  return relay;
}

beforeAll(async () => {
  db = await createSuiteDatabase("rt_dms");
  const cluster = clusterContext();
  adminKc = adminKubeConfig();
  await installCrds({ kubectlPath: cluster.kubectlPath, kubeconfigPath: cluster.kubeconfigPath });
  namespace = await createTestNamespace(adminKc, "dms");
});

afterAll(async () => {
  await Promise.all(relays.map((relay) => relay.cut().catch(() => {})));
  await Promise.all(sims.map((sim) => sim.close()));
  await namespace?.cleanup();
  for (const object of clusterObjects) await kubectl(["delete", object, "--ignore-not-found"]);
  cleanup(dir);
});

/**
 * A TradingBot in the API server (nothing reconciles it: the namespace has no operator), its
 * ServiceAccount with the halt watch's RBAC, and the folder the pod would mount: token and CA.
 */
async function haltWatchFor(name: string): Promise<{ dir: string; uid: string; env: NodeJS.ProcessEnv }> {
  const ns = namespace.name;
  const cluster = clusterContext();
  const access = { kubectlPath: cluster.kubectlPath, kubeconfigPath: cluster.kubeconfigPath };
  await applyObjects(access, [botManifest(ns, name)]);
  const uid = (await kubectl(["get", "tradingbot", name, "-n", ns, "-o", "jsonpath={.metadata.uid}"])).stdout;
  const bot = { name, namespace: ns, uid };
  const clusterRole = `dms-halt-watch-${randomBytes(3).toString("hex")}`;
  await applyObjects(access, [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: `${name}-runtime`, namespace: ns } },
    buildHaltWatchRole(bot),
    buildHaltWatchRoleBinding(bot),
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: clusterRole },
      rules: [{ apiGroups: ["trading.botops.dev"], resources: ["killswitches"], verbs: ["list", "watch"] }],
    },
    buildHaltWatchClusterRoleBinding(bot, clusterRole),
  ]);
  clusterObjects.push(
    `clusterrole/${clusterRole}`,
    `clusterrolebinding/trading.botops.dev:halt-watch:${ns}:${name}`,
  );
  const token = (
    await adminKc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      namespace: ns,
      name: `${name}-runtime`,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    })
  ).status?.token as string;
  const server = adminKc.getCurrentCluster();
  if (!server?.caData) throw new Error("the admin kubeconfig has no inline CA");
  const watchDir = join(dir, name, "halt-watch");
  mkdirSync(watchDir, { recursive: true });
  writeFileSync(join(watchDir, "token"), token, { mode: 0o400 });
  writeFileSync(join(watchDir, "ca.crt"), Buffer.from(server.caData, "base64"), { mode: 0o400 });
  const relay = await startRelay(new URL(server.server));
  return {
    dir: watchDir,
    uid,
    env: { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(relay.port) },
  };
}

const risk = {
  maxOrderQuote: "100",
  maxPositionQuote: "5000",
  maxDailyLossQuote: "1000",
  maxDrawdownPct: "50",
  maxOpenOrders: 20,
  maxOrdersPerMinute: 120,
  priceBandPct: "10",
};

function grid(price: number) {
  return {
    type: "grid" as const,
    grid: {
      lowerPrice: (price * 0.95).toFixed(2),
      upperPrice: (price * 1.05).toFixed(2),
      levels: 6,
      quotePerOrder: "20",
    },
  };
}

const openAt = (sim: ExchangeSim, account: SimAccount) =>
  sim.orders({ apiKey: account.apiKey }).filter((o) => o.status === "NEW" || o.status === "PARTIALLY_FILLED");

async function tradingBotWithWatch(name: string, haltIfUnsupervisedForSeconds: number | undefined) {
  const { sim, account } = await startSimulator();
  sims.push(sim);
  const watch = await haltWatchFor(name);
  const setup = writeBot(join(dir, name), sim, account, {
    bot: { namespace: namespace.name, name, uid: watch.uid },
    symbol: "BTC/USDT",
    strategy: grid(Number(sim.price("BTCUSDT"))),
    risk,
    onStop: "CancelOrders",
    ...(haltIfUnsupervisedForSeconds === undefined ? {} : { haltIfUnsupervisedForSeconds }),
  });
  const bot = RuntimeProcess.start(
    setup,
    db.tradingCredentials,
    ["--tick-interval-ms", "200", "--halt-watch", watch.dir],
    {
      env: watch.env,
    },
  );
  await waitFor(() => openAt(sim, account).length >= 2, {
    what: `open orders\n${bot.tail()}`,
    timeoutMs: 60_000,
  });
  return { sim, account, bot, setup, relay: relays.at(-1) as Relay };
}

async function metric(bot: RuntimeProcess, name: string): Promise<number> {
  const { body } = await bot.get("/metrics");
  const line = body.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1]);
}

describe("a runtime whose halt watch cannot reach the API server", () => {
  it("halts itself as Unsupervised after haltIfUnsupervisedFor, cancelling its orders", async () => {
    const { sim, account, bot, setup, relay } = await tradingBotWithWatch("dms-on", 4);
    // Supervised: the watch confirms its sources, and the bot trades on.
    await waitFor(async () => (await metric(bot, "tradingbot_runtime_halt_watch_unconfirmed_seconds")) < 4, {
      what: "the halt watch confirmed",
    });
    await relay.cut();
    const cut = performance.now();
    const exit = await bot.exited;
    const afterMs = Math.round(performance.now() - cut);
    console.log(`[dead man's switch] relay cut -> runtime exited after ${afterMs} ms (switch: 4 s)`);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(openAt(sim, account)).toEqual([]);
    const message = RuntimeHaltedMessage.parse(JSON.parse(readFileSync(setup.terminationLog, "utf8")));
    expect(message).toMatchObject({ reason: "Halted", source: "Unsupervised", noticedBy: "watch" });
    const halt = bot.events("halt").at(-1);
    expect(halt).toMatchObject({ source: "Unsupervised" });
  });

  it("without the switch keeps trading through the outage, and its metric says for how long", async () => {
    const { sim, account, bot, relay } = await tradingBotWithWatch("dms-off", undefined);
    await relay.cut();
    await waitFor(async () => (await metric(bot, "tradingbot_runtime_halt_watch_unconfirmed_seconds")) >= 6, {
      what: "6 s unconfirmed",
      timeoutMs: 90_000,
    });
    expect(bot.child.exitCode).toBeNull();
    expect(bot.events("halt")).toEqual([]);
    expect(openAt(sim, account).length).toBeGreaterThan(0);
    expect(bot.events("halt_watch_problem").length).toBeGreaterThan(0);
    await bot.stop();
  });
});
