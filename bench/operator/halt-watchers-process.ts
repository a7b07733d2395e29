// The bot runtimes' own halt path for a whole fleet, in one Node process apart from the bench (so the
// bench's event loop is not what is measured): one `startHaltWatch` of the runtime per bot, each with its
// own token, reporting the wall-clock time its onHalt fired. Started and driven by halt-watchers.ts over
// the IPC channel of `fork`; it ends when told to, or when the bench goes.
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { pino } from "pino";
import { Counter, Gauge } from "prom-client";
import { type HaltWatch, startHaltWatch } from "../../bot-runtime/halt-watch/halt-watch.ts";

export interface WatchersJob {
  /** The API server, e.g. https://127.0.0.1:6443, and the CA that signed its certificate (PEM). */
  server: string;
  caPem: string | undefined;
  bots: { namespace: string; name: string; token: string }[];
  /** Watches started per tick of 100 ms: a fleet's pods do not all start in the same millisecond. */
  startPerTick: number;
}

export interface BotHaltSeen {
  namespace: string;
  name: string;
  /** performance.timeOrigin + performance.now() when onHalt fired: wall-clock ms, sub-ms kept. */
  firedAtMs: number;
  source: string;
}

export type ToWatchers = { type: "start"; job: WatchersJob } | { type: "stop" };
export type FromWatchers =
  | { type: "started"; watches: number }
  | { type: "everyBotHalted" }
  | { type: "stopped"; halts: BotHaltSeen[]; restarts: number; rssMiB: number; pauses: WatchersPauses };

/**
 * What this process itself lost between every watch running and every bot halted: a halt seen late
 * because of them is the harness's (a thousand watches share one event loop here), not the runtime's.
 */
export interface WatchersPauses {
  longestEventLoopPauseMs: number;
  longestGcMs: number;
  gcTotalMs: number;
}

const send = (message: FromWatchers) => process.send?.(message);
const wallClockMs = () => performance.timeOrigin + performance.now();

const watches: HaltWatch[] = [];
const halts: BotHaltSeen[] = [];
// What the runtime's /metrics would show; here only the restarts are read (problems reaching the server).
const metrics = {
  haltWatchUnconfirmed: new Gauge({ name: "halt_watch_unconfirmed_seconds", help: "-", registers: [] }),
  haltWatchRestarts: new Counter({
    name: "halt_watch_restarts_total",
    help: "-",
    labelNames: ["collection"] as const,
    registers: [],
  }),
};
const log = pino({ level: "warn" }, process.stderr);

async function start(job: WatchersJob) {
  const ca = job.caPem === undefined ? undefined : Buffer.from(job.caPem);
  const expected = job.bots.length;
  for (let i = 0; i < job.bots.length; i += job.startPerTick) {
    for (const bot of job.bots.slice(i, i + job.startPerTick)) {
      const watch = startHaltWatch({
        endpoint: { url: job.server, ca, token: () => bot.token },
        bot: { namespace: bot.namespace, name: bot.name },
        configuredOnEngage: "CancelOrders",
        unsupervisedHaltAfterMs: undefined,
        onHalt: (halt) => {
          const firedAtMs = wallClockMs();
          halts.push({ namespace: bot.namespace, name: bot.name, firedAtMs, source: halt.source });
          if (halts.length === expected) everyBotHalted();
        },
        log,
        metrics,
      });
      watches.push(watch);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  loopDelay.enable();
  gcObserver.observe({ entryTypes: ["gc"] });
  send({ type: "started", watches: watches.length });
}

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
const gcPauses: number[] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcPauses.push(entry.duration);
});
let pauses: WatchersPauses | undefined;

function everyBotHalted() {
  loopDelay.disable();
  gcObserver.disconnect();
  pauses = {
    longestEventLoopPauseMs: Math.round(loopDelay.max / 1e5) / 10,
    longestGcMs: Math.round(Math.max(0, ...gcPauses) * 10) / 10,
    gcTotalMs: Math.round(gcPauses.reduce((sum, ms) => sum + ms, 0) * 10) / 10,
  };
  send({ type: "everyBotHalted" });
  // A halted runtime stops its watch and exits. Here every watch stops once the last bot has halted, not
  // one by one: closing a thousand connections in this one process would delay the halts still to come,
  // where each runtime closes its own in a process of its own. Left running, they would retry with
  // pod-bound tokens that stop working once the pods are gone.
  void Promise.all(watches.map((watch) => watch.stop()));
}

async function stop() {
  await Promise.all(watches.map((watch) => watch.stop()));
  const restarts = (await metrics.haltWatchRestarts.get()).values.reduce((sum, v) => sum + v.value, 0);
  send({
    type: "stopped",
    halts,
    restarts,
    rssMiB: Math.round((process.memoryUsage.rss() / 2 ** 20) * 10) / 10,
    pauses: pauses ?? { longestEventLoopPauseMs: Number.NaN, longestGcMs: Number.NaN, gcTotalMs: Number.NaN },
  });
}

process.on("message", (message: ToWatchers) => {
  if (message.type === "start") void start(message.job);
  else void stop();
});
// The bench has what it asked for, or is gone.
process.on("disconnect", () => process.exit(0));
