// The whole loop on one machine, for the end-to-end suite, the demo and the benchmarks: the exchange
// simulator (in this process, on loopback), a database prepared by `bot-runtime migrate` with its two
// roles, the CRDs, the operator as a separate process under its own ServiceAccount and config/rbac/, and
// the local node agent that runs bot pods as processes of the built runtime (dist/, `make build`).
//
// Bots come from config/samples: the sample is loaded and only what this machine needs is overridden
// (the exchange endpoint, the pod's placement on the agent's Node, the Secrets' values), so the samples
// stay the documentation of what users apply.
//
// Nothing here imports vitest: the demo and the benchmarks run it as plain Node programs.

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { load } from "js-yaml";
import type pg from "pg";
import { RECOMMENDED_HALT_WATCH_AUDIENCE } from "../../api/v1alpha1/runtime-config.ts";
import { botTag } from "../../bot-runtime/orders/client-order-id.ts";
import {
  defaultSymbolConfigs,
  type ExchangeSim,
  type OrderView,
  startExchangeSim,
} from "../../exchange-sim/index.ts";
import { type BotDatabase, createBotDatabase } from "../bot-runtime/fixtures.ts";
import { ApiFaultProxy } from "../faults/api-fault-proxy.ts";
import { localAgentPlacement, type NodeAgent, startNodeAgent } from "../node-agent/index.ts";
import { type BotObject, ClusterView } from "../operator/cluster-view.ts";
import { RESTRICTED_NAMESPACE_LABELS } from "../operator/fixtures.ts";
import {
  applyObjects,
  type ClusterAccess,
  deleteBotNamespaces,
  installCrds,
  installOperatorIdentity,
  kubectlRun,
  type OperatorProcess,
  REPO_ROOT,
  startOperator,
} from "../operator/harness.ts";
import type { PostgresEndpoint } from "../postgres/connection-string.ts";
import { claimPodCidr } from "./pod-cidr-claim.ts";

export type { BotObject } from "../operator/cluster-view.ts";
export type { ClusterAccess } from "../operator/harness.ts";

export const SAMPLES_DIR = join(REPO_ROOT, "config", "samples");
/** The Secrets the samples refer to, by the names the samples give them. */
export const SAMPLE_EXCHANGE_SECRET = "secret-paper-exchange-credentials.yaml";
export const SAMPLE_DATABASE_SECRET = "secret-database.yaml";
export const SAMPLE_GRID_BOT = "tradingbot-grid-paper.yaml";
export const SAMPLE_DCA_BOT = "tradingbot-dca-paper.yaml";
export const SAMPLE_KILL_SWITCH = "killswitch-namespace.yaml";

/**
 * BTC starts at 65000 so that the grid sample's range (60000 to 70000) straddles the price: it then has
 * buys below and room above, as its comments describe.
 */
const SIMULATOR_PRICES: Readonly<Record<string, string>> = { BTCUSDT: "65000" };

const ACCOUNT_BALANCES = { USDT: "100000", BTC: "2", ETH: "40" };

/**
 * The simulator models one Binance client IP. Bot processes on loopback all reach it from 127.0.0.1, where a
 * cluster gives each pod an address (and so a weight budget) of its own: the per-IP budget is raised so that
 * a fleet on one machine is not throttled as if it were one client.
 */
const SIMULATOR_RATE_LIMITS = { requestWeightPerMinute: 1_000_000 };

const OPERATOR_ARGS = [
  // Fresh runtime reports in status within about a second, and heartbeats visibly move.
  "--runtime-poll-interval=1s",
  "--runtime-mirror-interval=5s",
  "--deletion-margin=5s",
  `--halt-watch-audience=${RECOMMENDED_HALT_WATCH_AUDIENCE}`,
];

export interface SimAccount {
  accountId: string;
  apiKey: string;
  secret: string;
}

