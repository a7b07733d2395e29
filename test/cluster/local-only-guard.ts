import { type ClusterContext, clusterContext } from "../support/context.ts";

/**
 * The local control plane's context, for `*.local-only.test.ts` files. Those files are meant to be excluded
 * when USE_EXISTING_CLUSTER=true; if one runs anyway, it fails here saying why instead of passing vacuously.
 */
export function localControlPlane(what: string): Required<ClusterContext> {
  const cluster = clusterContext();
  if (cluster.kind !== "local" || !cluster.etcd || !cluster.auditLogPath) {
    throw new Error(
      `${what} can only be checked on the local control plane (it needs its etcd and audit log); ` +
        "exclude *.local-only.test.ts when running with USE_EXISTING_CLUSTER=true",
    );
  }
  return cluster as Required<ClusterContext>;
}
