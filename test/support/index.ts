// Helpers for the integration suites: what the global setup provides, Kubernetes clients and namespaces,
// ServiceAccount credentials, kubectl, test databases and polling.
export { type ClusterContext, clusterContext, postgresContext } from "./context.ts";
export {
  adminKubeConfig,
  createTestNamespace,
  type ServiceAccountCredentials,
  serviceAccountKubeconfig,
  type TestNamespace,
} from "./kube.ts";
export { type KubectlResult, kubectl } from "./kubectl.ts";
export { createTestDatabase, type TestDatabase } from "./postgres.ts";
export { type WaitOptions, waitFor } from "./wait-for.ts";