export interface TradingEnvironmentOptions {
  /** The cluster, as its admin. */
  cluster: ClusterAccess;
  /** The PostgreSQL server, as its superuser. */
  postgres: PostgresEndpoint;
  /** Short lowercase name: the operator's namespace, the agent's Node and the database are named after it. */
  name: string;
  /**
   * Namespaces for bots, created here (enforcing the `restricted` Pod Security Standard) with the samples'
   * Secrets pointing at this environment; each has a simulator account of its own. The operator reconciles
   * exactly these.
   */
  botNamespaces: string[];
  /** State (agent pod folders and container logs, credentials folders, the environment's log). */
  workDir: string;
  /** Market time per real time at the simulator (default 1). */
  simulatorSpeed?: number;
  /** More operator flags (they win over this module's defaults). */
  operatorArgs?: string[];
  /** Progress lines; by default they go to `<workDir>/environment.log`. */
  log?: (line: string) => void;
  /** The operator reaches the API server through a fault-injection proxy (`faults`). */
  faultProxy?: boolean;
}

export interface AuditRow {
  seq: number;
  at: Date;
  event: string;
  payload: Record<string, unknown>;
}

export interface FillRow {
  tradeId: string;
  clientOrderId: string;
  side: string;
  price: string;
  amount: string;
}

export interface BotStateRow {
  positionBase: string;
  realizedPnl: string;
}

export interface BotManifestOptions {
  /** Another name than the sample's. */
  name?: string;
  labels?: Record<string, string>;
  /** Changes to the adapted spec (risk limits, kill switch, strategy). */
  spec?: (spec: Record<string, unknown>) => void;
}

export interface TradingEnvironment {
  readonly cluster: ClusterAccess;
  /** The cluster's admin, for API clients and watches. */
  readonly adminKubeConfig: KubeConfig;
  /** Reads of the cluster as its admin. */
  readonly view: ClusterView;
  readonly sim: ExchangeSim;
  readonly database: BotDatabase;
  readonly operator: OperatorProcess;
  /** Between every operator of this environment and the API server, when asked for (`faultProxy`). */
  readonly faults: ApiFaultProxy | undefined;
  /** Another operator with the same identity, RBAC and flags (a standby, or a replacement). */
  startOperator(name: string): Promise<OperatorProcess>;
  readonly agent: NodeAgent;
  readonly nodeName: string;
  readonly operatorNamespace: string;
  readonly botNamespaces: readonly string[];
  /** The simulator account whose key the exchange Secret of `namespace` holds. */
  account(namespace: string): SimAccount;
  /** A sample TradingBot (a file of config/samples) adapted to this environment. */
  botFromSample(sample: string, namespace: string, options?: BotManifestOptions): Record<string, unknown>;
  /** `kubectl apply --server-side` of objects given as data. */
  apply(objects: object[]): Promise<void>;
  /** kubectl as the cluster's admin; resolves to stdout. */
  kubectl(args: string[], input?: string): Promise<string>;
  bot(namespace: string, name: string): Promise<BotObject>;
  waitForBot(
    namespace: string,
    name: string,
    accept: (bot: BotObject) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<BotObject>;
  /** Every order of the bot at the simulator (all states), as the simulator's admin read-back has them. */
  ordersAtExchange(botUid: string): OrderView[];
  /** Of those, the ones still open (NEW or PARTIALLY_FILLED). */
  openOrdersAtExchange(botUid: string): OrderView[];
  fills(botUid: string): Promise<FillRow[]>;
  auditRows(botUid: string): Promise<AuditRow[]>;
  botState(botUid: string): Promise<BotStateRow | undefined>;
  /**
   * Adds a new key to the namespace's simulator account and writes it into the namespace's exchange
   * Secret (the rotation a user makes); returns the new key.
   */
  rotateExchangeKey(namespace: string): Promise<SimAccount>;
  /** Pids of the bot runtime processes running for that pod right now, found in /proc. */
  runtimeProcesses(namespace: string, podName: string): number[];
  /** Deletes the bot namespaces (while the operator and agent still run), then stops everything. */
  stop(): Promise<void>;
}

const isOpen = (order: OrderView) => order.status === "NEW" || order.status === "PARTIALLY_FILLED";

/** A file of config/samples, parsed. */
export function loadSample(file: string): Record<string, unknown> {
  return load(readFileSync(join(SAMPLES_DIR, file), "utf8")) as Record<string, unknown>;
}

/** The sample Secret with its values replaced. */
function secretFromSample(file: string, namespace: string, values: Record<string, string>) {
  const secret = loadSample(file) as { metadata: Record<string, unknown>; stringData?: unknown };
  secret.metadata = { ...secret.metadata, namespace };
  secret.stringData = values;
  return secret;
}

/** A Secret folder as the operator mounts it (one file per key) read back into Secret data. */
function secretFolderValues(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir).map((key) => [key, readFileSync(join(dir, key), "utf8").trim()]),
  );
}

