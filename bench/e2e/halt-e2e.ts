// Scenario 7 of `make bench` (bench/run.ts): the whole halt path with real processes. The operator, the
// local node agent running the built bot runtime, the exchange simulator and PostgreSQL
// (test/e2e/environment.ts); a grid bot from the sample trades, its kill switch is engaged with a merge
// patch, and the figure is the time from the patch's answer to the last of its open orders cancelled at
// the simulator (the simulator's own cancel time). Then the bot is resumed and trades again, `halts` times
// with the operator running (the operator's DELETE and the runtime's own halt watch race) and, in turn,
// `halts` times with the operator frozen by SIGSTOP (only the runtime's watch can stop the bot; the
// operator is resumed after each halt, records it and removes the pod before the bot is resumed).
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

export interface HaltSeries {
  halts: number;
  /** Patch answered -> the last open order's cancel time at the simulator. */
  lastCancelMs: { p50: number; p99: number; max: number };
  /** Patch answered -> a poll of the simulator (every 5 ms) finds no open order of the bot. */
  noOpenOrderSeenMs: { p50: number; p99: number };
  /** Open orders at the moment of each patch. */
  openOrders: number[];
  /** How the runtime learnt of each halt (its audit row): its own watch, or SIGTERM from the pod's DELETE. */
  noticedBy: Record<string, number>;
  /**
   * Where the time goes, from the runtime's own log (ms timestamps): patch answered -> its watch logged
   * the halt, and -> its trading loop had stopped (the tick in flight finished) and the cancels began.
   */
  runtimeLogMs: { haltNoticed: { p50: number; p99: number }; loopStopped: { p50: number; p99: number } };
  samples: {
    lastCancelMs: number[];
    noOpenOrderSeenMs: number[];
    haltNoticedMs: number[];
    loopStoppedMs: number[];
    /** Per halt, the runtime's requests at the simulator as `METHOD path ms-after-the-patch's-answer`. */
    simulatorRequests: string[][];
  };
}

/** The halts with the operator running (at the top level, as in earlier results), and with it frozen. */
export type EndToEndHaltResult = HaltSeries & { operatorStopped: HaltSeries };

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
    const series = { running: new HaltSamples(), stopped: new HaltSamples() };
    for (let i = 0; i < 2 * halts; i++) {
      // Alternating, so that both series meet the same moments of a shared machine.
      const operatorStopped = i % 2 === 1;
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
      const samples = operatorStopped ? series.stopped : series.running;
      const open = env.openOrdersAtExchange(uid);
      let patchSentWall = 0;
      let patchAnsweredWall = 0;
      if (operatorStopped) env.operator.pause();
      try {
        patchSentWall = Date.now();
        await patch(true);
        patchAnsweredWall = Date.now();
        const answered = performance.now();
        await waitFor(() => env.openOrdersAtExchange(uid).length === 0, {
          what: `no open order of the bot at the simulator${operatorStopped ? " (operator stopped)" : ""}`,
          timeoutMs: 30_000,
          intervalMs: 5,
        });
        const seenMs = performance.now() - answered;
        // Every order cancelled since the patch was sent (also one placed just before it).
        const lastCancel = Math.max(
          ...env
            .ordersAtExchange(uid)
            .filter((order) => order.status === "CANCELED" && order.updateTime >= patchSentWall)
            .map((order) => order.updateTime),
        );
        // What the runtime asked the simulator from the patch on: where the time to the cancel goes.
        const requests = env.sim
          .requests({ apiKey: env.account(namespace).apiKey, sinceMs: patchSentWall })
          .map((request) => `${request.method} ${request.path} ${request.time - patchAnsweredWall}`);
        samples.add(lastCancel - patchAnsweredWall, seenMs, open.length, requests);
        log(
          `halt ${i + 1}/${2 * halts}${operatorStopped ? " (operator stopped)" : ""}: ${open.length} orders, last cancelled ${lastCancel - patchAnsweredWall} ms after the patch`,
        );
      } finally {
        if (operatorStopped) env.operator.resume();
      }
      await env.waitForBot(namespace, BOT, (bot) => bot.status?.phase === "Halted", "phase Halted", 60_000);
      await env.view.waitForPodGone(namespace, `${BOT}-runtime`, 60_000);
      const audited = (await env.auditRows(uid)).filter((row) => row.event === "halt").at(-1);
      const runtimeLog = env.agent.readContainerLog({ namespace, name: `${BOT}-runtime` }, "bot");
      samples.noticed(
        String(audited?.payload.noticedBy),
        runtimeEventTimes(runtimeLog, patchSentWall),
        patchAnsweredWall,
      );
      await patch(false);
    }
    return { ...series.running.summary(), operatorStopped: series.stopped.summary() };
  } finally {
    await env.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** The first time (ms since the epoch) of each event of the runtime's JSON log at or after `since`. */
export function runtimeEventTimes(log: string, since: number): Map<string, number> {
  const times = new Map<string, number>();
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { time?: string; event?: string };
    const at = Date.parse(entry.time ?? "");
    if (entry.event && at >= since && !times.has(entry.event)) times.set(entry.event, at);
  }
  return times;
}

const spread = (samples: number[]) => ({ p50: percentile(samples, 50), p99: percentile(samples, 99) });

class HaltSamples {
  readonly #lastCancelMs: number[] = [];
  readonly #seenMs: number[] = [];
  readonly #openOrders: number[] = [];
  readonly #noticedBy: Record<string, number> = {};
  readonly #haltNoticedMs: number[] = [];
  readonly #loopStoppedMs: number[] = [];
  readonly #simulatorRequests: string[][] = [];

  add(lastCancelMs: number, seenMs: number, openOrders: number, simulatorRequests: string[]) {
    this.#simulatorRequests.push(simulatorRequests);
    this.#lastCancelMs.push(lastCancelMs);
    this.#seenMs.push(seenMs);
    this.#openOrders.push(openOrders);
  }

  /** How the runtime learnt of the halt, and when its log says it did (a watch's halt is logged as such). */
  noticed(by: string, runtimeEvents: Map<string, number>, patchAnsweredWall: number) {
    this.#noticedBy[by] = (this.#noticedBy[by] ?? 0) + 1;
    const halt = runtimeEvents.get("halt");
    const loopStopped = runtimeEvents.get("stop_requested");
    if (halt !== undefined) this.#haltNoticedMs.push(halt - patchAnsweredWall);
    if (loopStopped !== undefined) this.#loopStoppedMs.push(loopStopped - patchAnsweredWall);
  }

  summary(): HaltSeries {
    return {
      halts: this.#lastCancelMs.length,
      lastCancelMs: {
        p50: percentile(this.#lastCancelMs, 50),
        p99: percentile(this.#lastCancelMs, 99),
        max: Math.max(...this.#lastCancelMs),
      },
      noOpenOrderSeenMs: spread(this.#seenMs),
      openOrders: this.#openOrders,
      noticedBy: this.#noticedBy,
      runtimeLogMs: { haltNoticed: spread(this.#haltNoticedMs), loopStopped: spread(this.#loopStoppedMs) },
      samples: {
        lastCancelMs: this.#lastCancelMs,
        noOpenOrderSeenMs: this.#seenMs.map((v) => Math.round(v * 10) / 10),
        haltNoticedMs: this.#haltNoticedMs,
        loopStoppedMs: this.#loopStoppedMs,
        simulatorRequests: this.#simulatorRequests,
      },
    };
  }
}
