// Halt latency of one bot: 100 times, engage its kill switch with a patch and measure how long after the
// patch returned the operator's DELETE of the bot pod was accepted; next to it, how long a plain watch on
// TradingBots needs to see the same patch (the floor any controller reaches).
//
// Run:  node bench/operator/halt-latency.ts [--halts=100]
//       (starts the local control plane; or USE_EXISTING_CLUSTER=true KUBECONFIG=... for an existing one)
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { KubeApi } from "../../operator/kube-client.ts";
import { RESOURCES } from "../../operator/resources.ts";
import { botManifest } from "../../test/operator/fixtures.ts";
import { applyObjects } from "../../test/operator/harness.ts";
import {
  ms,
  openBenchCluster,
  percentile,
  startBenchOperator,
  type WatchedObject,
  watchEvents,
} from "./bench-env.ts";

const halts = Number(process.argv.find((a) => a.startsWith("--halts="))?.slice("--halts=".length) ?? 100);
const log = (line: string) => console.error(`[halt-latency] ${line}`);
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

/** Server-side timestamps of the operator's pod DELETEs and of our PATCHes, from the audit log. */
function auditTimes(auditLogPath: string, namespace: string) {
  const deletes: number[] = [];
  const patches: number[] = [];
  const statusWrites: number[] = [];
  for (const line of readFileSync(auditLogPath, "utf8").split("\n")) {
    if (!line.includes(namespace) || !line.includes("ResponseComplete")) continue;
    const event = JSON.parse(line) as {
      verb: string;
      stageTimestamp: string;
      objectRef?: { resource?: string; name?: string; subresource?: string };
      user?: { username?: string };
    };
    const at =
      Date.parse(event.stageTimestamp) +
      Number(event.stageTimestamp.match(/\.\d{3}(\d{3})/)?.[1] ?? 0) / 1000;
    // The operator's DELETE (its ServiceAccount), not KWOK's final one.
    const byOperator = event.user?.username?.endsWith(":tradingbot-operator") ?? false;
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

async function main() {
  const cluster = await openBenchCluster(log);
  try {
    const bench = await startBenchOperator(cluster);
    const { namespace, operator } = bench;
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

    const result: Record<string, unknown> = {
      halts,
      baselineWatchMs: { p50: percentile(watchMs, 50), p99: percentile(watchMs, 99) },
      podDeleteSeenMs: { p50: percentile(deleteMs, 50), p99: percentile(deleteMs, 99) },
    };
    if (cluster.auditLogPath) {
      const { deletes, patches, statusWrites } = auditTimes(cluster.auditLogPath, namespace);
      // Each DELETE answers the last patch of ours before it.
      const serverMs = deletes
        .map((deleteAt) => deleteAt - Math.max(...patches.filter((patchAt) => patchAt <= deleteAt)))
        .filter((v) => Number.isFinite(v));
      // Where the time goes, at the server: our patch -> the operator's status write -> its DELETE.
      const lastBefore = (times: number[], at: number) => Math.max(...times.filter((t) => t <= at));
      const toStatus = deletes
        .map((d) => lastBefore(statusWrites, d) - lastBefore(patches, d))
        .filter(Number.isFinite);
      const statusToDelete = deletes.map((d) => d - lastBefore(statusWrites, d)).filter(Number.isFinite);
      result.auditPatchToStatusMs = { p50: percentile(toStatus, 50), p99: percentile(toStatus, 99) };
      result.auditStatusToDeleteMs = {
        p50: percentile(statusToDelete, 50),
        p99: percentile(statusToDelete, 99),
      };
      result.auditPatchToDeleteMs = {
        samples: serverMs.length,
        p50: percentile(serverMs, 50),
        p99: percentile(serverMs, 99),
      };
    }
    const base = result.baselineWatchMs as { p50: number; p99: number };
    const op = result.podDeleteSeenMs as { p50: number; p99: number };
    result.ratioP99 = op.p99 / base.p99;
    result.targetP99Ms = 2 * base.p99 + 50;
    result.withinTarget = op.p99 <= 2 * base.p99 + 50;
    console.log(
      [
        `halt latency over ${halts} halts (patch returned -> ...):`,
        `  plain TradingBot watch sees the patch:    p50 ${ms(base.p50)}  p99 ${ms(base.p99)}`,
        `  pod watch sees the operator's DELETE:     p50 ${ms(op.p50)}  p99 ${ms(op.p99)}`,
        result.auditPatchToDeleteMs
          ? `  audit log, PATCH done -> DELETE done:     p50 ${ms((result.auditPatchToDeleteMs as { p50: number }).p50)}  p99 ${ms((result.auditPatchToDeleteMs as { p99: number }).p99)}`
          : "  (no audit log on an existing cluster)",
        result.auditPatchToStatusMs
          ? `    of which PATCH -> status written:      p50 ${ms((result.auditPatchToStatusMs as { p50: number }).p50)}  p99 ${ms((result.auditPatchToStatusMs as { p99: number }).p99)}\n` +
            `    and status written -> DELETE done:     p50 ${ms((result.auditStatusToDeleteMs as { p50: number }).p50)}  p99 ${ms((result.auditStatusToDeleteMs as { p99: number }).p99)}`
          : "",
        `  ratio p99 ${(result.ratioP99 as number).toFixed(2)}; target p99 <= 2 x baseline + 50 ms = ${ms(result.targetP99Ms as number)}: ${result.withinTarget ? "met" : "MISSED"}`,
      ].join("\n"),
    );
    console.log(JSON.stringify(result));
    const metrics = await operator.metrics();
    log(
      metrics
        .split("\n")
        .filter((l) =>
          /^tradingbot_operator_(api_request_duration_seconds|reconcile_duration_seconds)_(sum|count)/.test(
            l,
          ),
        )
        .join("\n"),
    );
    await bench.stop();
  } finally {
    await cluster.stop();
  }
}

await main();
