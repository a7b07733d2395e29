import { GROUP, KILL_SWITCH, TRADING_BOT } from "../../api/v1alpha1/index.ts";
import type { KubeObject } from "../kube/types.ts";
import {
  BOT_UID_LABEL,
  botLabels,
  haltWatchClusterBindingNameFor,
  haltWatchRoleNameFor,
  serviceAccountNameFor,
} from "../names.ts";
import { type BotIdentity, ownedMetadata } from "./bot-identity.ts";

// What the bot's halt watch may read, and nothing more: its own TradingBot (a Role naming it, bound to the
// bot's ServiceAccount) and the KillSwitches (the one ClusterRole the chart ships, which the operator may
// bind and nothing else). The runtime reads them with a projected token bound to its pod.

const RBAC_API_VERSION = "rbac.authorization.k8s.io/v1";

/** The rules of the ClusterRole that lets a bot list and watch KillSwitches; the chart and config/ ship it. */
export const HALT_WATCH_CLUSTER_RULES = [
  { apiGroups: [GROUP], resources: [KILL_SWITCH.plural], verbs: ["list", "watch"] },
];

/** get, list and watch on this one TradingBot (list and watch need a metadata.name field selector). */
export function buildHaltWatchRole(bot: BotIdentity): KubeObject & { rules: unknown[] } {
  return {
    apiVersion: RBAC_API_VERSION,
    kind: "Role",
    metadata: ownedMetadata(bot, haltWatchRoleNameFor(bot.name)),
    rules: [
      {
        apiGroups: [GROUP],
        resources: [TRADING_BOT.plural],
        resourceNames: [bot.name],
        verbs: ["get", "list", "watch"],
      },
    ],
  };
}

function botSubject(bot: BotIdentity) {
  return { kind: "ServiceAccount", name: serviceAccountNameFor(bot.name), namespace: bot.namespace };
}

export function buildHaltWatchRoleBinding(bot: BotIdentity): KubeObject {
  const name = haltWatchRoleNameFor(bot.name);
  return {
    apiVersion: RBAC_API_VERSION,
    kind: "RoleBinding",
    metadata: ownedMetadata(bot, name),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
    subjects: [botSubject(bot)],
  } as KubeObject;
}

/**
 * Cluster-scoped, so no owner reference can tie it to the bot: labelled with the bot's uid instead, and
 * deleted by the operator when the bot goes (before its finalizer is removed).
 */
export function buildHaltWatchClusterRoleBinding(bot: BotIdentity, clusterRole: string): KubeObject {
  return {
    apiVersion: RBAC_API_VERSION,
    kind: "ClusterRoleBinding",
    metadata: {
      name: haltWatchClusterBindingNameFor(bot.namespace, bot.name),
      labels: { ...botLabels(bot.name), [BOT_UID_LABEL]: bot.uid },
    },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole },
    subjects: [botSubject(bot)],
  } as KubeObject;
}
