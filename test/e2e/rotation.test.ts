import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeyId } from "../../exchange-sim/index.ts";
import { PodRecorder } from "../operator/pod-watch.ts";
import { waitFor } from "../support/wait-for.ts";
import { SAMPLE_GRID_BOT, type TradingEnvironment } from "./environment.ts";
import { isReady, startSuiteEnvironment } from "./suite-environment.ts";

// Rotating the exchange Secret restarts the bot with the new key, one process at a time.

const BOT = "grid-rotated";
const POD = `${BOT}-runtime`;

let env: TradingEnvironment;
let ns: string;

beforeAll(async () => {
  const suite = await startSuiteEnvironment("e2e-rotate", ["desk"]);
  env = suite.env;
  ns = suite.namespaces[0] as string;
});

afterAll(async () => {
  await env?.stop();
});

/** Samples the bot's runtime processes in /proc every few milliseconds; remembers the most seen at once. */
function sampleProcesses(namespace: string, pod: string) {
  let most = 0;
  const pids = new Set<number>();
  const timer = setInterval(() => {
    const running = env.runtimeProcesses(namespace, pod);
    for (const pid of running) pids.add(pid);
    most = Math.max(most, running.length);
  }, 10);
  return {
    stop() {
      clearInterval(timer);
      return { most, pids: [...pids] };
    },
  };
}

describe("rotating the exchange Secret", () => {
  it("restarts the bot with the new key, never running two processes for it at once", async () => {
    await env.apply([env.botFromSample(SAMPLE_GRID_BOT, ns, { name: BOT })]);
    const first = await env.waitForBot(ns, BOT, isReady, "Ready");
    const uid = first.metadata.uid;
    const oldKey = env.account(ns);
    await waitFor(() => env.openOrdersAtExchange(uid).length > 0, {
      what: "the bot's orders, placed with the first key",
      timeoutMs: 60_000,
    });
    const firstPod = await env.view.pod(ns, POD);

    const pods = await PodRecorder.start(env.adminKubeConfig, ns);
    const processes = sampleProcesses(ns, POD);
    let newKey: Awaited<ReturnType<TradingEnvironment["rotateExchangeKey"]>>;
    let seen: { most: number; pids: number[] };
    try {
      newKey = await env.rotateExchangeKey(ns);
      await waitFor(
        async () => {
          const pod = await env.view.pod(ns, POD);
          return pod?.metadata?.uid !== firstPod?.metadata?.uid && pod?.status?.phase === "Running";
        },
        { what: "a new pod for the rotated Secret", timeoutMs: 60_000 },
      );
      await env.waitForBot(ns, BOT, isReady, "Ready with the new key");
      await waitFor(() => env.openOrdersAtExchange(uid).some((o) => o.keyId === apiKeyId(newKey.apiKey)), {
        what: "orders placed with the new key",
        timeoutMs: 60_000,
      });
    } finally {
      seen = processes.stop();
      pods.stop();
    }

    expect(seen.most).toBe(1);
    expect(seen.pids.length).toBe(2);
    expect(pods.maxPodsPerBot(BOT)).toBe(1);
    expect(pods.podsSeen(BOT)).toBe(2);

    // The simulator saw the new key, and the old key no more once the new one was in use.
    const withNewKey = env.sim.requests({ apiKey: newKey.apiKey });
    const withOldKey = env.sim.requests({ apiKey: oldKey.apiKey });
    expect(withNewKey.length).toBeGreaterThan(0);
    const lastOld = Math.max(...withOldKey.map((request) => request.time));
    const firstNew = Math.min(...withNewKey.map((request) => request.time));
    expect(lastOld).toBeLessThanOrEqual(firstNew);
    // Orders placed with the old key were cancelled when its process stopped.
    const oldOrders = env.ordersAtExchange(uid).filter((order) => order.keyId === apiKeyId(oldKey.apiKey));
    expect(oldOrders.length).toBeGreaterThan(0);
    expect(oldOrders.every((order) => order.status === "CANCELED" || order.status === "FILLED")).toBe(true);

    // Revoking the old key now changes nothing for the bot.
    env.sim.revokeKey(oldKey.apiKey);
    const revoked = Date.now();
    await waitFor(
      () => env.sim.requests({ apiKey: newKey.apiKey, sinceMs: revoked }).some((r) => r.status === 200),
      { what: "the bot's requests with the new key after the old one was revoked", timeoutMs: 10_000 },
    );
    expect(isReady(await env.bot(ns, BOT))).toBe(true);
  });
});
