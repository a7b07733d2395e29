import { GROUP, KILL_SWITCH, type OnEngageAction, TRADING_BOT, VERSION } from "../../api/v1alpha1/index.ts";
import type { Logger } from "../observability/logger.ts";
import type { RuntimeMetrics } from "../observability/metrics.ts";
import { type HaltVerdict, haltVerdict, type WatchedObject } from "./halt-verdict.ts";
import { type KubeEndpoint, watchCollection } from "./kube-watch.ts";

// The runtime's own path to a halt: it watches its TradingBot and the KillSwitches and stops trading the
// moment either says so, whether or not an operator is running. It also knows how long it has been
// unable to confirm those sources, for the dead man's switch (spec.killSwitch.haltIfUnsupervisedFor).

export type Halt = Extract<HaltVerdict, { halted: true }> & { noticedAt: number };

export interface HaltWatchOptions {
  endpoint: KubeEndpoint;
  bot: { namespace: string; name: string };
  configuredOnEngage: OnEngageAction;
  /** Halt with source Unsupervised once the sources have not been confirmed for this long. */
  unsupervisedHaltAfterMs: number | undefined;
  /** Called once, with the first halt seen. */
  onHalt: (halt: Halt) => void;
  log: Logger;
  metrics: Pick<RuntimeMetrics, "haltWatchUnconfirmed" | "haltWatchRestarts">;
  now?: () => number;
  /** How often supervision is checked. Default 1 s. */
  checkEveryMs?: number;
  idleTimeoutMs?: number;
  watchTimeoutSeconds?: number;
}

export interface HaltWatch {
  /** The halt the sources hold now, or undefined when they do not (or the bot is not listed yet). */
  current(): Halt | undefined;
  stop(): Promise<void>;
}

/** Past this long unconfirmed, a runtime without a dead man's switch says it is trading unsupervised. */
const UNSUPERVISED_WARNING_MS = 60_000;

export function startHaltWatch(options: HaltWatchOptions): HaltWatch {
  const { endpoint, bot, log, metrics } = options;
  const now = options.now ?? Date.now;
  const started = now();
  let botListed = false;
  let botObject: WatchedObject | undefined;
  const killSwitches = new Map<string, WatchedObject>();
  let current: Halt | undefined;
  let fired = false;

  const fire = (halt: Halt) => {
    if (fired) return;
    fired = true;
    options.onHalt(halt);
  };
  const evaluate = () => {
    if (!botListed) return;
    const verdict = haltVerdict({
      namespace: bot.namespace,
      bot: botObject,
      killSwitches: killSwitches.values(),
      configuredOnEngage: options.configuredOnEngage,
    });
    current = verdict.halted ? { ...verdict, noticedAt: now() } : undefined;
    if (current) fire(current);
  };
  const problem = (collection: "tradingbot" | "killswitches") => (message: string, error?: unknown) => {
    metrics.haltWatchRestarts.inc({ collection });
    log.warn(
      { event: "halt_watch_problem", collection, err: error },
      `halt watch (${collection}): ${message}`,
    );
  };

  const timing = {
    ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs }),
    ...(options.watchTimeoutSeconds === undefined
      ? {}
      : { watchTimeoutSeconds: options.watchTimeoutSeconds }),
  };
  const botWatch = watchCollection<WatchedObject>({
    endpoint,
    path: `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(bot.namespace)}/${TRADING_BOT.plural}`,
    fieldSelector: `metadata.name=${bot.name}`,
    onList: (items) => {
      botListed = true;
      botObject = items.find((item) => item.metadata.name === bot.name);
      evaluate();
    },
    onEvent: (type, object) => {
      if (object.metadata.name !== bot.name) return;
      botObject = type === "DELETED" ? undefined : object;
      evaluate();
    },
    onProblem: problem("tradingbot"),
    ...timing,
    now,
  });
  const killSwitchWatch = watchCollection<WatchedObject>({
    endpoint,
    path: `/apis/${GROUP}/${VERSION}/${KILL_SWITCH.plural}`,
    onList: (items) => {
      killSwitches.clear();
      for (const item of items) killSwitches.set(item.metadata.name, item);
      evaluate();
    },
    onEvent: (type, object) => {
      if (type === "DELETED") killSwitches.delete(object.metadata.name);
      else killSwitches.set(object.metadata.name, object);
      evaluate();
    },
    onProblem: problem("killswitches"),
    ...timing,
    now,
  });

  // Supervision: both collections must have been confirmed current recently.
  let warned = false;
  const supervise = () => {
    const confirmed = [botWatch.confirmedAt(), killSwitchWatch.confirmedAt()];
    const oldest = confirmed.includes(undefined) ? started : Math.min(...(confirmed as number[]));
    const unconfirmedMs = Math.max(0, now() - oldest);
    metrics.haltWatchUnconfirmed.set(unconfirmedMs / 1000);
    const limit = options.unsupervisedHaltAfterMs;
    if (limit !== undefined && unconfirmedMs >= limit) {
      fire({
        halted: true,
        source: "Unsupervised",
        reason: `the halt sources (the TradingBot and the KillSwitches) could not be confirmed for ${Math.round(unconfirmedMs / 1000)} s, over spec.killSwitch.haltIfUnsupervisedFor`,
        by: undefined,
        onEngage: options.configuredOnEngage,
        noticedAt: now(),
      });
    } else if (limit === undefined && unconfirmedMs >= UNSUPERVISED_WARNING_MS && !warned) {
      warned = true;
      log.warn(
        { event: "halt_watch_unsupervised", unconfirmedSeconds: Math.round(unconfirmedMs / 1000) },
        "trading without a confirmed halt watch: the API server has not been reachable; halts reach this bot only through the operator until it is (set spec.killSwitch.haltIfUnsupervisedFor to stop instead)",
      );
    } else if (warned && unconfirmedMs < UNSUPERVISED_WARNING_MS) {
      warned = false;
      log.info({ event: "halt_watch_supervised" }, "halt watch confirmed again");
    }
  };
  const timer = setInterval(supervise, options.checkEveryMs ?? 1_000);
  timer.unref();

  return {
    current: () => current,
    async stop() {
      clearInterval(timer);
      await Promise.all([botWatch.stop(), killSwitchWatch.stop()]);
    },
  };
}
