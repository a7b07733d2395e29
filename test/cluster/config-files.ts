import { dump } from "js-yaml";

// Pure builders of the configuration files the control-plane components read.

const base64 = (text: string) => Buffer.from(text).toString("base64");

export interface ClientCredentials {
  /** Name of the user entry and context, e.g. "admin" or "system:kube-scheduler". */
  user: string;
  certPem: string;
  keyPem: string;
}

/** A self-contained kubeconfig (certificates embedded) for one client-certificate user. */
export function clientCertKubeconfig(server: string, caPem: string, credentials: ClientCredentials): string {
  return kubeconfigYaml(server, caPem, credentials.user, {
    "client-certificate-data": base64(credentials.certPem),
    "client-key-data": base64(credentials.keyPem),
  });
}

/** A self-contained kubeconfig for a bearer token (ServiceAccount tokens). */
export function tokenKubeconfig(server: string, caPem: string, user: string, token: string): string {
  return kubeconfigYaml(server, caPem, user, { token });
}

function kubeconfigYaml(server: string, caPem: string, user: string, auth: Record<string, string>): string {
  const cluster = "tradingbot-local";
  return dump({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: cluster, cluster: { server, "certificate-authority-data": base64(caPem) } }],
    users: [{ name: user, user: auth }],
    contexts: [{ name: `${user}@${cluster}`, context: { cluster, user } }],
    "current-context": `${user}@${cluster}`,
  });
}

/** Secrets (and only Secrets) are encrypted at rest with secretbox (XSalsa20-Poly1305) and `key` (32 bytes). */
export function encryptionConfig(key: Buffer): string {
  if (key.length !== 32) throw new Error(`secretbox needs a 32-byte key, got ${key.length} bytes`);
  return dump({
    apiVersion: "apiserver.config.k8s.io/v1",
    kind: "EncryptionConfiguration",
    resources: [
      {
        resources: ["secrets"],
        providers: [
          { secretbox: { keys: [{ name: "key1", secret: key.toString("base64") }] } },
          { identity: {} },
        ],
      },
    ],
  });
}

/**
 * The audit policy: one Metadata event (who, what, when; no bodies) per write on any resource, nothing for
 * reads and watches, so benchmarks can count API writes per user.
 */
export function auditPolicy(): string {
  return dump({
    apiVersion: "audit.k8s.io/v1",
    kind: "Policy",
    omitStages: ["RequestReceived"],
    rules: [
      { level: "Metadata", verbs: ["create", "update", "patch", "delete", "deletecollection"] },
      { level: "None" },
    ],
  });
}

/** kube-scheduler's configuration: single instance (no leader election), client rate limits sized for bursts of pods. */
export function schedulerConfig(kubeconfigPath: string): string {
  return dump({
    apiVersion: "kubescheduler.config.k8s.io/v1",
    kind: "KubeSchedulerConfiguration",
    clientConnection: { kubeconfig: kubeconfigPath, qps: 200, burst: 400 },
    leaderElection: { leaderElect: false },
  });
}

export interface FakeNode {
  name: string;
  internalIP: string;
}

/** KWOK manages exactly the Nodes carrying this annotation; a real node agent's Node never has it. */
export const kwokNodeAnnotation = { key: "kwok.x-k8s.io/node", value: "fake" } as const;

/** A Node object for KWOK to manage, big enough for thousands of pods. */
export function fakeNodeManifest(node: FakeNode): Record<string, unknown> {
  const resources = { cpu: "64", memory: "256Gi", "ephemeral-storage": "1Ti", pods: "3000" };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: node.name,
      annotations: {
        [kwokNodeAnnotation.key]: kwokNodeAnnotation.value,
        "node.alpha.kubernetes.io/ttl": "0",
      },
      labels: {
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        type: "kwok",
      },
    },
    status: {
      capacity: resources,
      allocatable: resources,
      addresses: [
        { type: "InternalIP", address: node.internalIP },
        { type: "Hostname", address: node.name },
      ],
    },
  };
}
