import type { KubeObject, ObjectMeta, Pod } from "./types.ts";

// What the caches keep of each object: what the operator reads, nothing more. At a thousand bots the
// difference is most of the operator's memory (a full Pod is ~8 KB of JSON; what is read of it, ~1 KB).

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

function trimmedMetadata(metadata: ObjectMeta): ObjectMeta {
  const { managedFields: _managed, ...rest } = metadata;
  if (rest.annotations && LAST_APPLIED in rest.annotations) {
    const { [LAST_APPLIED]: _lastApplied, ...annotations } = rest.annotations;
    rest.annotations = annotations;
  }
  return rest;
}

/** Any object without managedFields and kubectl's copy of the last applied object. */
export function trimObject<T extends KubeObject>(object: T): T {
  return { ...object, metadata: trimmedMetadata(object.metadata) };
}

/** A bot pod as the operator reads it: identity, its image and grace period, and its status. */
export function trimPod(pod: Pod): Pod {
  const spec = pod.spec as
    | { containers?: { name: string; image?: string }[]; terminationGracePeriodSeconds?: number }
    | undefined;
  const status = pod.status;
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata: trimmedMetadata(pod.metadata),
    spec: {
      containers: (spec?.containers ?? []).map(({ name, image }) => ({ name, image })),
      terminationGracePeriodSeconds: spec?.terminationGracePeriodSeconds,
    },
    status: status && {
      phase: status.phase,
      podIP: status.podIP,
      reason: status.reason,
      message: status.message,
      conditions: status.conditions?.map(({ type, status: value }) => ({ type, status: value })),
      containerStatuses: status.containerStatuses?.map(({ name, ready, state }) => ({ name, ready, state })),
      initContainerStatuses: status.initContainerStatuses?.map(({ name, ready, state }) => ({
        name,
        ready,
        state,
      })),
    },
  };
}

/**
 * A Secret as the operator keeps it: identity, version, creation time and the named labels only. Even
 * metadata can carry values (a kubectl-applied Secret repeats its data in the last-applied-configuration
 * annotation), so all else goes.
 */
export function secretTrimmer(labelsToKeep: readonly string[]): (object: KubeObject) => KubeObject {
  return (object) => {
    const { name, namespace, uid, resourceVersion, creationTimestamp, labels } = object.metadata;
    const kept = Object.fromEntries(
      labelsToKeep.filter((key) => labels?.[key] !== undefined).map((key) => [key, labels?.[key] as string]),
    );
    return { metadata: { name, namespace, uid, resourceVersion, creationTimestamp, labels: kept } };
  };
}
