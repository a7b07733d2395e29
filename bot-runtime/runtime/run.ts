import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import {
  RiskHaltMessage,
  RUNTIME_EXIT_CODES,
  type RuntimeConfig,
  RuntimeHaltedMessage,
} from "../../api/v1alpha1/runtime-config.ts";
import type { RunFlags } from "../cli/flags.ts";
import { CredentialsError, readDatabaseCredentials, readExchangeCredentials } from "../config/credentials.ts";
import { ConfigError, loadRuntimeConfig } from "../config/load-config.ts";
import { createCcxtBinance } from "../exchange/ccxt-binance.ts";
import { ExchangeFailure, type ExchangePort, type MarketRules } from "../exchange/port.ts";
import { type Halt, type HaltWatch, startHaltWatch } from "../halt-watch/halt-watch.ts";
import { inClusterEndpoint } from "../halt-watch/kube-watch.ts";
import type { Logger } from "../observability/logger.ts";
import { createMetrics, exchangeObserverFor } from "../observability/metrics.ts";
import { type StatusServer, startStatusServer } from "../observability/status-server.ts";
import { OrderManager } from "../orders/order-manager.ts";
import { parseRiskLimits } from "../risk/risk-verdict.ts";
import { isAuthenticationRefused, isConnectionError, poolConfig } from "../store/database.ts";
import { latestVersion, loadMigrations, schemaVersion } from "../store/migrate.ts";
import { Store } from "../store/store.ts";
import { strategyFor } from "../strategies/strategy-for.ts";
import { StopDeadlinePassed, type StopForHalt, TradingEngine } from "./trading-engine.ts";

// `bot-runtime run`: wires config, credentials, exchange, database and the trading engine together, and
// turns how the run ended into the exit code the operator reads (RUNTIME_EXIT_CODES).

const STARTUP_RETRY_MAX_MS = 30_000;

export function runtimeVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest))
      return (JSON.parse(readFileSync(manifest, "utf8")) as { version?: string }).version ?? "0.0.0";
  }
  return "0.0.0";
}

/** `requestedAt`: when the stop was first asked for, where its deadline is counted from. */
type Stoppable = { requested: boolean; requestedAt?: number; wake?: () => void };

