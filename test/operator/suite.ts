import { randomBytes } from "node:crypto";
import type { KubeConfig } from "@kubernetes/client-node";
import { clusterContext } from "../support/context.ts";
import { adminKubeConfig, createTestNamespace } from "../support/kube.ts";
import {
  databaseSecret,
  exchangeSecret,
  type PlantedValues,
  plantedValues,
  RESTRICTED_NAMESPACE_LABELS,
} from "./fixtures.ts";
import {
  applyObjects,
  type ClusterAccess,
  deleteBotNamespaces,
  installCrds,
  installOperatorIdentity,
  type OperatorProcess,
  startOperator,
} from "./harness.ts";

/** What most operator suites start from: a bot namespace, its Secrets, and an operator reconciling it. */
export interface OperatorSuite {
  access: ClusterAccess;
  adminKc: KubeConfig;
  /** The bot namespace: restricted Pod Security, with the sample Secrets labelled for their use. */
  namespace: string;
  planted: PlantedValues;
  operator: OperatorProcess;
  /** The user the operator authenticates as (its ServiceAccount). */
  operatorUser: string;
  /** Deletes the bots (the operator still running, for their finalizers), then stops the operator. */
  stop(): Promise<void>;
}

/** Installs the operator's identity for the namespaces it runs bots in; returns a kubeconfig of it. */
export type IdentityInstaller = (
  access: ClusterAccess,
  operatorNamespace: string,
  botNamespaces: string[],
) => Promise<string>;

/**
 * Installs the CRDs, creates the namespaces `<prefix>-…` (bots) and `<prefix>op-…` (the operator's
 * identity, with exactly its generated role unless `installIdentity` gives another), applies the sample
 * Secrets, and starts the operator on the bot namespace.
 */
export async function startOperatorSuite(
  prefix: string,
  options: { extraArgs?: string[]; installIdentity?: IdentityInstaller } = {},
): Promise<OperatorSuite> {
  const cluster = clusterContext();
  const access = { kubectlPath: cluster.kubectlPath, kubeconfigPath: cluster.kubeconfigPath };
  const adminKc = adminKubeConfig();
  await installCrds(access);
  const operatorNamespace = await createTestNamespace(adminKc, `${prefix}op`);
  const botNamespace = await createTestNamespace(adminKc, prefix, RESTRICTED_NAMESPACE_LABELS);
  const namespace = botNamespace.name;
  const planted = plantedValues(randomBytes(3).toString("hex"));
  await applyObjects(access, [exchangeSecret(namespace, planted), databaseSecret(namespace, planted)]);
  const kubeconfigPath = options.installIdentity
    ? await options.installIdentity(access, operatorNamespace.name, [namespace])
    : await installOperatorIdentity(access, operatorNamespace.name);
  const operator = await startOperator({
    kubeconfigPath,
    operatorNamespace: operatorNamespace.name,
    namespaces: [namespace],
    identity: `${prefix}-${namespace}`,
    extraArgs: options.extraArgs,
  });
  return {
    access,
    adminKc,
    namespace,
    planted,
    operator,
    operatorUser: `system:serviceaccount:${operatorNamespace.name}:tradingbot-operator`,
    async stop() {
      await deleteBotNamespaces(access, [namespace]);
      await operator.stop();
      await operatorNamespace.cleanup();
    },
  };
}
