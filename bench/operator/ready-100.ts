// Time for a batch of bots to become Ready: N TradingBots created at once, until every
// one reports Ready=True and every pod is Running (KWOK marks them so). Also counts the operator's writes.
//
// Run:  node bench/operator/ready-100.ts [--bots=100]
//       (starts the local control plane; or USE_EXISTING_CLUSTER=true KUBECONFIG=... for an existing one)
import { RESOURCES } from "../../operator/resources.ts";
import { botManifest } from "../../test/operator/fixtures.ts";
import { openBenchCluster, startBenchOperator, watchEvents } from "./bench-env.ts";

const count = Number(process.argv.find((a) => a.startsWith("--bots="))?.slice("--bots=".length) ?? 100);
const log = (line: string) => console.error(`[ready-100] ${line}`);

async function main() {
  const cluster = await openBenchCluster(log);
  try {
    const bench = await startBenchOperator(cluster);
    const { namespace, operator } = bench;
    const readyBots = new Map<string, number>();
    const runningPods = new Map<string, number>();
    const createdPods = new Map<string, number>();
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const check = () => {
      if (readyBots.size === count && runningPods.size === count) done();
    };
    const botWatch = watchEvents(
      cluster.admin,
      `/apis/trading.botops.dev/v1alpha1/namespaces/${namespace}/tradingbots`,
      {},
      (_t, bot, at) => {
        if (
          !readyBots.has(bot.metadata.name) &&
          bot.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
        ) {
          readyBots.set(bot.metadata.name, at);
          check();
        }
      },
    );
    const podWatch = watchEvents(cluster.admin, `/api/v1/namespaces/${namespace}/pods`, {}, (_t, pod, at) => {
      if (!createdPods.has(pod.metadata.name)) createdPods.set(pod.metadata.name, at);
      if (!runningPods.has(pod.metadata.name) && pod.status?.phase === "Running") {
        runningPods.set(pod.metadata.name, at);
        check();
      }
    });
    const writesBefore = await writes(operator.metrics());
    const cpuBefore = await operator.metric("tradingbot_operator_process_cpu_seconds_total");
    const bots = Array.from({ length: count }, (_, i) =>
      botManifest(namespace, `ready-${String(i).padStart(4, "0")}`),
    );
    // All at once, as a controller sees a fleet arrive: parallel creates.
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let bot = bots[next++]; bot; bot = bots[next++])
          await cluster.admin.create(RESOURCES.tradingBots, bot as never);
      }),
    );
    const applied = performance.now();
    await finished;
    const podsRunningMs = Math.max(...runningPods.values()) - started;
    const podsCreatedMs = Math.max(...createdPods.values()) - started;
    const allReadyMs = Math.max(...readyBots.values()) - started;
    botWatch.stop();
    podWatch.stop();
    const writeCount = (await writes(operator.metrics())) - writesBefore;
    const cpuSeconds =
      ((await operator.metric("tradingbot_operator_process_cpu_seconds_total")) ?? 0) - (cpuBefore ?? 0);
    console.log(
      [
        `${count} TradingBots created (32 requests at a time, all accepted after ${(applied - started).toFixed(0)} ms):`,
        `  every pod created after   ${(podsCreatedMs / 1000).toFixed(2)} s`,
        `  every pod Running after   ${(podsRunningMs / 1000).toFixed(2)} s`,
        `  every bot Ready after     ${(allReadyMs / 1000).toFixed(2)} s`,
        `  operator writes           ${writeCount} (${(writeCount / count).toFixed(1)} per bot, Lease renewals excluded)`,
        `  operator CPU              ${cpuSeconds.toFixed(2)} s (${((cpuSeconds / count) * 1000).toFixed(1)} ms per bot)`,
      ].join("\n"),
    );
    console.log(
      JSON.stringify({
        bots: count,
        podsCreatedMs,
        podsRunningMs,
        allReadyMs,
        operatorWrites: writeCount,
        operatorCpuSeconds: cpuSeconds,
      }),
    );
    log(
      (await operator.metrics())
        .split("\n")
        .filter(
          (l) =>
            l.startsWith("tradingbot_operator_api_writes_total{") ||
            l.startsWith("tradingbot_operator_reconcile_total{"),
        )
        .join("\n"),
    );
    await bench.stop();
  } finally {
    await cluster.stop();
  }
}

/** The operator's API writes so far, Lease renewals excluded. */
async function writes(metrics: Promise<string>): Promise<number> {
  let total = 0;
  for (const line of (await metrics).split("\n")) {
    if (line.startsWith("tradingbot_operator_api_writes_total{") && !line.includes('resource="leases"')) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
}

await main();
