// What one write costs the API server, in its own CPU time: a TradingBot status write (what a fleet halt
// makes per bot before its pod DELETE) beside a ConfigMap write of the same content, side by side on the
// same control plane. Shows what a fleet halt on a small machine is bound by.
//
// Run:  node bench/operator/write-cost.ts [--objects=1000] [--rounds=3]   (also part of `make bench`, scenario 2)
import type { KubeObject } from "../../operator/kube/types.ts";
import { RESOURCES } from "../../operator/resources.ts";
import { botManifest } from "../../test/operator/fixtures.ts";
import { applyObjects, installCrds, kubectlRun } from "../../test/operator/harness.ts";
import {
  type BenchCluster,
  controlPlaneProcesses,
  inParallel,
  openBenchCluster,
  processCpuSeconds,
} from "./bench-env.ts";

const IN_FLIGHT = 32;

export interface WriteCost {
  objects: number;
  rounds: number;
  /** Medians over the rounds, in ms of API server CPU per write. */
  tradingBotStatusMs: number;
  configMapMs: number;
  ratio: number;
  perRound: { tradingBotStatusMs: number; configMapMs: number }[];
}

/** A status as a halt writes it (what the fleet halt's first write per bot carries). */
function haltedStatus(round: number, index: number) {
  const now = new Date().toISOString();
  return {
    phase: "Halted",
    observedGeneration: 1,
    halt: { engaged: true, source: "KillSwitch/write-cost", reason: `round ${round}`, since: now },
    conditions: [
      {
        type: "Ready",
        status: "False",
        reason: "Halted",
        message: `round ${round} bot ${index}`,
        observedGeneration: 1,
        lastTransitionTime: now,
      },
      {
        type: "Halted",
        status: "True",
        reason: "KillSwitch",
        message: `round ${round}`,
        observedGeneration: 1,
        lastTransitionTime: now,
      },
    ],
  };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** Creates `objects` TradingBots and ConfigMaps in a namespace of its own and writes each `rounds` times. */
export async function measureWriteCost(
  cluster: BenchCluster,
  options: { objects: number; rounds: number; log: (line: string) => void },
): Promise<WriteCost> {
  const { objects, rounds, log } = options;
  const apiServer = controlPlaneProcesses(cluster).get("kube-apiserver");
  if (!apiServer)
    throw new Error("the API server's CPU is read from /proc: needs the control plane started here");
  const cpu = () => processCpuSeconds(apiServer) ?? Number.NaN;
  const namespace = `write-cost-${process.pid}`;
  await applyObjects(cluster.access, [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
  ]);
  const names = Array.from({ length: objects }, (_, i) => `cost-${i}`);
  await inParallel(names, IN_FLIGHT, async (name) => {
    await cluster.admin.create(RESOURCES.tradingBots, botManifest(namespace, name) as unknown as KubeObject);
    await cluster.admin.create(RESOURCES.configMaps, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace },
      data: {},
    });
  });
  const measure = async (what: string, write: (name: string, index: number) => Promise<unknown>) => {
    const before = cpu();
    await inParallel(
      names.map((name, index) => ({ name, index })),
      IN_FLIGHT,
      ({ name, index }) => write(name, index),
    );
    const perWriteMs = ((cpu() - before) * 1000) / objects;
    log(`${what}: ${perWriteMs.toFixed(2)} ms of API server CPU per write`);
    return perWriteMs;
  };
  const perRound: WriteCost["perRound"] = [];
  for (let round = 1; round <= rounds; round++) {
    const tradingBotStatusMs = await measure("TradingBot status merge patch", (name, index) =>
      cluster.admin.mergePatch(
        RESOURCES.tradingBots,
        namespace,
        name,
        { status: haltedStatus(round, index) },
        "status",
      ),
    );
    const configMapMs = await measure("ConfigMap merge patch, same content", (name, index) =>
      cluster.admin.mergePatch(RESOURCES.configMaps, namespace, name, {
        data: { status: JSON.stringify(haltedStatus(round, index)) },
      }),
    );
    perRound.push({ tradingBotStatusMs, configMapMs });
  }
  const tradingBotStatusMs = median(perRound.map((r) => r.tradingBotStatusMs));
  const configMapMs = median(perRound.map((r) => r.configMapMs));
  await kubectlRun(cluster.access, ["delete", "namespace", namespace, "--wait=true"]);
  return {
    objects,
    rounds,
    tradingBotStatusMs,
    configMapMs,
    ratio: tradingBotStatusMs / configMapMs,
    perRound,
  };
}

if (import.meta.main) {
  const flag = (name: string, fallback: number) =>
    Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
  const log = (line: string) => console.error(`[write-cost] ${line}`);
  const cluster = await openBenchCluster(log);
  try {
    await installCrds(cluster.access);
    const result = await measureWriteCost(cluster, {
      objects: flag("objects", 1000),
      rounds: flag("rounds", 3),
      log,
    });
    console.log(JSON.stringify(result));
  } finally {
    await cluster.stop();
  }
}
