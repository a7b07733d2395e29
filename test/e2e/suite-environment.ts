import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { patchBotKillSwitchArgs } from "../../demo/commands.ts";
import { type ControlPlane, startControlPlane } from "../cluster/control-plane.ts";
import { REPO_ROOT } from "../operator/harness.ts";
import { clusterContext, postgresContext } from "../support/context.ts";
import { removeDirsOfDeadProcesses } from "../support/processes.ts";
import {
  type BotObject,
  startTradingEnvironment,
  type TradingEnvironment,
  type TradingEnvironmentOptions,
} from "./environment.ts";

// One environment per test file, on the run's control plane and PostgreSQL server (test/global-setup.ts).

const WORK_ROOT = join(REPO_ROOT, ".local");

export interface SuiteEnvironment {
  env: TradingEnvironment;
  /** The bot namespaces, in the order of the labels given. */
  namespaces: string[];
}

/**
 * Starts an environment named `<prefix>-<random>` with one bot namespace per label
 * (`<prefix>-<random>-<label>`).
 */
export async function startSuiteEnvironment(
  prefix: string,
  labels: string[],
  options: Pick<TradingEnvironmentOptions, "faultProxy" | "operatorArgs"> = {},
): Promise<SuiteEnvironment> {
  const suite = suiteNames(prefix, labels);
  const cluster = clusterContext();
  const env = await startTradingEnvironment({
    cluster: { kubectlPath: cluster.kubectlPath, kubeconfigPath: cluster.kubeconfigPath },
    postgres: postgresContext(),
    name: suite.name,
    botNamespaces: suite.namespaces,
    workDir: suite.workDir,
    ...options,
  });
  return { env, namespaces: suite.namespaces };
}

/**
 * The same on a control plane of the suite's own, for faults the run's shared one must not take (a
 * kube-apiserver killed or stopped, a CRD replaced). Stopping it is the suite's.
 */
export async function startSuiteEnvironmentOnOwnControlPlane(
  prefix: string,
  labels: string[],
): Promise<SuiteEnvironment & { controlPlane: ControlPlane }> {
  const suite = suiteNames(prefix, labels);
  const controlPlane = await startControlPlane({ stateDir: join(suite.workDir, "cluster") });
  try {
    const env = await startTradingEnvironment({
      cluster: {
        kubectlPath: join(controlPlane.binDir, "kubectl"),
        kubeconfigPath: controlPlane.kubeconfigPath,
      },
      postgres: postgresContext(),
      name: suite.name,
      botNamespaces: suite.namespaces,
      workDir: suite.workDir,
    });
    return { env, namespaces: suite.namespaces, controlPlane };
  } catch (error) {
    await controlPlane.stop();
    throw error;
  }
}

function suiteNames(prefix: string, labels: string[]) {
  // Work folders are named after the vitest run (the parent of the worker running a file), so the logs of
  // every file stay until the next run; a run whose process is gone is stale.
  removeDirsOfDeadProcesses(WORK_ROOT, /^e2e-(\d+)-/);
  const name = `${prefix}-${randomBytes(3).toString("hex")}`;
  return {
    name,
    namespaces: labels.map((label) => `${name}-${label}`),
    workDir: join(WORK_ROOT, `e2e-${process.ppid}-${name}`),
  };
}

export const conditionOf = (bot: BotObject, type: string) =>
  bot.status?.conditions?.find((condition) => condition.type === type);

export const isReady = (bot: BotObject) =>
  bot.status?.phase === "Running" && conditionOf(bot, "Ready")?.status === "True";

/** `kubectl patch tb NAME --type merge` of the bot's spec.killSwitch: the command the demo prints. */
export function patchKillSwitch(
  env: TradingEnvironment,
  namespace: string,
  name: string,
  killSwitch: Parameters<typeof patchBotKillSwitchArgs>[2],
): Promise<string> {
  return env.kubectl(patchBotKillSwitchArgs(namespace, name, killSwitch));
}
