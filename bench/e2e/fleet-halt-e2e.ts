// Scenario 2 with real runtimes (bench/run.ts, "2r"): grid bots from the sample, run by the local node agent
// as processes of the built runtime, trading on the exchange simulator with PostgreSQL
// (test/e2e/environment.ts); one engaged KillSwitch over their namespaces; the figure is the simulator's
// cancel time of the fleet's last open order, from the create's answer. Both halt paths race as in a
// cluster: each runtime's own watch, and the operator's pod DELETE (SIGTERM).
//
// Five bots to a namespace: each namespace is one simulator account, and an account allows 100 orders per
// 10 s and 200 open orders per symbol (Binance's limits), which five grids of 11 levels stay under.
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { botTag, parseClientOrderId } from "../../bot-runtime/orders/client-order-id.ts";
import type { OrderView } from "../../exchange-sim/index.ts";
import type { KubeObject } from "../../operator/kube/types.ts";
import { RESOURCES } from "../../operator/resources.ts";
import {
  SAMPLE_GRID_BOT,
  startTradingEnvironment,
  type TradingEnvironment,
} from "../../test/e2e/environment.ts";
import { REPO_ROOT } from "../../test/operator/harness.ts";
import type { PostgresEndpoint } from "../../test/postgres/index.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import {
  type AuditEvent,
  auditLogSize,
  auditTime,
  type BenchCluster,
  percentile,
  readAuditEvents,
} from "../operator/bench-env.ts";
import { runtimeEventTimes } from "./halt-e2e.ts";

const BOTS_PER_NAMESPACE = 5;
const START_BATCH = 10;
const FLEET_LABEL = "bench.botops.dev/fleet";

export interface RealFleetHaltResult {
  /** Bots asked for, and of them the ones that traded (Running, open orders) and so were halted here. */
  bots: number;
  trading: number;
  namespaces: number;
  /** Bots applied -> every bot Running with open orders at the simulator (all processes started). */
  tradingS: number;
  /** The runtimes' resident memory just before the halt, from /proc. */
  runtimeRssMiB: { p50: number; max: number; total: number };
  /** The fleet's open orders at the create. */
  openOrders: number;
  /** What the times below count from: the API server's receipt of the KillSwitch's create, or its answer. */
  reference: string;
  /** How much later than that receipt the bench read the answer (the round trip and its own lag). */
  createAnsweredAfterMs: number | undefined;
  /** KillSwitch created -> the last open order of the fleet cancelled (the simulator's time). */
  lastCancelS: number;
  /** Per bot: KillSwitch created -> its last open order cancelled. */
  botLastCancelMs: { p50: number; p99: number; max: number };
  botLastCancelByDecileS: number[];
  /** Create answered -> a poll of the simulator (every 50 ms) finds no open order of the fleet (undefined: not within 120 s). */
  noOpenOrderSeenS: number | undefined;
  /** Bots that still had open orders at the simulator 120 s after the create. */
  ordersLeftOpen: string[];
  /** Runtimes that logged `stop_failed`: their onStop (the cancels) failed and they exited without it. */
  stopFailed: number;
  /** How each runtime learnt of the halt (its audit row): its own watch, or SIGTERM from the pod's DELETE. */
  noticedBy: Record<string, number>;
  /**
   * Bots whose halt has no row in the database's audit log or whose orders stayed open (at most 5), with
   * their runtime's warnings and errors after the create.
   */
  haltNotRecorded: { bot: string; problems: string[] }[];
  /** Where the runtimes' logs were kept (the environment's folder), when something above needs a look. */
  logsKeptIn: string | undefined;
  /**
   * KillSwitch created -> each runtime logged the halt its watch saw (its log's ms timestamp): the part of the
   * time that is the watch's; the rest is the runtimes' cancels on a shared machine.
   */
  haltLoggedMs: { p50: number; p99: number; max: number; runtimes: number };
  /**
   * The runtimes' halt watches while they traded, before the halt: restarts of a list or watch by cause
   * (the runtime logs each), over the runtimes' minutes of life.
   */
  haltWatchRestartsBeforeHalt: { idleTimeout: number; gone: number; other: number; runtimeMinutes: number };
  /** Create answered -> every status phase Halted (pods gone); undefined: not within 300 s. */
  everyPhaseHaltedS: number | undefined;
  /** Machine memory available (MemAvailable) with the fleet trading. */
  memAvailableGiB: number;
}

