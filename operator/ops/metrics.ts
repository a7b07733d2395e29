import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

// Every metric the operator exports, in one registry. Gauges that describe the fleet (bots by phase,
// halted bots by source, each bot's credentials age) are computed from the cache when scraped, so they can
// never drift, and a deleted bot's series go with it.

export interface FleetSnapshot {
  botsByPhase: Map<string, number>;
  haltedBySource: Map<string, number>;
}

/** One bot's exchange credentials: how long the Secret has held its data, and its rotation schedule. */
export interface CredentialsAgeSample {
  namespace: string;
  name: string;
  ageSeconds: number;
  /** spec.exchange.rotateCredentialsEvery in seconds; undefined without a schedule. */
  rotationPeriodSeconds: number | undefined;
}

/** One watch, as its liveness gauge reads it. */
export interface WatchLiveness {
  resource: string;
  silenceSeconds: number;
}

export function createMetrics(
  fleet: () => FleetSnapshot,
  watches: () => Iterable<WatchLiveness> = () => [],
  credentials: () => Iterable<CredentialsAgeSample> = () => [],
) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "tradingbot_operator_" });
  const registers = [registry];

  const reconcileTotal = new Counter({
    name: "tradingbot_operator_reconcile_total",
    help: "Reconciles by controller and result (success, requeue, error).",
    labelNames: ["controller", "result"],
    registers,
  });
  const reconcileDuration = new Histogram({
    name: "tradingbot_operator_reconcile_duration_seconds",
    help: "Duration of reconciles by controller and result.",
    labelNames: ["controller", "result"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const queueDepth = new Gauge({
    name: "tradingbot_operator_workqueue_depth",
    help: "Keys waiting in a work queue.",
    labelNames: ["queue"],
    registers,
  });
  const queueRetries = new Counter({
    name: "tradingbot_operator_workqueue_retries_total",
    help: "Keys re-queued with backoff after a failed reconcile.",
    labelNames: ["queue"],
    registers,
  });
  const watchRestarts = new Counter({
    name: "tradingbot_operator_watch_restarts_total",
    help: "Watch restarts by resource and reason (closed: stream ended; expired: 410 Gone, relisted; error; silent: nothing received for 50 s, a dead connection; relist: a periodic or requested full list).",
    labelNames: ["resource", "reason"],
    registers,
  });
  const leader = new Gauge({
    name: "tradingbot_operator_leader",
    help: "1 while this instance holds the leader Lease and reconciles, else 0.",
    registers,
  });
  const apiRequests = new Counter({
    name: "tradingbot_operator_api_requests_total",
    help: "Requests to the Kubernetes API by verb, resource and HTTP code.",
    labelNames: ["verb", "resource", "code"],
    registers,
  });
  const apiWrites = new Counter({
    name: "tradingbot_operator_api_writes_total",
    help: "Write requests (create, update, apply, patch, delete) to the Kubernetes API by verb and resource.",
    labelNames: ["verb", "resource"],
    registers,
  });
  const apiDuration = new Histogram({
    name: "tradingbot_operator_api_request_duration_seconds",
    help: "Latency of Kubernetes API requests by verb.",
    labelNames: ["verb"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers,
  });
  const halts = new Counter({
    name: "tradingbot_operator_halts_total",
    help: "Halts started, by source kind (Spec, KillSwitch, Risk).",
    labelNames: ["source"],
    registers,
  });
  const resumes = new Counter({
    name: "tradingbot_operator_resumes_total",
    help: "Halted bots released.",
    registers,
  });
  const runtimePolls = new Counter({
    name: "tradingbot_operator_runtime_polls_total",
    help: "Polls of bot runtimes' /status by result (reachable, unreachable).",
    labelNames: ["result"],
    registers,
  });
  const events = new Counter({
    name: "tradingbot_operator_events_total",
    help: "Kubernetes Events recorded by reason, and failures to record them.",
    labelNames: ["reason", "result"],
    registers,
  });
  new Gauge({
    name: "tradingbot_operator_watch_last_event_age_seconds",
    help: "Seconds since a watch of this resource last received anything (bookmarks included): above 50 the watch is dead and is restarted; the oldest of a resource's watches.",
    labelNames: ["resource"],
    registers,
    collect() {
      this.reset();
      const oldest = new Map<string, number>();
      for (const { resource, silenceSeconds } of watches()) {
        oldest.set(resource, Math.max(oldest.get(resource) ?? 0, silenceSeconds));
      }
      for (const [resource, seconds] of oldest) this.set({ resource }, seconds);
    },
  });
  new Gauge({
    name: "tradingbot_operator_bots",
    help: "TradingBots by status phase.",
    labelNames: ["phase"],
    registers,
    collect() {
      this.reset();
      for (const [phase, count] of fleet().botsByPhase) this.set({ phase }, count);
    },
  });
  new Gauge({
    name: "tradingbot_operator_halted_bots",
    help: "Halted TradingBots by halt source kind (Spec, KillSwitch, Risk).",
    labelNames: ["source"],
    registers,
    collect() {
      this.reset();
      for (const [source, count] of fleet().haltedBySource) this.set({ source }, count);
    },
  });

  // No `tradingbot_operator_` prefix: these describe a bot, not the operator (as the runtime's own do). The
  // bot is `bot_namespace` and `bot`: a `namespace` label would clash with the scrape target's own.
  new Gauge({
    name: "tradingbot_credentials_age_seconds",
    help: "Seconds since the bot's exchange credentials Secret last changed, as the operator saw it (status.credentials.since).",
    labelNames: ["bot_namespace", "bot"],
    registers,
    collect() {
      this.reset();
      for (const bot of credentials())
        this.set({ bot_namespace: bot.namespace, bot: bot.name }, bot.ageSeconds);
    },
  });
  new Gauge({
    name: "tradingbot_credentials_rotation_period_seconds",
    help: "The bot's spec.exchange.rotateCredentialsEvery in seconds; absent without a schedule.",
    labelNames: ["bot_namespace", "bot"],
    registers,
    collect() {
      this.reset();
      for (const bot of credentials()) {
        if (bot.rotationPeriodSeconds !== undefined) {
          this.set({ bot_namespace: bot.namespace, bot: bot.name }, bot.rotationPeriodSeconds);
        }
      }
    },
  });

  return {
    registry,
    reconcileTotal,
    reconcileDuration,
    queueDepth,
    queueRetries,
    watchRestarts,
    leader,
    apiRequests,
    apiWrites,
    apiDuration,
    halts,
    resumes,
    runtimePolls,
    events,
    /** For KubeClient's onResponse. */
    recordApiResponse(verb: string, resource: string, code: number, seconds: number) {
      apiRequests.inc({ verb, resource, code: String(code) });
      apiDuration.observe({ verb }, seconds);
      if (verb !== "get" && verb !== "list" && verb !== "watch") apiWrites.inc({ verb, resource });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** The kind of a halt source, as a metric label: KillSwitch/<name> counts as KillSwitch. */
export function sourceKind(source: string | undefined): string {
  if (!source) return "Unknown";
  return source.startsWith("KillSwitch/") ? "KillSwitch" : source;
}
