/** Where a kind lives in the API: enough to build its URLs. */
export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

/** The built-in kinds the operator reads or writes. */
export const CORE_RESOURCES = {
  pods: { group: "", version: "v1", kind: "Pod", plural: "pods", namespaced: true },
  configMaps: { group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true },
  serviceAccounts: {
    group: "",
    version: "v1",
    kind: "ServiceAccount",
    plural: "serviceaccounts",
    namespaced: true,
  },
  secrets: { group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true },
  networkPolicies: {
    group: "networking.k8s.io",
    version: "v1",
    kind: "NetworkPolicy",
    plural: "networkpolicies",
    namespaced: true,
  },
  roles: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "Role",
    plural: "roles",
    namespaced: true,
  },
  roleBindings: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "RoleBinding",
    plural: "rolebindings",
    namespaced: true,
  },
  clusterRoleBindings: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "ClusterRoleBinding",
    plural: "clusterrolebindings",
    namespaced: false,
  },
  leases: { group: "coordination.k8s.io", version: "v1", kind: "Lease", plural: "leases", namespaced: true },
  events: { group: "events.k8s.io", version: "v1", kind: "Event", plural: "events", namespaced: true },
} as const satisfies Record<string, ResourceType>;

export function apiVersionOf(type: ResourceType): string {
  return type.group === "" ? type.version : `${type.group}/${type.version}`;
}

/**
 * The URL path of a collection (no name) or of one object; `namespace` undefined on a namespaced type
 * means "across all namespaces".
 */
export function resourcePath(
  type: ResourceType,
  target: { namespace?: string; name?: string; subresource?: string } = {},
): string {
  const base = type.group === "" ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  const ns = type.namespaced && target.namespace ? `/namespaces/${encodeURIComponent(target.namespace)}` : "";
  const name = target.name ? `/${encodeURIComponent(target.name)}` : "";
  const sub = target.name && target.subresource ? `/${target.subresource}` : "";
  return `${base}${ns}/${type.plural}${name}${sub}`;
}
