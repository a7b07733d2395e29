import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { tokenKubeconfig } from "../cluster/config-files.ts";
import { clusterContext } from "./context.ts";
import { waitFor } from "./wait-for.ts";

/** A KubeConfig for the admin of the cluster the suites run against. */
export function adminKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(clusterContext().kubeconfigPath);
  return kc;
}

export interface TestNamespace {
  name: string;
  /** Deletes the namespace (and so everything in it); does not wait for the deletion to finish. */
  cleanup(): Promise<void>;
}

/**
 * Creates a namespace named `<prefix>-<random>` and waits until its `default` ServiceAccount exists (pods
 * cannot be created before that).
 */
export async function createTestNamespace(
  kc: KubeConfig,
  prefix: string,
  labels: Record<string, string> = {},
): Promise<TestNamespace> {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`;
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) {
    throw new Error(`namespace name ${name} (from prefix ${JSON.stringify(prefix)}) is not a DNS-1123 label`);
  }
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name, labels } } });
  await waitFor(
    () => core.readNamespacedServiceAccount({ name: "default", namespace: name }).then(() => true),
    {
      what: `ServiceAccount default in namespace ${name}`,
    },
  );
  return {
    name,
    async cleanup() {
      await core.deleteNamespace({ name });
    },
  };
}

export interface ServiceAccountCredentials {
  kubeConfig: KubeConfig;
  token: string;
  /** The kubeconfig as YAML, e.g. to hand to a process (`--kubeconfig`). */
  kubeconfigYaml: string;
  /** Set when `writeTo` was given. */
  kubeconfigPath?: string;
}

/**
 * Credentials that authenticate as ServiceAccount `namespace/serviceAccountName`, from a bound token issued by
 * the TokenRequest API: requests made with them get exactly that ServiceAccount's RBAC permissions.
 */
export async function serviceAccountKubeconfig(
  adminKc: KubeConfig,
  namespace: string,
  serviceAccountName: string,
  options: { writeTo?: string; expirationSeconds?: number } = {},
): Promise<ServiceAccountCredentials> {
  const core = adminKc.makeApiClient(CoreV1Api);
  const tokenRequest = await core.createNamespacedServiceAccountToken({
    name: serviceAccountName,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: options.expirationSeconds ?? 3600 } },
  });
  const token = tokenRequest.status?.token;
  if (!token)
    throw new Error(`TokenRequest for ServiceAccount ${namespace}/${serviceAccountName} returned no token`);
  const cluster = adminKc.getCurrentCluster();
  if (!cluster) throw new Error("the admin kubeconfig has no current cluster");
  const caPem = cluster.caData
    ? Buffer.from(cluster.caData, "base64").toString("utf8")
    : caFromFile(cluster.caFile);
  const user = `system:serviceaccount:${namespace}:${serviceAccountName}`;
  const kubeconfigYaml = tokenKubeconfig(cluster.server, caPem, user, token);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(kubeconfigYaml);
  if (options.writeTo) writeFileSync(options.writeTo, kubeconfigYaml, { mode: 0o600 });
  return { kubeConfig, token, kubeconfigYaml, kubeconfigPath: options.writeTo };
}

function caFromFile(caFile: string | undefined): string {
  if (!caFile) throw new Error("the admin kubeconfig's cluster has no certificate-authority(-data) to trust");
  return readFileSync(caFile, "utf8");
}
