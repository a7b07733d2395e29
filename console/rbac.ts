import type { AccessObject } from "../api/access/objects.ts";
import { GROUP, KILL_SWITCH, TRADING_BOT } from "../api/v1alpha1/index.ts";

// The console's own identity, and everything it may do as itself: read TradingBots, KillSwitches and
// Events (the shared watch behind the live pages), and impersonate exactly the people and groups it
// serves. Every action and every per-person read is made as the person, so it needs nothing else.
// One source for the chart, the docs and the integration test that runs the console with it.

const RBAC = "rbac.authorization.k8s.io/v1";
const READ = ["get", "list", "watch"];

export interface ConsoleIdentity {
  /** Name of the ClusterRole and its binding. */
  name: string;
  namespace: string;
  serviceAccount: string;
  /** The users of the users file and the OIDC users of --impersonate-users: the only users it may impersonate. */
  users: readonly string[];
  /** --impersonate-groups: the only groups it may impersonate. */
  groups: readonly string[];
}

/** RBAC treats an empty resourceNames as "every name", so an empty list grants no rule at all. */
function impersonate(resource: "users" | "groups", names: readonly string[]) {
  return names.length === 0
    ? []
    : [{ apiGroups: [""], resources: [resource], verbs: ["impersonate"], resourceNames: [...names] }];
}

export function consoleRbac(identity: ConsoleIdentity): AccessObject[] {
  return [
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: identity.serviceAccount, namespace: identity.namespace } as AccessObject["metadata"],
      automountServiceAccountToken: true,
    },
    {
      apiVersion: RBAC,
      kind: "ClusterRole",
      metadata: { name: identity.name },
      rules: [
        { apiGroups: [GROUP], resources: [TRADING_BOT.plural, KILL_SWITCH.plural], verbs: READ },
        { apiGroups: [""], resources: ["events"], verbs: READ },
        { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: READ },
        ...impersonate("users", identity.users),
        ...impersonate("groups", identity.groups),
      ],
    },
    {
      apiVersion: RBAC,
      kind: "ClusterRoleBinding",
      metadata: { name: identity.name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: identity.name },
      subjects: [{ kind: "ServiceAccount", name: identity.serviceAccount, namespace: identity.namespace }],
    },
  ];
}
