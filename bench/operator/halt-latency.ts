// Halt latency of one bot: 100 times, engage its kill switch with a patch and measure how long after the
// patch returned the operator's DELETE of the bot pod was accepted; next to it, how long a plain watch on
// TradingBots needs to see the same patch (the floor any controller reaches).
//
// Scenario 1 of `make bench` (bench/run.ts); standalone:
// Run:  node bench/operator/halt-latency.ts [--halts=100]
//       (starts the local control plane; or USE_EXISTING_CLUSTER=true KUBECONFIG=... for an existing one)
import { setTimeout as sleep } from "node:timers/promises";
import type { KubeApi } from "../../operator/kube/client.ts";
import { RESOURCES } from "../../operator/resources.ts";
import { botManifest } from "../../test/operator/fixtures.ts";
import { applyObjects } from "../../test/operator/harness.ts";
import {
  auditTime,
  type BenchCluster,
  ms,
  openBenchCluster,
  operatorUser,
  percentile,
  readAuditEvents,
  startBenchOperator,
  type WatchedObject,
  watchEvents,
} from "./bench-env.ts";

const BOT = "latency";
const POD = `${BOT}-runtime`;

interface Waiter {
  accept: (type: string, object: WatchedObject) => boolean;
  resolve: (at: number) => void;
}

/** A watch whose events can be awaited: `next(accept)` resolves with the arrival time of the first match. */
function watchOf(api: KubeApi, path: string, query: Record<string, string>) {
  const waiters: Waiter[] = [];
  const watch = watchEvents(api, path, query, (type, object, at) => {
    for (const waiter of [...waiters]) {
      if (waiter.accept(type, object)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(at);
      }
    }
  });
  return {
    next: (accept: (type: string, object: WatchedObject) => boolean) =>
      new Promise<number>((resolve) => waiters.push({ accept, resolve })),
    stop: () => watch.stop(),
  };
}

/** Server-side timestamps of the operator's pod DELETEs and status writes, and of our PATCHes, from the audit log. */
function auditTimes(auditLogPath: string, namespace: string, operatorNamespace: string) {
  const deletes: number[] = [];
  const patches: number[] = [];
  const statusWrites: number[] = [];
  const operator = operatorUser(operatorNamespace);
  for (const event of readAuditEvents(auditLogPath, 0, namespace)) {
    if (event.objectRef?.namespace !== namespace) continue;
    const at = auditTime(event);
    // The operator's DELETE (its ServiceAccount), not KWOK's final one.
    const byOperator = event.user?.username === operator;
    if (
      event.verb === "delete" &&
      event.objectRef?.resource === "pods" &&
      event.objectRef.name === POD &&
      byOperator
    ) {
      deletes.push(at);
    }
    if (
      event.verb === "patch" &&
      event.objectRef?.resource === "tradingbots" &&
      event.objectRef.subresource === "status" &&
      byOperator
    ) {
      statusWrites.push(at);
    }
    if (
      event.verb === "patch" &&
      event.objectRef?.resource === "tradingbots" &&
      !event.objectRef.subresource &&
      !event.user?.username?.startsWith("system:serviceaccount:")
    ) {
      patches.push(at);
    }
  }
  return { deletes, patches, statusWrites };
}

interface Quantiles {
  p50: number;
  p99: number;
}

export interface HaltLatencyResult {
  halts: number;
  baselineWatchMs: Quantiles;
  podDeleteSeenMs: Quantiles;
  auditPatchToStatusMs?: Quantiles;
  auditStatusToDeleteMs?: Quantiles;
  auditPatchToDeleteMs?: Quantiles & { samples: number };
  ratioP99: number;
  targetP99Ms: number;
  withinTarget: boolean;
  samples: { watchMs: number[]; deleteMs: number[] };
}

const quantiles = (samples: number[]): Quantiles => ({
  p50: percentile(samples, 50),
  p99: percentile(samples, 99),
});

/**
 * Scenario 1 on an open cluster: its own namespace and operator, `halts` halts of one bot (each followed
 * by a resume), everything stopped again at the end.
 */
