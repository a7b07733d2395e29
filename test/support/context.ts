import { inject } from "vitest";
import type { EtcdConnection } from "../cluster/control-plane.ts";
import type { PostgresEndpoint } from "../postgres/connection-string.ts";

/** The cluster the integration suites run against, as test/global-setup.ts provides it. */
export interface ClusterContext {
  /** `local`: the control plane of test/cluster, started for this run. `existing`: USE_EXISTING_CLUSTER. */
  kind: "local" | "existing";
  /** Admin kubeconfig. */
  kubeconfigPath: string;
  server: string;
  /** Names of the KWOK-managed Nodes (none on an existing cluster). */
  fakeNodes: string[];
  /** Direct etcd access: only the local control plane has it. */
  etcd?: EtcdConnection;
  /** The API server's audit log (writes only): only the local control plane has it. */
  auditLogPath?: string;
  kubectlPath: string;
  helmPath: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    cluster: ClusterContext;
    postgres: PostgresEndpoint;
  }
}

export const clusterContext = (): ClusterContext => inject("cluster");
export const postgresContext = (): PostgresEndpoint => inject("postgres");