interface FleetBot {
  namespace: string;
  name: string;
  uid: string;
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Resident memory of a process from /proc, in MiB (0 once it is gone). */
function rssMiB(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((entry) => entry.startsWith("VmRSS:"));
    return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

function memAvailableGiB(): number {
  const line = readFileSync("/proc/meminfo", "utf8")
    .split("\n")
    .find((entry) => entry.startsWith("MemAvailable:"));
  return round(Number(line?.split(/\s+/)[1] ?? 0) / 2 ** 20, 1);
}

/**
 * When the API server received the KillSwitch's create, from its audit log (written after `fromByte`): the
 * switch cannot act before, so times counted from it are never too short.
 */
function killSwitchReceivedAt(cluster: BenchCluster, fromByte: number, name: string): number | undefined {
  const event = readAuditEvents(cluster.auditLogPath as string, fromByte, name).find(
    (e) => e.verb === "create" && e.objectRef?.resource === "killswitches" && e.objectRef.name === name,
  ) as (AuditEvent & { requestReceivedTimestamp?: string }) | undefined;
  if (event?.requestReceivedTimestamp === undefined) return undefined;
  return auditTime({ ...event, stageTimestamp: event.requestReceivedTimestamp });
}

/** The runtime's warnings and errors from `since` on, as `event: message`. */
function runtimeProblems(log: string, since: number): string[] {
  const problems: string[] = [];
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { time?: string; level?: string; event?: string; msg?: string };
    if (Date.parse(entry.time ?? "") < since || !["warn", "error", "fatal"].includes(entry.level ?? ""))
      continue;
    problems.push(`${entry.event}: ${(entry.msg ?? "").slice(0, 200)}`);
  }
  return problems;
}

/** Adds the restarts of the runtime's halt watch logged before `until`, by cause, and its minutes of life. */
function countHaltWatchRestarts(
  log: string,
  until: number,
  counts: { idleTimeout: number; gone: number; other: number; runtimeMinutes: number },
) {
  let first: number | undefined;
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { time?: string; event?: string; msg?: string };
    const at = Date.parse(entry.time ?? "");
    if (at >= until) break;
    first ??= at;
    if (entry.event !== "halt_watch_problem") continue;
    if (entry.msg?.includes("nothing received for")) counts.idleTimeout++;
    else if (entry.msg?.includes(" 410")) counts.gone++;
    else counts.other++;
  }
  if (first !== undefined) counts.runtimeMinutes += (until - first) / 60_000;
}

const isOpen = (order: OrderView) => order.status === "NEW" || order.status === "PARTIALLY_FILLED";

/** Every order of the fleet at the simulator, by bot uid: one pass over the simulator's books. */
function ordersByBot(env: TradingEnvironment, bots: FleetBot[]): Map<string, OrderView[]> {
  const uidByTag = new Map(bots.map((bot) => [botTag(bot.uid), bot.uid]));
  const byBot = new Map<string, OrderView[]>(bots.map((bot) => [bot.uid, []]));
  for (const order of env.sim.orders()) {
    const tag = parseClientOrderId(order.clientOrderId)?.botTag;
    const uid = tag === undefined ? undefined : uidByTag.get(tag);
    if (uid) byBot.get(uid)?.push(order);
  }
  return byBot;
}

