// Scenario 7 of `make bench` (bench/run.ts): the whole halt path with real processes. The operator, the
// local node agent running the built bot runtime, the exchange simulator and PostgreSQL
// (test/e2e/environment.ts); a grid bot from the sample trades, its kill switch is engaged with a merge
// patch, and the figure is the time from the patch's answer to the last of its open orders cancelled at
// the simulator (the simulator's own cancel time). Then the bot is resumed and trades again, `halts` times.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { RESOURCES } from "../../operator/resources.ts";
import { SAMPLE_GRID_BOT, startTradingEnvironment } from "../../test/e2e/environment.ts";
import { REPO_ROOT } from "../../test/operator/harness.ts";
import type { PostgresEndpoint } from "../../test/postgres/index.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import { type BenchCluster, percentile } from "../operator/bench-env.ts";

export interface EndToEndHaltResult {
  halts: number;
  /** Patch answered -> the last open order's cancel time at the simulator. */
  lastCancelMs: { p50: number; p99: number; max: number };
  /** Patch answered -> a poll of the simulator (every 5 ms) finds no open order of the bot. */
  noOpenOrderSeenMs: { p50: number; p99: number };
  /** Open orders at the moment of each patch. */
  openOrders: number[];
  samples: { lastCancelMs: number[]; noOpenOrderSeenMs: number[] };
}

const BOT = "grid-btc-paper";

export async function measureEndToEndHalt(
  cluster: BenchCluster,
  postgres: PostgresEndpoint,
  halts: number,
  log: (line: string) => void,
): Promise<EndToEndHaltResult> {
  const name = `bench-e2e-${randomBytes(3).toString("hex")}`;
  const namespace = `${name}-bots`;
  const workDir = join(REPO_ROOT, ".local", name);
  const env = await startTradingEnvironment({
    cluster: cluster.access,
    postgres,
    name,
    botNamespaces: [namespace],
    workDir,
  });
  try {
    await env.apply([env.botFromSample(SAMPLE_GRID_BOT, namespace)]);
    const patch = (engaged: boolean) =>
      cluster.admin.mergePatch(RESOURCES.tradingBots, namespace, BOT, {
        spec: { killSwitch: { engaged, reason: "bench: end-to-end halt" } },
      });
    const lastCancelMs: number[] = [];
    const seenMs: number[] = [];
    const openOrders: number[] = [];
    for (let i = 0; i < halts; i++) {
      const ready = await env.waitForBot(
        namespace,
        BOT,
        (bot) => bot.status?.phase === "Running",
        "phase Running",
        120_000,
      );
      const uid = ready.metadata.uid;
      await waitFor(() => env.openOrdersAtExchange(uid).length > 0, {
        what: "the grid's open orders at the simulator",
        timeoutMs: 60_000,
        intervalMs: 50,
      });
      // Let the grid finish placing its levels, so each halt cancels a comparable set.
      await sleep(1000);
      const open = env.openOrdersAtExchange(uid);
      const sentWall = Date.now();
      await patch(true);
      const answeredWall = Date.now();
      const answered = performance.now();
      await waitFor(() => env.openOrdersAtExchange(uid).length === 0, {
        what: "no open order of the bot at the simulator",
        timeoutMs: 30_000,
        intervalMs: 5,
      });
      seenMs.push(performance.now() - answered);
      // Every order cancelled since the patch was sent (also one placed just before it).
      const lastCancel = Math.max(
        ...env
          .ordersAtExchange(uid)
          .filter((order) => order.status === "CANCELED" && order.updateTime >= sentWall)
          .map((order) => order.updateTime),
      );
      lastCancelMs.push(lastCancel - answeredWall);
      openOrders.push(open.length);
      log(
        `halt ${i + 1}/${halts}: ${open.length} orders, last cancelled ${lastCancel - answeredWall} ms after the patch`,
      );
      await env.waitForBot(namespace, BOT, (bot) => bot.status?.phase === "Halted", "phase Halted", 60_000);
      await env.view.waitForPodGone(namespace, `${BOT}-runtime`, 60_000);
      await patch(false);
    }
    return {
      halts,
      lastCancelMs: {
        p50: percentile(lastCancelMs, 50),
        p99: percentile(lastCancelMs, 99),
        max: Math.max(...lastCancelMs),
      },
      noOpenOrderSeenMs: { p50: percentile(seenMs, 50), p99: percentile(seenMs, 99) },
      openOrders,
      samples: { lastCancelMs, noOpenOrderSeenMs: seenMs.map((v) => Math.round(v * 10) / 10) },
    };
  } finally {
    await env.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}
