import { GROUP, KILL_SWITCH, TRADING_BOT, TRADING_POLICY } from "../../api/v1alpha1/index.ts";

// The operator's permissions, one rule per need, each with the reason it exists. config/rbac/ is
// generated from this list (node operator/rbac-gen.ts), and a unit test keeps the two equal; the Helm
// chart renders the same rules.

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
  /** Why the operator needs this: written next to the rule in the YAML. */
  why: string;
}

/** Where the operator's own objects live (and its leader Lease), by default. */
export const OPERATOR_NAMESPACE = "tradingbot-system";
export const OPERATOR_NAME = "tradingbot-operator";
export const LEADER_LEASE_NAME = "tradingbot-operator-leader";
/** The ClusterRole bots' halt watches list KillSwitches through (the chart names it after the release). */
export const HALT_WATCH_CLUSTER_ROLE = "tradingbot-operator-halt-watch";

/** Rules for the namespaces whose bots the operator runs (cluster-wide: a ClusterRole). */
export const BOT_NAMESPACE_RULES: PolicyRule[] = [
  {
    apiGroups: [GROUP],
    resources: [TRADING_BOT.plural],
    verbs: ["list", "watch", "patch", "get"],
    why:
      "Watch TradingBots into the cache (list+watch) and add/remove its finalizer trading.botops.dev/stop-bot " +
      "(merge patch with a resourceVersion precondition). get: never requested; RBAC lets the operator create " +
      "a bot's halt-watch Role (get, list and watch on that one TradingBot) only if it holds those verbs itself.",
  },
  {
    apiGroups: [GROUP],
    resources: [`${TRADING_BOT.plural}/status`],
    verbs: ["patch"],
    why: "Write phase, conditions, halt and runtime through the status subresource only (merge patch).",
  },
  {
    apiGroups: [GROUP],
    resources: [`${TRADING_BOT.plural}/finalizers`],
    verbs: ["update"],
    why:
      "Owner references with blockOwnerDeletion: true on the bot's Pod, ConfigMap, NetworkPolicy and ServiceAccount " +
      "require it where the OwnerReferencesPermissionEnforcement admission plugin is on.",
  },
  {
    apiGroups: [""],
    resources: ["pods"],
    verbs: ["list", "watch", "create", "delete", "get"],
    why:
      "Run the bot pod: watch the pods it owns (label-selected), create one per bot, delete it to halt, restart " +
      "or replace it (with a uid precondition). get: only when a create finds a pod of that name outside the cache.",
  },
  {
    apiGroups: [""],
    resources: ["configmaps", "serviceaccounts"],
    verbs: ["list", "watch", "create", "patch", "get"],
    why:
      "The bot's runtime config (ConfigMap) and its token-less identity (ServiceAccount): watched (label-selected) " +
      "to repair drift, written by server-side apply (patch; create when the object does not exist yet). get: only " +
      "when a create finds an object of that name outside the cache, to leave it alone unless the bot controls it.",
  },
  {
    apiGroups: ["networking.k8s.io"],
    resources: ["networkpolicies"],
    verbs: ["list", "watch", "create", "patch", "get"],
    why:
      "The bot's NetworkPolicy (ingress only from the operator and monitoring; egress only DNS, exchange and " +
      "database, none while halted): watched (label-selected) and written by server-side apply. get: as for " +
      "ConfigMaps, to tell the bot's own policy from someone else's of the same name.",
  },
  {
    apiGroups: [""],
    resources: ["secrets"],
    verbs: ["get", "list", "watch"],
    why:
      "list+watch: metadata only (PartialObjectMetadata), to notice a referenced Secret appear, change (rotation " +
      "restarts the bot) or disappear; RBAC cannot narrow a watch to Secrets whose names are only known from the " +
      "bots' specs, and polling with get would miss rotations for a while. get: only Secrets a bot references, " +
      "once per new version, to check the required keys and read the database port.",
  },
  {
    apiGroups: ["rbac.authorization.k8s.io"],
    resources: ["roles", "rolebindings"],
    verbs: ["create", "get"],
    why:
      "The bot's halt watch: a Role with get, list and watch on its own TradingBot, bound to the bot's " +
      "ServiceAccount, created before its pod (owned by the bot, so garbage collection removes them). get: " +
      "when a create finds one of that name, to leave it alone unless the bot controls it. Never updated.",
  },
  {
    apiGroups: ["events.k8s.io"],
    resources: ["events"],
    verbs: ["create"],
    why: "Record halts, resumes, refused acknowledgements, missing credentials and forced deletions as Events.",
  },
];

/** Cluster-scoped kinds: always a ClusterRole, whichever namespaces the operator runs bots in. */
export const CLUSTER_RULES: PolicyRule[] = [
  {
    apiGroups: [GROUP],
    resources: [KILL_SWITCH.plural],
    verbs: ["list", "watch"],
    why: "Watch KillSwitches (cluster-scoped): an engaged one halts every bot it selects.",
  },
  {
    apiGroups: [GROUP],
    resources: [`${KILL_SWITCH.plural}/status`],
    verbs: ["patch"],
    why: "Report how many bots a KillSwitch selects and how many of them are halted.",
  },
  {
    apiGroups: ["rbac.authorization.k8s.io"],
    resources: ["clusterrolebindings"],
    verbs: ["create", "get", "delete"],
    why:
      "The bot's halt watch lists KillSwitches (cluster-scoped) through a ClusterRoleBinding of the bot's " +
      "ServiceAccount to the halt-watch ClusterRole; no owner reference can tie it to the bot, so the operator " +
      "deletes it before it lets a deleted bot go. get: to check a binding of that name is the bot's.",
  },
  {
    apiGroups: [GROUP],
    resources: [TRADING_POLICY.plural],
    verbs: ["list", "watch"],
    why: "Watch TradingPolicies (cluster-scoped): a bot that breaks one does not run.",
  },
];

/** In the operator's namespace only: the leader-election Lease. */
export const LEADER_ELECTION_RULES: PolicyRule[] = [
  {
    apiGroups: ["coordination.k8s.io"],
    resources: ["leases"],
    verbs: ["create"],
    why: "Create the leader Lease the first time (RBAC cannot restrict create to a name).",
  },
  {
    apiGroups: ["coordination.k8s.io"],
    resources: ["leases"],
    verbs: ["get", "update"],
    resourceNames: [LEADER_LEASE_NAME],
    why: "Read, take and renew the leader Lease, and only that Lease.",
  },
];