export async function measureRealFleetHalt(
  cluster: BenchCluster,
  postgres: PostgresEndpoint,
  size: number,
  log: (line: string) => void,
): Promise<RealFleetHaltResult> {
  const name = `bench-fleet-${randomBytes(3).toString("hex")}`;
  const namespaces = Array.from(
    { length: Math.ceil(size / BOTS_PER_NAMESPACE) },
    (_, i) => `${name}-${String(i).padStart(3, "0")}`,
  );
  const workDir = join(REPO_ROOT, ".local", name);
  const env = await startTradingEnvironment({
    cluster: cluster.access,
    postgres,
    name,
    botNamespaces: namespaces,
    workDir,
  });
  const switchName = `${name}-switch`;
  let keepLogs = false;
  try {
    const manifests = Array.from({ length: size }, (_, i) =>
      env.botFromSample(SAMPLE_GRID_BOT, namespaces[Math.floor(i / BOTS_PER_NAMESPACE)] as string, {
        name: `grid-${String(i).padStart(3, "0")}`,
        labels: { [FLEET_LABEL]: name },
      }),
    );
    // From the API server's watch cache (resourceVersion 0): polled every second or two, a list read from
    // etcd would decode every TradingBot of the cluster (a thousand more after scenario 2) each time.
    const listBots = async () =>
      (
        await cluster.admin.list<{ items: (KubeObject & { status?: { phase?: string } })[] }>(
          RESOURCES.tradingBots,
          { labelSelector: `${FLEET_LABEL}=${name}`, resourceVersion: "0" },
        )
      ).items;
    /** The bots Running with at least one open order at the simulator. */
    const tradingNow = async (): Promise<FleetBot[]> => {
      const running = (await listBots())
        .filter((bot) => bot.status?.phase === "Running")
        .map((bot) => ({
          namespace: bot.metadata.namespace as string,
          name: bot.metadata.name,
          uid: bot.metadata.uid as string,
        }));
      const orders = ordersByBot(env, running);
      return running.filter((bot) => orders.get(bot.uid)?.some(isOpen));
    };
    // A batch at a time, each trading before the next: a hundred runtimes starting at once on two cores
    // time out their first exchange call, and ccxt keeps that failure (see bench/README.md).
    const applied = performance.now();
    let bots: FleetBot[] = [];
    for (let first = 0; first < size; first += START_BATCH) {
      await env.apply(manifests.slice(first, first + START_BATCH));
      const expected = Math.min(size, first + START_BATCH);
      await waitFor(
        async () => {
          bots = await tradingNow();
          return bots.length >= expected;
        },
        {
          what: `${expected} bots Running with open orders at the simulator`,
          timeoutMs: 180_000,
          intervalMs: 2000,
        },
      ).catch((error: Error) => log(`real fleet: ${error.message}; going on`));
      log(`real fleet: ${bots.length} of ${size} bots trading`);
    }
    const tradingS = round((performance.now() - applied) / 1000, 1);
    // Let the grids finish placing their levels, so the halt cancels full books.
    await sleep(2000);
    const rss = bots.flatMap((bot) =>
      env.runtimeProcesses(bot.namespace, `${bot.name}-runtime`).map((pid) => rssMiB(pid)),
    );
    const memAvailable = memAvailableGiB();
    const openOrders = [...ordersByBot(env, bots).values()].reduce(
      (sum, orders) => sum + orders.filter(isOpen).length,
      0,
    );
    log(
      `real fleet: ${bots.length} of ${size} bots trading after ${tradingS} s, ${openOrders} open orders: halting`,
    );

    const auditFrom = cluster.auditLogPath === undefined ? undefined : auditLogSize(cluster.auditLogPath);
    const sentWall = Date.now();
    await cluster.admin.create(RESOURCES.killSwitches, {
      apiVersion: "trading.botops.dev/v1alpha1",
      kind: "KillSwitch",
      metadata: { name: switchName },
      spec: { engaged: true, reason: "bench: fleet halt of real runtimes", namespaces },
    } as KubeObject);
    const answeredWall = Date.now();
    const answered = performance.now();
    // A bot whose orders stay open is a finding, not a failed run: it is reported with its runtime's log.
    const noOpenOrderSeenS = await waitFor(
      () => [...ordersByBot(env, bots).values()].every((orders) => !orders.some(isOpen)),
      { what: "no open order of the fleet at the simulator", timeoutMs: 120_000, intervalMs: 50 },
    ).then(
      () => round((performance.now() - answered) / 1000),
      () => undefined,
    );
    const everyPhaseHaltedS = await waitFor(
      async () => (await listBots()).every((bot) => bot.status?.phase === "Halted"),
      { what: `${size} bots in phase Halted`, timeoutMs: 300_000, intervalMs: 500 },
    ).then(
      () => round((performance.now() - answered) / 1000),
      () => undefined,
    );
    // The bench process also runs the simulator and the node agent: on a saturated machine it reads the
    // create's answer late, so the API server's receipt of the create is the reference when there is one.
    const receivedAtServer =
      auditFrom === undefined ? undefined : killSwitchReceivedAt(cluster, auditFrom, switchName);
    const reference = receivedAtServer ?? answeredWall;
    const finalOrders = ordersByBot(env, bots);
    const ordersLeftOpen = bots
      .filter((bot) => finalOrders.get(bot.uid)?.some(isOpen))
      .map((bot) => `${bot.namespace}/${bot.name}`);
    // Per bot, every order cancelled since the create was sent (also one placed just before it); a bot
    // whose open orders all filled meanwhile has none.
    const lastCancelMs = [...finalOrders.values()]
      .map(
        (orders) =>
          Math.max(
            ...orders
              .filter((order) => order.status === "CANCELED" && order.updateTime >= sentWall)
              .map((order) => order.updateTime),
          ) - reference,
      )
      .filter(Number.isFinite);
    const noticedBy: Record<string, number> = {};
    const haltLoggedMs: number[] = [];
    const haltNotRecorded: { bot: string; problems: string[] }[] = [];
    const restarts = { idleTimeout: 0, gone: 0, other: 0, runtimeMinutes: 0 };
    let stopFailed = 0;
    for (const bot of bots) {
      const audited = (await env.auditRows(bot.uid)).filter((row) => row.event === "halt").at(-1);
      const by = audited === undefined ? "no halt row" : String(audited.payload.noticedBy);
      noticedBy[by] = (noticedBy[by] ?? 0) + 1;
      const runtimeLog = env.agent.readContainerLog(
        { namespace: bot.namespace, name: `${bot.name}-runtime` },
        "bot",
      );
      const events = runtimeEventTimes(runtimeLog, sentWall);
      const logged = events.get("halt");
      if (events.has("stop_failed")) stopFailed++;
      if (logged !== undefined) haltLoggedMs.push(logged - reference);
      countHaltWatchRestarts(runtimeLog, sentWall, restarts);
      const leftOpen = ordersLeftOpen.includes(`${bot.namespace}/${bot.name}`);
      if ((audited === undefined || leftOpen) && haltNotRecorded.length < 5) {
        haltNotRecorded.push({
          bot: `${bot.namespace}/${bot.name}`,
          problems: runtimeProblems(runtimeLog, sentWall),
        });
      }
    }
    keepLogs =
      ordersLeftOpen.length > 0 || stopFailed > 0 || haltNotRecorded.length > 0 || bots.length < size;
    if (keepLogs) log(`real fleet: something to look into; the runtimes' logs stay in ${workDir}`);
    return {
      bots: size,
      trading: bots.length,
      namespaces: namespaces.length,
      tradingS,
      runtimeRssMiB: {
        p50: round(percentile(rss, 50), 1),
        max: round(Math.max(...rss), 1),
        total: round(
          rss.reduce((sum, value) => sum + value, 0),
          0,
        ),
      },
      openOrders,
      reference:
        receivedAtServer === undefined
          ? "the create's answer"
          : "the API server's receipt of the create (audit log)",
      createAnsweredAfterMs:
        receivedAtServer === undefined ? undefined : round(answeredWall - receivedAtServer, 1),
      lastCancelS: round(Math.max(...lastCancelMs) / 1000),
      botLastCancelMs: {
        p50: round(percentile(lastCancelMs, 50), 1),
        p99: round(percentile(lastCancelMs, 99), 1),
        max: round(Math.max(...lastCancelMs), 1),
      },
      botLastCancelByDecileS: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((p) =>
        round(percentile(lastCancelMs, p) / 1000),
      ),
      noOpenOrderSeenS,
      noticedBy,
      ordersLeftOpen,
      stopFailed,
      haltNotRecorded,
      // Relative to the repository: results files are committed and name no machine's paths.
      logsKeptIn: keepLogs ? relative(REPO_ROOT, workDir) : undefined,
      haltLoggedMs: {
        p50: round(percentile(haltLoggedMs, 50), 1),
        p99: round(percentile(haltLoggedMs, 99), 1),
        max: round(Math.max(...haltLoggedMs), 1),
        runtimes: haltLoggedMs.length,
      },
      haltWatchRestartsBeforeHalt: { ...restarts, runtimeMinutes: round(restarts.runtimeMinutes, 1) },
      everyPhaseHaltedS,
      memAvailableGiB: memAvailable,
    };
  } finally {
    await env.stop();
    await env.kubectl(["delete", "killswitch", switchName, "--ignore-not-found"]).catch(() => undefined);
    if (!keepLogs) rmSync(workDir, { recursive: true, force: true });
  }
}
