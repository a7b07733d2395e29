// Everything the demo runs on: the local control plane (or the cluster of KUBECONFIG), a PostgreSQL server
// (started here, or an existing one), and the trading environment of test/e2e (simulator, migrated database,
// CRDs, operator under its own RBAC, local node agent). Stopping undoes all of it, in reverse.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { locateBinaries } from "../test/cluster/binaries.ts";
import { type ControlPlane, startControlPlane } from "../test/cluster/control-plane.ts";
import { startTradingEnvironment, type TradingEnvironment } from "../test/e2e/environment.ts";
import { type ClusterAccess, kubectlRun, REPO_ROOT } from "../test/operator/harness.ts";
import {
  type PostgresEndpoint,
  type PostgresServer,
  postgresConnectionString,
  startPostgres,
} from "../test/postgres/index.ts";
import { isProcessAlive } from "../test/support/processes.ts";
import { type DemoConsole, startDemoConsole } from "./console.ts";
import type { DemoOptions } from "./options.ts";

export interface DemoStack {
  env: TradingEnvironment;
  /** The web console, and the one person who may log in to it. */
  console: DemoConsole;
  /** The cluster's admin kubeconfig, for the user's kubectl. */
  kubeconfigPath: string;
  /** The kubectl the demo runs (built with the control plane, or found on PATH). */
  kubectlPath: string;
  /** The demo's state: logs of every component, the kubeconfig of a local control plane. */
  workDir: string;
  stop(): Promise<void>;
}

/** One demo per name at a time: the second would share its namespaces, Node and state folder. */
function claimWorkDir(workDir: string): void {
  mkdirSync(workDir, { recursive: true });
  const pidFile = join(workDir, "demo.pid");
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isProcessAlive(pid)) {
      throw new Error(
        `a demo with this name is already running (pid ${pid}); stop it first, or give this one --prefix NAME`,
      );
    }
  }
  writeFileSync(pidFile, `${process.pid}\n`);
  rmSync(join(workDir, "environment"), { recursive: true, force: true });
}

/**
 * On someone else's cluster the demo must not adopt what it would delete when it stops: its namespaces and
 * its KillSwitch have to be new.
 */
async function refuseExisting(access: ClusterAccess, options: DemoOptions) {
  const namespaces = [options.namespaces.trading, options.namespaces.research];
  const found = await kubectlRun(access, [
    "get",
    "namespace",
    ...namespaces,
    "--ignore-not-found",
    "-o",
    "name",
  ]);
  // Without the CRDs (a cluster never used with the operator) there is no KillSwitch to clash with.
  const switches = await kubectlRun(access, [
    "get",
    "killswitches.trading.botops.dev",
    options.killSwitchName,
    "--ignore-not-found",
    "-o",
    "name",
  ]).catch(() => "");
  const clashes = `${found}\n${switches}`.split("\n").filter((line) => line.trim() !== "");
  if (clashes.length > 0) {
    throw new Error(
      `${clashes.join(", ")} already exist(s) in the cluster, and the demo deletes its own when it stops: ` +
        "run it with --prefix NAME (or DEMO_PREFIX=NAME) to use other names",
    );
  }
}

/** Drops the database and roles the demo created on a PostgreSQL server that outlives it. */
async function dropDemoDatabase(env: TradingEnvironment): Promise<void> {
  const { database } = env;
  const client = new pg.Client({ connectionString: postgresConnectionString(database.endpoint, "postgres") });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${database.name}" WITH (FORCE)`);
    await client.query(`DROP ROLE IF EXISTS "${database.tradingRole}"`);
    await client.query(`DROP ROLE IF EXISTS "${database.migrationRole}"`);
  } finally {
    await client.end();
  }
}

export async function startDemoStack(
  options: DemoOptions,
  progress: (line: string) => void,
): Promise<DemoStack> {
  const workDir = join(REPO_ROOT, ".local", options.name);
  claimWorkDir(workDir);
  const logFile = join(workDir, "demo.log");
  writeFileSync(logFile, "");
  const log = (line: string) => {
    writeFileSync(logFile, `${new Date().toISOString()} ${line}\n`, { flag: "a" });
  };

  let controlPlane: ControlPlane | undefined;
  let postgres: PostgresServer | undefined;
  let env: TradingEnvironment | undefined;
  let demoConsole: DemoConsole | undefined;
  const stop = async () => {
    const running = env;
    const steps: [string, (() => Promise<unknown>) | undefined][] = [
      ["the console", demoConsole?.stop],
      [
        "the fleet KillSwitch",
        running &&
          (() => running.kubectl(["delete", "killswitch", options.killSwitchName, "--ignore-not-found"])),
      ],
      ["the bots, the operator, the node agent and the simulator", running?.stop],
      [
        "the demo's database",
        running && options.postgres.kind === "existing" ? () => dropDemoDatabase(running) : undefined,
      ],
      ["the control plane", controlPlane?.stop],
      ["PostgreSQL", postgres?.stop],
    ];
    for (const [what, step] of steps) {
      if (!step) continue;
      progress(`stopping ${what}`);
      try {
        await step();
      } catch (error) {
        progress(`could not stop ${what}: ${(error as Error).message}`);
      }
    }
    rmSync(join(workDir, "demo.pid"), { force: true });
  };

  try {
    const startingCluster = async (): Promise<ClusterAccess> => {
      if (options.cluster.kind === "existing") {
        let kubectlPath = "kubectl";
        try {
          kubectlPath = locateBinaries().kubectl;
        } catch {
          log("control-plane binaries not built: using kubectl from PATH");
        }
        const existing = { kubectlPath, kubeconfigPath: options.cluster.kubeconfigPath };
        await refuseExisting(existing, options);
        progress(`using the cluster of ${options.cluster.kubeconfigPath}`);
        return existing;
      }
      progress(
        "starting the local control plane (etcd, kube-apiserver, controller-manager, scheduler, KWOK)",
      );
      controlPlane = await startControlPlane({ stateDir: join(workDir, "cluster"), log });
      return {
        kubectlPath: join(controlPlane.binDir, "kubectl"),
        kubeconfigPath: controlPlane.kubeconfigPath,
      };
    };
    const startingPostgres = async (): Promise<PostgresEndpoint> => {
      if (options.postgres.kind === "existing") return options.postgres.endpoint;
      progress("starting PostgreSQL");
      postgres = await startPostgres({ log });
      return postgres;
    };
    // Both settle before anything is stopped, so that a failure of one does not leave the other running.
    const [cluster, server] = await Promise.allSettled([startingCluster(), startingPostgres()]);
    if (cluster.status === "rejected") throw cluster.reason;
    if (server.status === "rejected") throw server.reason;
    const access = cluster.value;

    progress("starting the exchange simulator, the database, the operator and the node agent");
    env = await startTradingEnvironment({
      cluster: access,
      postgres: server.value,
      name: options.name,
      botNamespaces: [options.namespaces.trading, options.namespaces.research],
      workDir: join(workDir, "environment"),
      // Alone in its own cluster, the operator sees every bot, so it can count them in KillSwitch status;
      // on a shared cluster, operators that each see part of the fleet would write conflicting counts.
      operatorArgs: options.cluster.kind === "local" ? ["--kill-switch-status"] : [],
      log,
    });
    progress("starting the console");
    demoConsole = await startDemoConsole({
      env,
      name: options.name,
      workDir,
      botNamespace: options.namespaces.trading,
      log,
    });
    return {
      env,
      console: demoConsole,
      kubeconfigPath: access.kubeconfigPath,
      kubectlPath: access.kubectlPath,
      workDir,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