export async function measureHaltLatency(
  cluster: BenchCluster,
  halts: number,
  log: (line: string) => void,
): Promise<HaltLatencyResult> {
  const bench = await startBenchOperator(cluster);
  try {
    const { namespace } = bench;
    const api = cluster.admin;
    const bots = watchOf(api, `/apis/trading.botops.dev/v1alpha1/namespaces/${namespace}/tradingbots`, {
      fieldSelector: `metadata.name=${BOT}`,
    });
    const pods = watchOf(api, `/api/v1/namespaces/${namespace}/pods`, {
      fieldSelector: `metadata.name=${POD}`,
    });
    const patchKillSwitch = (engaged: boolean) =>
      api.mergePatch<WatchedObject>(RESOURCES.tradingBots, namespace, BOT, {
        spec: { killSwitch: { engaged, reason: "bench" } },
      });
    const podReady = (_type: string, object: WatchedObject) =>
      !object.metadata.deletionTimestamp &&
      (object.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

    const firstReady = pods.next(podReady);
    await applyObjects(cluster.access, [botManifest(namespace, BOT)]);
    await firstReady;
    await sleep(500);
    log(`bot ready in ${namespace}; ${halts} halts`);

    const watchMs: number[] = [];
    const deleteMs: number[] = [];
    for (let i = 0; i < halts; i++) {
      const seen = bots.next((_t, o) => o.spec?.killSwitch?.engaged === true);
      const deleting = pods.next((t, o) => o.metadata.deletionTimestamp !== undefined || t === "DELETED");
      const started = performance.now();
      await patchKillSwitch(true);
      const returned = performance.now();
      const [seenAt, deletingAt] = await Promise.all([seen, deleting]);
      watchMs.push(seenAt - returned);
      deleteMs.push(deletingAt - returned);
      if (i === 0) log(`first halt: patch took ${ms(returned - started)}`);
      const ready = pods.next(podReady);
      await patchKillSwitch(false);
      await ready;
      await sleep(100);
    }
    bots.stop();
    pods.stop();

    const base = quantiles(watchMs);
    const op = quantiles(deleteMs);
    const result: HaltLatencyResult = {
      halts,
      baselineWatchMs: base,
      podDeleteSeenMs: op,
      ratioP99: op.p99 / base.p99,
      targetP99Ms: 2 * base.p99 + 50,
      withinTarget: op.p99 <= 2 * base.p99 + 50,
      samples: { watchMs, deleteMs },
    };
    if (cluster.auditLogPath) {
      const { deletes, patches, statusWrites } = auditTimes(
        cluster.auditLogPath,
        namespace,
        bench.operatorNamespace,
      );
      // Where the time goes, at the server: our patch -> the operator's status write -> its DELETE.
      // Each DELETE answers the last patch of ours before it.
      const lastBefore = (times: number[], at: number) => Math.max(...times.filter((t) => t <= at));
      const serverMs = deletes.map((d) => d - lastBefore(patches, d)).filter(Number.isFinite);
      const toStatus = deletes
        .map((d) => lastBefore(statusWrites, d) - lastBefore(patches, d))
        .filter(Number.isFinite);
      const statusToDelete = deletes.map((d) => d - lastBefore(statusWrites, d)).filter(Number.isFinite);
      result.auditPatchToStatusMs = quantiles(toStatus);
      result.auditStatusToDeleteMs = quantiles(statusToDelete);
      result.auditPatchToDeleteMs = { samples: serverMs.length, ...quantiles(serverMs) };
    }
    log(
      (await bench.operator.metrics())
        .split("\n")
        .filter((l) =>
          /^tradingbot_operator_(api_request_duration_seconds|reconcile_duration_seconds)_(sum|count)/.test(
            l,
          ),
        )
        .join("\n"),
    );
    return result;
  } finally {
    await bench.stop();
  }
}

function describe(result: HaltLatencyResult): string {
  const base = result.baselineWatchMs;
  const op = result.podDeleteSeenMs;
  return [
    `halt latency over ${result.halts} halts (patch returned -> ...):`,
    `  plain TradingBot watch sees the patch:    p50 ${ms(base.p50)}  p99 ${ms(base.p99)}`,
    `  pod watch sees the operator's DELETE:     p50 ${ms(op.p50)}  p99 ${ms(op.p99)}`,
    result.auditPatchToDeleteMs
      ? `  audit log, PATCH done -> DELETE done:     p50 ${ms(result.auditPatchToDeleteMs.p50)}  p99 ${ms(result.auditPatchToDeleteMs.p99)}`
      : "  (no audit log on an existing cluster)",
    result.auditPatchToStatusMs && result.auditStatusToDeleteMs
      ? `    of which PATCH -> status written:      p50 ${ms(result.auditPatchToStatusMs.p50)}  p99 ${ms(result.auditPatchToStatusMs.p99)}\n` +
        `    and status written -> DELETE done:     p50 ${ms(result.auditStatusToDeleteMs.p50)}  p99 ${ms(result.auditStatusToDeleteMs.p99)}`
      : "",
    `  ratio p99 ${result.ratioP99.toFixed(2)}; target p99 <= 2 x baseline + 50 ms = ${ms(result.targetP99Ms)}: ${result.withinTarget ? "met" : "MISSED"}`,
  ].join("\n");
}

if (import.meta.main) {
  const halts = Number(process.argv.find((a) => a.startsWith("--halts="))?.slice("--halts=".length) ?? 100);
  const log = (line: string) => console.error(`[halt-latency] ${line}`);
  const cluster = await openBenchCluster(log);
  try {
    const result = await measureHaltLatency(cluster, halts, log);
    console.log(describe(result));
    console.log(JSON.stringify({ ...result, samples: undefined }));
  } finally {
    await cluster.stop();
  }
}
