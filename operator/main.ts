#!/usr/bin/env -S node --max-semi-space-size=2
// First: V8's settings apply to all the code loaded after them.
import "./ops/v8-settings.ts";
import { pino } from "pino";
import { ConfigError, configUsage, loadConfig, type OperatorConfig } from "./config.ts";
import { describeError } from "./kube/informer.ts";
import { loadConnection } from "./kube/kubeconfig.ts";
import { Operator } from "./manager.ts";

// tradingbot-operator: reconciles TradingBots into locked-down pods and enforces every kill switch.
// Run with --max-semi-space-size=2 (as the first line says; NODE_OPTIONS when started as `node main.js`):
// V8's default young generation would be most of the operator's memory.
// SIGTERM/SIGINT: finish the reconciles in flight, hand the leader Lease over, exit 0.
// SIGHUP: relist every watch and reconcile everything (a full resync).

const SHUTDOWN_TIMEOUT_MS = 20_000;

async function main() {
  if (process.argv.includes("--help")) {
    process.stdout.write(
      `usage: tradingbot-operator [flags]\nEvery flag can also be set by its environment variable:\n${configUsage()}\n`,
    );
    return;
  }
  let config: OperatorConfig;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = pino({
    level: config.logLevel,
    base: { component: "tradingbot-operator", identity: config.identity },
    // Defence in depth: the operator never logs objects' data, and would not print it if it did.
    redact: { paths: ["data", "stringData", "*.data", "*.stringData"], censor: "[redacted]" },
  });
  const operator = new Operator(config, loadConnection(config.kubeconfig), logger);

  let stopping = false;
  const shutdown = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, "shutting down");
    const timeout = setTimeout(() => {
      logger.error("shutdown timed out");
      process.exit(code === 0 ? 1 : code);
    }, SHUTDOWN_TIMEOUT_MS);
    timeout.unref();
    try {
      await operator.stop();
    } catch (error) {
      logger.error({ err: describeError(error) }, "error while shutting down");
    }
    logger.flush();
    process.exit(code);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM", 0));
  process.on("SIGINT", () => void shutdown("SIGINT", 0));
  process.on("SIGHUP", () => {
    logger.info("SIGHUP: relisting every watch and reconciling everything");
    operator.relistAll();
  });

  const ports = await operator.start((reason) => {
    // Like controller-runtime: an instance that lost its lease exits, and restarts as a candidate.
    logger.error({ reason }, "fatal");
    void shutdown(reason, 1);
  });
  logger.info({ ...ports, namespaces: config.namespaces, leaderElection: config.leaderElect }, "started");
}

main().catch((error) => {
  process.stderr.write(`tradingbot-operator: ${describeError(error)}\n`);
  process.exit(1);
});
