// Resident memory of one bot runtime as it runs in a pod: with its halt watch open on the API server, next
// to scenario 6's figure of the same runtime without it. The whole loop of test/e2e/environment.ts (the
// operator, the local node agent running the built runtime with its pod-bound token, the simulator,
// PostgreSQL) on a control plane of its own; a grid bot from the sample trades while the price moves every
// 5 s, and VmRSS of its process is sampled from /proc.
//
// usage: node bench/runtime/halt-watch-rss.ts [--trade-minutes N] [--out FILE]   (after `make build`)
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { SAMPLE_GRID_BOT, startTradingEnvironment } from "../../test/e2e/environment.ts";
import { REPO_ROOT } from "../../test/operator/harness.ts";
import { startPostgres } from "../../test/postgres/index.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import { openBenchCluster } from "../operator/bench-env.ts";

const { values } = parseArgs({
  options: { "trade-minutes": { type: "string", default: "5" }, out: { type: "string" } },
});
const tradeMinutes = Number(values["trade-minutes"]);
const log = (line: string) => console.error(`[halt-watch-rss] ${line}`);

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((entry) => entry.startsWith("VmRSS:"));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

async function main() {
  const postgres = await startPostgres();
  const cluster = await openBenchCluster(log, 0);
  const name = `rss-${process.pid}`;
  const namespace = `${name}-bots`;
  const env = await startTradingEnvironment({
    cluster: cluster.access,
    postgres,
    name,
    botNamespaces: [namespace],
    workDir: join(REPO_ROOT, ".local", name),
  });
  try {
    await env.apply([env.botFromSample(SAMPLE_GRID_BOT, namespace)]);
    await env.waitForBot(
      namespace,
      "grid-btc-paper",
      (bot) => bot.status?.phase === "Running",
      "Running",
      120_000,
    );
    const [pid] = await waitFor(
      () => {
        const pids = env.runtimeProcesses(namespace, "grid-btc-paper-runtime");
        return pids.length === 1 ? pids : undefined;
      },
      { what: "the runtime's process" },
    );
    const samples: { atS: number; rssMiB: number }[] = [];
    const started = Date.now();
    for (let step = 1; Date.now() - started < tradeMinutes * 60_000; step++) {
      await sleep(5_000);
      env.sim.setPrice({ symbol: "BTCUSDT", movePct: step % 4 < 2 ? -0.7 : 0.7 });
      samples.push({ atS: Math.round((Date.now() - started) / 1000), rssMiB: rssMiB(pid as number) });
    }
    const result = {
      tradeMinutes,
      rssMiBSteadyState: samples.at(-1)?.rssMiB,
      rssMiBMax: Math.max(...samples.map((sample) => sample.rssMiB)),
      samples,
    };
    const text = `${JSON.stringify(result, null, 2)}\n`;
    if (values.out) writeFileSync(values.out, text);
    process.stdout.write(text);
  } finally {
    await env.stop();
    await cluster.stop();
    await postgres.stop();
  }
}

await main();
