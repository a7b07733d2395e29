import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
  type V1Lease,
  type V1Node,
  type V1Pod,
  type V1PodList,
  type V1Secret,
  VersionApi,
} from "@kubernetes/client-node";
// Not re-exported from the package root; needed to turn raw watch events into typed objects.
import { ObjectSerializer } from "@kubernetes/client-node/dist/gen/models/ObjectSerializer.js";

// The API calls the agent makes, and nothing else: a thin edge over the generated clients.

export const isNotFound = (error: unknown) => error instanceof ApiException && error.code === 404;
export const isConflict = (error: unknown) => error instanceof ApiException && error.code === 409;

/** A short description of an API error: status code and the server's message, never a request body. */
export function describeError(error: unknown): string {
  if (error instanceof ApiException) {
    const body = typeof error.body === "string" ? error.body : JSON.stringify(error.body ?? "");
    let message = body;
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      // not JSON: keep the body as it is
    }
    return `HTTP ${error.code}: ${message.slice(0, 300)}`;
  }
  return error instanceof Error ? error.message : String(error);
}

export function podFromWatchEvent(raw: unknown): V1Pod {
  return ObjectSerializer.deserialize(raw, "V1Pod", "") as V1Pod;
}

export class AgentApi {
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  readonly #version: VersionApi;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
    this.#version = kc.makeApiClient(VersionApi);
  }

  async serverVersion(): Promise<string> {
    return (await this.#version.getCode()).gitVersion;
  }

  listPodsOnNode(nodeName: string): Promise<V1PodList> {
    return this.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` });
  }

  readPod(namespace: string, name: string): Promise<V1Pod> {
    return this.core.readNamespacedPod({ namespace, name });
  }

  replacePodStatus(pod: V1Pod): Promise<V1Pod> {
    return this.core.replaceNamespacedPodStatus({
      namespace: pod.metadata?.namespace ?? "",
      name: pod.metadata?.name ?? "",
      body: pod,
    });
  }

  /** Completes a graceful deletion: removes the object now, but only if it is still the pod with `uid`. */
  async finishPodDeletion(namespace: string, name: string, uid: string): Promise<void> {
    try {
      await this.core.deleteNamespacedPod({
        namespace,
        name,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid } },
      });
    } catch (error) {
      // Gone already, or replaced by a pod with another UID: nothing of ours is left to delete.
      if (!isNotFound(error) && !isConflict(error)) throw error;
    }
  }

  async readConfigMap(namespace: string, name: string): Promise<V1ConfigMap | null> {
    try {
      return await this.core.readNamespacedConfigMap({ namespace, name });
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async readSecret(namespace: string, name: string): Promise<V1Secret | null> {
    try {
      return await this.core.readNamespacedSecret({ namespace, name });
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** A token for the pod's ServiceAccount, bound to the pod (TokenRequest), for projected volumes. */
  async serviceAccountToken(
    pod: V1Pod,
    request: { audience?: string; expirationSeconds?: number },
  ): Promise<string> {
    const namespace = pod.metadata?.namespace ?? "";
    const serviceAccount = pod.spec?.serviceAccountName || "default";
    const response = await this.core.createNamespacedServiceAccountToken({
      namespace,
      name: serviceAccount,
      body: {
        spec: {
          audiences: request.audience ? [request.audience] : [],
          expirationSeconds: request.expirationSeconds ?? 3600,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata?.name, uid: pod.metadata?.uid },
        },
      },
    });
    const token = response.status?.token;
    if (!token)
      throw new Error(`TokenRequest for ServiceAccount ${namespace}/${serviceAccount} returned no token`);
    return token;
  }

  async readNode(name: string): Promise<V1Node | null> {
    try {
      return await this.core.readNode({ name });
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  createNode(node: V1Node): Promise<V1Node> {
    return this.core.createNode({ body: node });
  }

  replaceNode(node: V1Node): Promise<V1Node> {
    return this.core.replaceNode({ name: node.metadata?.name ?? "", body: node });
  }

  /** Strategic merge patch of nodes/status (conditions merge by type). */
  patchNodeStatus(name: string, status: NonNullable<V1Node["status"]>): Promise<V1Node> {
    return this.core.patchNodeStatus(
      { name, body: { status } },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
  }

  async deleteNode(name: string): Promise<void> {
    try {
      await this.core.deleteNode({ name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async readLease(name: string): Promise<V1Lease | null> {
    try {
      return await this.coordination.readNamespacedLease({ namespace: "kube-node-lease", name });
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  createLease(lease: V1Lease): Promise<V1Lease> {
    return this.coordination.createNamespacedLease({ namespace: "kube-node-lease", body: lease });
  }

  replaceLease(lease: V1Lease): Promise<V1Lease> {
    return this.coordination.replaceNamespacedLease({
      namespace: "kube-node-lease",
      name: lease.metadata?.name ?? "",
      body: lease,
    });
  }
}