function newAccountKey(): { apiKey: string; secret: string } {
  return { apiKey: `paper-${randomBytes(12).toString("hex")}`, secret: randomBytes(24).toString("hex") };
}

function builtEntryPoints(): void {
  for (const entry of ["dist/bot-runtime/main.js", "dist/operator/main.js"]) {
    if (!existsSync(join(REPO_ROOT, entry))) {
      throw new Error(
        `${entry} is missing: run \`make build\` first (the node agent runs the built runtime)`,
      );
    }
  }
}

/** Pid to the environment of a process, read from /proc (undefined when it is gone or not ours to read). */
function processEnvironment(pid: string): Map<string, string> | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/environ`, "utf8");
    return new Map(
      raw
        .split("\0")
        .filter((entry) => entry.includes("="))
        .map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]),
    );
  } catch {
    return undefined;
  }
}

export async function startTradingEnvironment(
  options: TradingEnvironmentOptions,
): Promise<TradingEnvironment> {
  builtEntryPoints();
  const { cluster, name } = options;
  mkdirSync(options.workDir, { recursive: true });
  const logFile = join(options.workDir, "environment.log");
  const log =
    options.log ?? ((line: string) => void appendFile(logFile, `${new Date().toISOString()} ${line}\n`));
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const runCleanups = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        log(`cleanup failed: ${(error as Error).message}`);
      }
    }
  };

  try {
    const accounts = new Map<string, SimAccount>();
    options.botNamespaces.forEach((namespace, index) => {
      accounts.set(namespace, { accountId: `account-${index + 1}`, ...newAccountKey() });
    });
    const sim = await startExchangeSim({
      accounts: [...accounts.values()].map((account) => ({ ...account, balances: ACCOUNT_BALANCES })),
      symbols: defaultSymbolConfigs.map((symbol) => ({
        ...symbol,
        initialPrice: SIMULATOR_PRICES[symbol.symbol] ?? symbol.initialPrice,
      })),
      speed: options.simulatorSpeed ?? 1,
      rateLimits: SIMULATOR_RATE_LIMITS,
    });
    cleanups.push(() => sim.close());
    log(`exchange simulator on ${sim.url} (admin ${sim.adminUrl})`);

    const database = await createBotDatabase(
      name.replace(/[^a-z0-9]/g, "_"),
      options.postgres,
      join(options.workDir, "database-credentials"),
    );
    log(`database ${database.name} migrated (trading role ${database.tradingRole})`);

    await installCrds(cluster);
    const operatorNamespace = `${name}-operator`;
    const nodeName = `${name}-agent`;
    await applyObjects(cluster, [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: operatorNamespace } },
      ...options.botNamespaces.map((namespace) => ({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: namespace, labels: RESTRICTED_NAMESPACE_LABELS },
      })),
    ]);
    const databaseValues = secretFolderValues(database.tradingCredentials);
    await applyObjects(
      cluster,
      options.botNamespaces.flatMap((namespace) => {
        const account = accounts.get(namespace) as SimAccount;
        return [
          secretFromSample(SAMPLE_EXCHANGE_SECRET, namespace, {
            apiKey: account.apiKey,
            secret: account.secret,
          }),
          secretFromSample(SAMPLE_DATABASE_SECRET, namespace, databaseValues),
        ];
      }),
    );
    const adminKc = new KubeConfig();
    adminKc.loadFromFile(cluster.kubeconfigPath);
    let faults: ApiFaultProxy | undefined;
    if (options.faultProxy) {
      const apiServer = adminKc.getCurrentCluster();
      if (!apiServer) throw new Error(`no cluster in ${cluster.kubeconfigPath}`);
      faults = await ApiFaultProxy.start({
        upstream: apiServer.server,
        ca: apiServer.caData
          ? Buffer.from(apiServer.caData, "base64")
          : readFileSync(apiServer.caFile as string),
      });
      const proxy = faults;
      cleanups.push(() => proxy.close());
      log(`fault proxy for the operator on ${faults.url}`);
    }
    const operatorKubeconfig = await installOperatorIdentity(cluster, operatorNamespace, faults?.url);
    cleanups.push(async () => {
      await kubectlRun(cluster, [
        "delete",
        "clusterrolebinding",
        `tradingbot-operator-${operatorNamespace}`,
        "--ignore-not-found",
      ]);
      await kubectlRun(cluster, [
        "delete",
        "namespace",
        operatorNamespace,
        "--wait=false",
        "--ignore-not-found",
      ]);
    });

    const podCidr = claimPodCidr(join(REPO_ROOT, ".local", "pod-cidr-claims"));
    cleanups.push(() => podCidr.release());
    const agent = await startNodeAgent({
      kubeconfig: adminKc,
      nodeName,
      stateDir: join(options.workDir, "node-agent"),
      podCIDR: podCidr.cidr,
      deleteNodeOnStop: true,
      log: (line) => log(`[node-agent] ${line}`),
    });
    cleanups.push(() => agent.stop());
    log(`node agent registered Node ${nodeName} (pods on ${podCidr.cidr})`);

    const launchOperator = async (identity: string) => {
      const started = await startOperator({
        kubeconfigPath: operatorKubeconfig,
        operatorNamespace,
        namespaces: options.botNamespaces,
        identity,
        fromDist: true,
        extraArgs: [...OPERATOR_ARGS, ...(options.operatorArgs ?? [])],
      });
      cleanups.push(async () => {
        if (started.process.isRunning()) started.resume();
        await started.stop();
      });
      return started;
    };
    const operator = await launchOperator(`${name}-${process.pid}`);
    log(`operator running as system:serviceaccount:${operatorNamespace}:tradingbot-operator`);

    const view = new ClusterView(adminKc);
    const withAdmin = async <T>(use: (client: pg.Client) => Promise<T>): Promise<T> => {
      const client = await database.admin();
      try {
        return await use(client);
      } finally {
        await client.end();
      }
    };
    const accountOf = (namespace: string): SimAccount => {
      const account = accounts.get(namespace);
      if (!account) {
        throw new Error(
          `namespace ${namespace} is not one of this environment's (${options.botNamespaces.join(", ")})`,
        );
      }
      return account;
    };
    const ordersAtExchange = (botUid: string) => {
      const prefix = `tb${botTag(botUid)}-`;
      return [...accounts.values()]
        .flatMap((account) => sim.orders({ accountId: account.accountId }))
        .filter((order) => order.clientOrderId.startsWith(prefix));
    };

    let stopping: Promise<void> | undefined;
    const stop = async () => {
      // The operator removes each bot's finalizer once the agent has stopped its pod: both must still run,
      // and reach the API server.
      faults?.clearRules();
      await deleteBotNamespaces(cluster, [...options.botNamespaces]);
      await runCleanups();
      log("environment stopped");
    };

    return {
      cluster,
      adminKubeConfig: adminKc,
      view,
      sim,
      database,
      operator,
      faults,
      startOperator: (operatorName) => launchOperator(`${name}-${operatorName}`),
      agent,
      nodeName,
      operatorNamespace,
      botNamespaces: options.botNamespaces,
      account: accountOf,
      botFromSample(sample, namespace, manifestOptions = {}) {
        const bot = loadSample(sample) as {
          metadata: { name: string; labels?: Record<string, string> };
          spec: {
            exchange: Record<string, unknown>;
            pod?: Record<string, unknown>;
          } & Record<string, unknown>;
        };
        accountOf(namespace);
        bot.metadata = {
          ...bot.metadata,
          name: manifestOptions.name ?? bot.metadata.name,
          namespace,
          labels: { ...bot.metadata.labels, ...manifestOptions.labels },
        } as typeof bot.metadata;
        bot.spec.exchange = { ...bot.spec.exchange, endpoint: sim.url };
        bot.spec.pod = { ...bot.spec.pod, ...localAgentPlacement(nodeName) };
        manifestOptions.spec?.(bot.spec);
        return bot as unknown as Record<string, unknown>;
      },
      async apply(objects) {
        await applyObjects(cluster, objects);
      },
      kubectl: (args, input) => kubectlRun(cluster, args, input),
      async bot(namespace, botName) {
        const bot = await view.bot(namespace, botName);
        if (!bot) throw new Error(`TradingBot ${namespace}/${botName} does not exist`);
        return bot;
      },
      waitForBot: (namespace, botName, accept, what, timeoutMs = 60_000) =>
        view.waitForBot(namespace, botName, accept, what, timeoutMs),
      ordersAtExchange,
      openOrdersAtExchange: (botUid) => ordersAtExchange(botUid).filter(isOpen),
      fills: (botUid) =>
        withAdmin(async (client) => {
          const result = await client.query<FillRow>(
            `SELECT trade_id AS "tradeId", client_order_id AS "clientOrderId", side, price::text, amount::text
               FROM tradingbot.fills WHERE bot_uid = $1 ORDER BY trade_id::bigint`,
            [botUid],
          );
          return result.rows;
        }),
      auditRows: (botUid) =>
        withAdmin(async (client) => {
          const result = await client.query<AuditRow & { seq: string }>(
            "SELECT seq, at, event, payload FROM tradingbot.audit_log WHERE bot_uid = $1 ORDER BY seq",
            [botUid],
          );
          return result.rows.map((row) => ({ ...row, seq: Number(row.seq) }));
        }),
      botState: (botUid) =>
        withAdmin(async (client) => {
          const result = await client.query<BotStateRow>(
            `SELECT position_base::text AS "positionBase", realized_pnl::text AS "realizedPnl"
               FROM tradingbot.bot_state WHERE bot_uid = $1`,
            [botUid],
          );
          return result.rows[0];
        }),
      async rotateExchangeKey(namespace) {
        const current = accountOf(namespace);
        const next = { accountId: current.accountId, ...newAccountKey() };
        sim.addAccount(next);
        accounts.set(namespace, next);
        await applyObjects(cluster, [
          secretFromSample(SAMPLE_EXCHANGE_SECRET, namespace, { apiKey: next.apiKey, secret: next.secret }),
        ]);
        return next;
      },
      runtimeProcesses(namespace, podName) {
        const podsRoot = join(agent.stateDir, "pods");
        const found: number[] = [];
        for (const pid of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
          let cwd: string;
          try {
            cwd = readlinkSync(`/proc/${pid}/cwd`);
          } catch {
            continue;
          }
          // The agent starts each container in its pod's folder, with HOSTNAME set to the pod's name.
          if (!cwd.startsWith(`${podsRoot}/`)) continue;
          if (processEnvironment(pid)?.get("HOSTNAME") !== podName) continue;
          // A pod of the same name in another namespace; a process whose folder is already gone counts.
          if ((configNamespace(cwd) ?? namespace) !== namespace) continue;
          found.push(Number(pid));
        }
        return found;
      },
      stop() {
        stopping ??= stop();
        return stopping;
      },
    };
  } catch (error) {
    await runCleanups();
    throw error;
  }
}

/** The bot namespace in the runtime config of a pod folder, if it can still be read. */
function configNamespace(podDir: string): string | undefined {
  try {
    const config = JSON.parse(readFileSync(join(podDir, "volumes", "config", "config.json"), "utf8")) as {
      bot?: { namespace?: string };
    };
    return config.bot?.namespace;
  } catch {
    return undefined;
  }
}
