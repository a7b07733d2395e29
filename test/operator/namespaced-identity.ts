import {
  BOT_NAMESPACE_RULES,
  CLUSTER_RULES,
  OPERATOR_NAME,
  type PolicyRule,
} from "../../operator/ops/rbac-rules.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";
import { applyObjects, type ClusterAccess, installOperatorIdentity, kubectlRun } from "./harness.ts";

// The operator's identity as the Helm chart renders it with `watch.namespaces` set: the bot rules as a
// Role in each watched namespace, and a ClusterRole with only the rules of cluster-scoped kinds. What
// does not change with the mode comes from config/rbac/ as in installOperatorIdentity: the
// ServiceAccount and its token, the leader-election Role in the operator's namespace, and the
// halt-watch ClusterRole the operator binds for each bot.

const rbacRules = (rules: PolicyRule[]) => rules.map(({ why: _why, ...rule }) => rule);

/**
 * config/rbac/ installed for an operator living in `operatorNamespace` (installOperatorIdentity), with its
 * ClusterRoleBinding of the whole role replaced by namespace-scoped RBAC for `watchedNamespaces`. Returns
 * a kubeconfig holding a token of the operator's ServiceAccount once the API server no longer grants it
 * anything on bots outside those namespaces.
 */
export async function installNamespacedOperatorIdentity(
  access: ClusterAccess,
  operatorNamespace: string,
  watchedNamespaces: string[],
): Promise<string> {
  const kubeconfigPath = await installOperatorIdentity(access, operatorNamespace);
  const name = `${OPERATOR_NAME}-${operatorNamespace}`;
  const subjects = [{ kind: "ServiceAccount", name: OPERATOR_NAME, namespace: operatorNamespace }];
  await kubectlRun(access, ["delete", "clusterrolebinding", name]);
  await applyObjects(access, [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name },
      rules: rbacRules(CLUSTER_RULES),
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects,
    },
    ...watchedNamespaces.flatMap((namespace) => [
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: OPERATOR_NAME, namespace },
        rules: rbacRules(BOT_NAMESPACE_RULES),
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: OPERATOR_NAME, namespace },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: OPERATOR_NAME },
        subjects,
      },
    ]),
  ]);
  // The authorizer follows bindings through a watch: wait until the removed one no longer counts.
  const user = `system:serviceaccount:${operatorNamespace}:${OPERATOR_NAME}`;
  await waitFor(
    async () =>
      (
        await kubectl(["auth", "can-i", "list", "pods", "--all-namespaces", `--as=${user}`], {
          allowFailure: true,
        })
      ).stdout.trim() === "no",
    { what: `${user} to lose the cluster-wide role` },
  );
  return kubeconfigPath;
}