async function pause(ms: number, stop: Stoppable) {
  if (stop.requested) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    stop.wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

/** Retries a startup step while the failure is transient (database or exchange unreachable, rate limited). */
async function withStartupRetry<T>(
  what: string,
  step: () => Promise<T>,
  log: Logger,
  stop: Stoppable,
): Promise<T | undefined> {
  let delay = 1_000;
  for (;;) {
    try {
      return await step();
    } catch (error) {
      const transient =
        isConnectionError(error) ||
        (error instanceof ExchangeFailure &&
          ["unavailable", "rateLimited", "banned", "clockSkew"].includes(error.kind));
      if (!transient) throw error;
      const event = isConnectionError(error) ? "database connection" : "exchange_error";
      log.warn({ event, err: error, retryInMs: delay }, `${what}: not reachable yet, retrying`);
      await pause(
        error instanceof ExchangeFailure && error.retryAfterMs !== undefined
          ? Math.max(delay, error.retryAfterMs)
          : delay,
        stop,
      );
      if (stop.requested) return undefined;
      delay = Math.min(delay * 2, STARTUP_RETRY_MAX_MS);
    }
  }
}

export type RunContext = {
  log: Logger;
  registerSecret(value: string): void;
  onSignal(handler: () => void): void;
};

/** The halt this run stops for, and which path brought it first. */
type HaltCause = { halt: Halt; noticedBy: StopForHalt["noticedBy"] };

function stopForHalt(cause: HaltCause): StopForHalt {
  const { source, reason, by, onEngage } = cause.halt;
  return { source, reason, by, onEngage, noticedBy: cause.noticedBy };
}

/** The termination message of a runtime that stopped for a halt: the operator reports which path won. */
function writeHaltedMessage(path: string, cause: HaltCause) {
  const { source, reason, by } = cause.halt;
  const message = RuntimeHaltedMessage.parse({
    reason: "Halted",
    source,
    detail: reason.slice(0, 1024),
    ...(by === undefined ? {} : { by: by.slice(0, 512) }),
    noticedBy: cause.noticedBy,
    at: new Date(cause.halt.noticedAt).toISOString(),
  });
  writeFileSync(path, JSON.stringify(message));
}

export async function runBot(flags: RunFlags, context: RunContext): Promise<number> {
  const { log } = context;
  let config: RuntimeConfig;
  try {
    config = loadRuntimeConfig(flags.config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log.error({ event: "invalid_config", err: error }, error.message);
    return RUNTIME_EXIT_CODES.invalidConfig;
  }
  const bot = config.bot;
  const botLog = log.child({ bot: `${bot.namespace}/${bot.name}` });

  let exchangeCredentials: ReturnType<typeof readExchangeCredentials>;
  let databaseCredentials: ReturnType<typeof readDatabaseCredentials>;
  try {
    exchangeCredentials = readExchangeCredentials(flags.exchangeCredentials);
    context.registerSecret(exchangeCredentials.apiKey);
    context.registerSecret(exchangeCredentials.secret);
    databaseCredentials = readDatabaseCredentials(flags.databaseCredentials);
    context.registerSecret(databaseCredentials.password);
  } catch (error) {
    if (!(error instanceof CredentialsError)) throw error;
    botLog.error({ event: "credentials_unusable", err: error }, error.message);
    return RUNTIME_EXIT_CODES.unsafeCredentials;
  }

  const stop: Stoppable = { requested: false };
  let engine: TradingEngine | undefined;
  let haltCause: HaltCause | undefined;
  let haltWatch: HaltWatch | undefined;
  const requestStop = () => {
    stop.requestedAt ??= Date.now();
    stop.requested = true;
    stop.wake?.();
    engine?.requestStop();
  };
  context.onSignal(() => {
    // The pod's deletion arrived first; if the watch already holds a halt, that is why.
    const current = haltWatch?.current();
    if (haltCause === undefined && current) haltCause = { halt: current, noticedBy: "signal" };
    requestStop();
  });

  const metrics = createMetrics();
  if (flags.haltWatch !== undefined) {
    haltWatch = startBotHaltWatch(flags.haltWatch, config, botLog, metrics, (halt) => {
      if (haltCause !== undefined) return;
      haltCause = { halt, noticedBy: "watch" };
      botLog.warn(
        { event: "halt", source: halt.source, reason: halt.reason, by: halt.by ?? null, noticedBy: "watch" },
        `halted by ${halt.source}${halt.by ? ` (engaged by ${halt.by})` : ""}: stopping trading`,
      );
      requestStop();
    });
  }
  try {
    const code = await runUntilStopped();
    if (haltCause !== undefined && code === RUNTIME_EXIT_CODES.stopped) {
      writeHaltedMessage(flags.terminationLog, haltCause);
    }
    return code;
  } finally {
    // The process exits next: a watch request that does not end at once must not hold it up.
    await Promise.race([haltWatch?.stop(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
  }

  async function runUntilStopped(): Promise<number> {
    let status: StatusServer | undefined;
    const pool = new pg.Pool(poolConfig(databaseCredentials, `bot-runtime ${bot.namespace}/${bot.name}`));
    // Idle clients report a server that went away here; the next query fails and the engine fails closed.
    pool.on("error", (error) =>
      botLog.warn({ event: "database connection", err: error }, "idle database connection lost"),
    );
    try {
      status = await startStatusServer(flags.listen, {
        registry: metrics.registry,
        ready: () => engine?.state === "Trading",
        report: () =>
          engine?.report() ?? {
            heartbeat: new Date().toISOString(),
            state: "Starting",
            halted: false,
            openOrders: 0,
            position: "0",
            realizedPnl: "0",
          },
      });
      botLog.info(
        { event: "listening", url: `http://${flags.listen.host}:${status.port}` },
        `listening on http://${flags.listen.host}:${status.port}`,
      );

      const needed = latestVersion(loadMigrations());
      let current: number | undefined;
      try {
        current = await withStartupRetry("database", () => schemaVersion(pool), botLog, stop);
      } catch (error) {
        if (!isAuthenticationRefused(error)) throw error;
        botLog.error(
          { event: "database connection", err: error },
          `the database refused the credentials of role ${databaseCredentials.user}`,
        );
        return RUNTIME_EXIT_CODES.unsafeCredentials;
      }
      if (current === undefined) return RUNTIME_EXIT_CODES.stopped;
      if (current < needed) {
        botLog.error(
          { event: "schema_outdated", current, needed },
          `the database schema is at version ${current}, this runtime needs ${needed}: run \`bot-runtime migrate\` first`,
        );
        return RUNTIME_EXIT_CODES.failure;
      }

      // A latched risk halt outlives the pod that took it: refuse to trade until a human acknowledges it.
      const store = new Store(pool, bot, config.symbol);
      const latch = await withStartupRetry("database", () => store.latestRiskLatch(), botLog, stop);
      if (stop.requested) return RUNTIME_EXIT_CODES.stopped;
      if (latch && latch.haltId !== config.acknowledgedHalt) {
        const message = RiskHaltMessage.parse({
          reason: "RiskLimitBreached",
          haltId: latch.haltId,
          limit: latch.limit,
          value: latch.value.toString(),
          threshold: latch.threshold.toString(),
          at: latch.latchedAt.toISOString(),
        });
        writeFileSync(flags.terminationLog, JSON.stringify(message));
        botLog.error(
          { event: "halt", ...message, acknowledgedHalt: config.acknowledgedHalt ?? null },
          `refusing to trade: risk halt ${latch.haltId} is latched in the database and not acknowledged; ` +
            `set spec.killSwitch.acknowledgeHalt to "${latch.haltId}" to release it`,
        );
        return RUNTIME_EXIT_CODES.riskHalt;
      }

      let exchange: ExchangePort | undefined;
      let rules: MarketRules | undefined;
      try {
        exchange = await withStartupRetry(
          "exchange",
          () =>
            createCcxtBinance({
              mode: config.exchange.mode,
              ...(config.exchange.endpoint === undefined ? {} : { endpoint: config.exchange.endpoint }),
              credentials: exchangeCredentials,
              observer: exchangeObserverFor(
                metrics,
                (status, retryAfterMs) =>
                  botLog.warn(
                    { event: "rate_limited", status, retryAfterMs },
                    `exchange answered ${status}: backing off`,
                  ),
                (offsetMs) =>
                  botLog.warn(
                    { event: "clock_resynced", offsetMs },
                    "clock resynchronised with the exchange",
                  ),
              ),
            }),
          botLog,
          stop,
        );
        if (exchange === undefined) return RUNTIME_EXIT_CODES.stopped;
        const restrictions = await withStartupRetry(
          "exchange",
          () => (exchange as ExchangePort).apiKeyRestrictions(),
          botLog,
          stop,
        );
        if (stop.requested) return RUNTIME_EXIT_CODES.stopped;
        if (restrictions === undefined) {
          botLog.warn(
            { event: "key_restrictions_unknown" },
            "the exchange does not report API-key restrictions here; withdrawal permission not checked",
          );
        } else if (restrictions.canWithdraw) {
          botLog.error(
            { event: "unsafe_credentials" },
            "refusing to trade: the exchange reports that this API key can withdraw funds; create a key with withdrawals disabled",
          );
          return RUNTIME_EXIT_CODES.unsafeCredentials;
        } else if (!restrictions.canTrade) {
          botLog.error(
            { event: "unsafe_credentials" },
            "refusing to start: the exchange reports that this API key cannot trade spot",
          );
          return RUNTIME_EXIT_CODES.unsafeCredentials;
        }
        rules = await withStartupRetry(
          "exchange",
          () => (exchange as ExchangePort).market(config.symbol),
          botLog,
          stop,
        );
        if (rules === undefined) return RUNTIME_EXIT_CODES.stopped;
      } catch (error) {
        if (error instanceof ExchangeFailure && error.kind === "authentication") {
          botLog.error(
            { event: "authentication failed", code: error.code, err: error },
            "the exchange refused the API key or its signature",
          );
          return RUNTIME_EXIT_CODES.unsafeCredentials;
        }
        throw error;
      }

      const orders = new OrderManager({
        exchange,
        store,
        symbol: config.symbol,
        botUid: bot.uid,
        log: botLog,
        metrics,
      });
      engine = new TradingEngine({
        config,
        exchange,
        store,
        orders,
        strategy: strategyFor(config.strategy),
        rules,
        limits: parseRiskLimits(config.risk),
        log: botLog,
        metrics,
        tickIntervalMs: flags.tickIntervalMs,
        version: runtimeVersion(),
      });
      const trading = engine;
      const started = await withStartupRetry(
        "database",
        async () => {
          await trading.start();
          return true;
        },
        botLog,
        stop,
      );
      const outcome =
        started === undefined || stop.requested ? { kind: "stopRequested" as const } : await trading.run();

      if (outcome.kind === "stopRequested") {
        try {
          await trading.stop(haltCause === undefined ? undefined : stopForHalt(haltCause), stop.requestedAt);
          return RUNTIME_EXIT_CODES.stopped;
        } catch (error) {
          if (error instanceof StopDeadlinePassed) {
            botLog.error(
              {
                event: "stop_failed",
                err: error,
                attempts: error.attempts,
                stillOpen: error.stillOpen ?? null,
              },
              `could not cancel every order before the stop's deadline: ${error.stillOpen ?? "an unknown number"} of the bot's orders may still be open at the exchange`,
            );
          } else {
            botLog.error({ event: "stop_failed", err: error }, "could not apply onStop");
          }
          return RUNTIME_EXIT_CODES.failure;
        } finally {
          trading.outbox.logUnrecorded(botLog);
        }
      }
      if (outcome.kind === "riskHalt") {
        const { haltId } = await trading.haltForRisk(outcome.breach, stop.requestedAt);
        const message = RiskHaltMessage.parse({
          reason: "RiskLimitBreached",
          haltId,
          limit: outcome.breach.limit,
          value: outcome.breach.value.toPlaces(8, "halfEven").toString(),
          threshold: outcome.breach.threshold.toString(),
          at: new Date().toISOString(),
        });
        writeFileSync(flags.terminationLog, JSON.stringify(message));
        trading.outbox.logUnrecorded(botLog);
        botLog.error({ event: "halt", ...message }, `risk halt ${haltId} latched: ${outcome.breach.message}`);
        return RUNTIME_EXIT_CODES.riskHalt;
      }
      botLog.error(
        { event: "authentication failed", code: outcome.error.code },
        "the exchange keeps refusing the API key: stopping (orders cannot be managed with this key)",
      );
      return RUNTIME_EXIT_CODES.unsafeCredentials;
    } finally {
      await status?.close();
      await pool.end().catch(() => {});
    }
  }
}

/**
 * The halt watch, when the pod has its credentials. Without them (or an API server address) the bot still
 * halts on SIGTERM; with a dead man's switch it then halts itself once the switch's time has run out.
 */
function startBotHaltWatch(
  dir: string,
  config: RuntimeConfig,
  log: Logger,
  metrics: ReturnType<typeof createMetrics>,
  onHalt: (halt: Halt) => void,
): HaltWatch | undefined {
  const unsupervisedHaltAfterMs =
    config.haltIfUnsupervisedForSeconds === undefined
      ? undefined
      : config.haltIfUnsupervisedForSeconds * 1000;
  try {
    return startHaltWatch({
      endpoint: inClusterEndpoint(dir),
      bot: { namespace: config.bot.namespace, name: config.bot.name },
      configuredOnEngage: config.onStop,
      unsupervisedHaltAfterMs,
      onHalt,
      log,
      metrics,
    });
  } catch (error) {
    log.error(
      { event: "halt_watch_unavailable", err: error },
      "halt watch unavailable: this bot halts only when its pod is deleted",
    );
    if (unsupervisedHaltAfterMs !== undefined) {
      const started = Date.now();
      setTimeout(
        () =>
          onHalt({
            halted: true,
            source: "Unsupervised",
            reason: `the halt watch could not start, and spec.killSwitch.haltIfUnsupervisedFor ran out`,
            by: undefined,
            onEngage: config.onStop,
            noticedAt: started + unsupervisedHaltAfterMs,
          }),
        unsupervisedHaltAfterMs,
      ).unref();
    }
    return undefined;
  }
}
