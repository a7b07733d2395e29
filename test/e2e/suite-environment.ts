import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { patchBotKillSwitchArgs } from "../../demo/commands.ts";
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
  // Work folders are named after the vitest run (the parent of the worker running a file), so the logs of
  // every file stay until the next run; a run whose process is gone is stale.
  removeDirsOfDeadProcesses(WORK_ROOT, /^e2e-(\d+)-/);
  const cluster = clusterContext();
  const name = `${prefix}-${randomBytes(3).toString("hex")}`;
  const namespaces = labels.map((label) => `${name}-${label}`);
  const env = await startTradingEnvironment({
    cluster: { kubectlPath: cluster.kubectlPath, kubeconfigPath: cluster.kubeconfigPath },
    postgres: postgresContext(),
    name,
    botNamespaces: namespaces,
    workDir: join(WORK_ROOT, `e2e-${process.ppid}-${name}`),
    ...options,
  });
  return { env, namespaces };
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
