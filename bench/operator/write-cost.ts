// What one write costs the API server, in its own CPU time: a TradingBot status write (what a fleet halt
// makes per bot before its pod DELETE) against a ConfigMap write of the same size, side by side, on the
// local control plane. Explains what a fleet halt on a small machine is bound by.
//
// Run:  node bench/operator/write-cost.ts [--objects=1000] [--rounds=3]
import { readdirSync, readFileSync } from "node:fs";
import type { KubeObject } from "../../operator/kube-types.ts";
import { RESOURCES } from "../../operator/resources.ts";
import { botManifest } from "../../test/operator/fixtures.ts";
import { applyObjects, installCrds } from "../../test/operator/harness.ts";
import { openBenchCluster } from "./bench-env.ts";

const flag = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const objects = flag("objects", 1000);
const rounds = flag("rounds", 3);
const IN_FLIGHT = 32;
const log = (line: string) => console.error(`[write-cost] ${line}`);

/** CPU seconds (user + system) used so far by the process whose command line names `binary` and `marker`. */
function cpuSecondsOf(binary: string, marker: string): () => number {
  const pid = readdirSync("/proc").find((entry) => {
    if (!/^[0-9]+$/.test(entry)) return false;
    try {
      const command = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      return command.split("\0")[0]?.endsWith(binary) && command.includes(marker);
    } catch {
      return false;
    }
  });
  if (!pid) throw new Error(`no ${binary} process found`);
  const ticksPerSecond = 100;
  return () => {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  };
}

async function inBatches<T>(items: T[], write: (item: T, index: number) => Promise<void>) {
  for (let i = 0; i < items.length; i += IN_FLIGHT) {
    await Promise.all(items.slice(i, i + IN_FLIGHT).map((item, k) => write(item, i + k)));
  }
}

const cluster = await openBenchCluster(log);
try {
  await installCrds(cluster.access);
  const namespace = `write-cost-${process.pid}`;
  await applyObjects(cluster.access, [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
  ]);
  const marker = cluster.access.kubeconfigPath.split("/").slice(-2, -1)[0] ?? "";
  const apiServerCpu = cpuSecondsOf("kube-apiserver", marker);
  const names = Array.from({ length: objects }, (_, i) => `cost-${i}`);
  await inBatches(names, async (name) => {
    await cluster.admin.create(RESOURCES.tradingBots, botManifest(namespace, name) as unknown as KubeObject);
    await cluster.admin.create(RESOURCES.configMaps, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace },
      data: {},
    });
  });
  const status = (round: number, i: number) => ({
    phase: "Halted",
    observedGeneration: 1,
    halt: {
      engaged: true,
      source: "KillSwitch/write-cost",
      reason: `round ${round}`,
      since: new Date().toISOString(),
    },
    conditions: [
      {
        type: "Ready",
        status: "False",
        reason: "Halted",
        message: `round ${round} bot ${i}`,
        observedGeneration: 1,
        lastTransitionTime: new Date().toISOString(),
      },
      {
        type: "Halted",
        status: "True",
        reason: "KillSwitch",
        message: `round ${round}`,
        observedGeneration: 1,
        lastTransitionTime: new Date().toISOString(),
      },
    ],
  });
  const measure = async (what: string, write: (name: string, index: number) => Promise<unknown>) => {
    const before = apiServerCpu();
    const started = performance.now();
    await inBatches(names, async (name, index) => {
      await write(name, index);
    });
    const cpuMs = ((apiServerCpu() - before) * 1000) / objects;
    log(
      `${what}: ${cpuMs.toFixed(2)} ms API server CPU per write, ${((performance.now() - started) / 1000).toFixed(2)} s wall for ${objects}`,
    );
    return cpuMs;
  };
  const results: { bot: number; configMap: number }[] = [];
  for (let round = 1; round <= rounds; round++) {
    const bot = await measure("TradingBot status merge patch", (name, i) =>
      cluster.admin.mergePatch(
        RESOURCES.tradingBots,
        namespace,
        name,
        { status: status(round, i) },
        "status",
      ),
    );
    const configMap = await measure("ConfigMap merge patch      ", (name, i) =>
      cluster.admin.mergePatch(RESOURCES.configMaps, namespace, name, {
        data: { status: JSON.stringify(status(round, i)) },
      }),
    );
    results.push({ bot, configMap });
  }
  const median = (values: number[]) =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
  const bot = median(results.map((r) => r.bot));
  const configMap = median(results.map((r) => r.configMap));
  console.log(
    JSON.stringify({
      objects,
      rounds,
      apiServerCpuMsPerWrite: { tradingBotStatus: bot, configMap },
      ratio: bot / configMap,
      results,
    }),
  );
} finally {
  await cluster.stop();
}
