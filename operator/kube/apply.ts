import type { Logger } from "pino";
import { isAlreadyExists, isNotFound, type KubeApi } from "./client.ts";
import { deepEqual, holdsDesiredFields } from "./json-compare.ts";
import { createMergePatch } from "./merge-patch.ts";
import { ObjectCache } from "./object-cache.ts";
import { CORE_RESOURCES, type ResourceType } from "./resources.ts";
import type { KubeObject, Pod } from "./types.ts";

// The writes. Each one first compares with the cache and makes no request when the API already holds
// the desired state; each response goes back into the cache, so the next decision sees the write. An
// owned object is only ever written over an object its owner already controls: whoever may create the
// owner must not be able to take over, through the operator, an object of that name they do not own.

/** The object the operator was to write exists and is controlled by someone else: it was left alone. */
export class NotOwnedError extends Error {
  readonly kind: string;
  readonly namespace: string;
  readonly objectName: string;

  constructor(kind: string, namespace: string, name: string) {
    super(`a ${kind} named ${namespace}/${name} exists and is not controlled by its owner-to-be`);
    this.name = "NotOwnedError";
    this.kind = kind;
    this.namespace = namespace;
    this.objectName = name;
  }
}

/** The uid of the object's controlling owner, if it has one. */
export function controllerUid(object: KubeObject): string | undefined {
  return object.metadata.ownerReferences?.find((owner) => owner.controller)?.uid;
}

function refuseUnlessControlled(type: ResourceType, desired: KubeObject, existing: KubeObject) {
  if (controllerUid(existing) === undefined || controllerUid(existing) !== controllerUid(desired)) {
    throw new NotOwnedError(type.kind, desired.metadata.namespace ?? "", desired.metadata.name);
  }
}

/**
 * An owned object as desired: nothing when the cached object already holds every desired field; a
 * plain create when there is none (half the API server's work of an apply, which matters when a fleet
 * arrives); otherwise server-side apply, which takes the fields back from whoever changed them. The
 * desired object always names every field the operator owns (empty lists included), so an apply never
 * has to remove a field the create set. An object of that name controlled by anyone but the desired
 * object's controller is never written: NotOwnedError.
 */
export async function applyOwnedObject<T extends KubeObject>(
  api: KubeApi,
  type: ResourceType,
  cache: ObjectCache<T>,
  desired: T,
  logger: Logger,
): Promise<T> {
  const cached = cache.get(ObjectCache.keyOf(desired));
  if (cached) refuseUnlessControlled(type, desired, cached);
  if (cached && holdsDesiredFields(desired, cached)) return cached;
  if (!cached) {
    try {
      const created = await api.create(type, desired);
      cache.upsert(created);
      return created;
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    // There is one outside the cache: ours with its labels edited away (applied over), or someone else's.
    const existing = await api.get<T>(type, desired.metadata.namespace, desired.metadata.name);
    refuseUnlessControlled(type, desired, existing);
  }
  const applied = await api.apply(type, desired);
  cache.upsert(applied);
  if (!holdsDesiredFields(desired, applied)) {
    // The comparison and the server disagree: every resync would write again. Worth a loud log.
    logger.warn(
      { kind: type.kind, object: ObjectCache.keyOf(desired) },
      "applied object still differs from the desired state",
    );
  }
  return applied;
}

/** Writes an object's status (merge patch on the status subresource) when it changed. */
export async function writeStatus<S extends object, T extends KubeObject & { status?: S }>(
  api: KubeApi,
  type: ResourceType,
  cache: ObjectCache<T>,
  object: T,
  next: S,
): Promise<T> {
  const current = object.status ?? {};
  if (deepEqual(current, next)) return object;
  const updated = await api.mergePatch<T>(
    type,
    object.metadata.namespace,
    object.metadata.name,
    { status: createMergePatch(current, next) },
    "status",
  );
  cache.upsert(updated);
  return updated;
}

export async function createPod(api: KubeApi, cache: ObjectCache<Pod>, pod: Pod): Promise<Pod> {
  const created = await api.create(CORE_RESOURCES.pods, pod);
  cache.upsert(created);
  return created;
}

/**
 * Deletes this incarnation of the pod (uid precondition), with its own grace period unless one is
 * given; `urgent` skips the client's rate limit (a stop of trading waits for nothing). Resolves to the
 * pod as it is afterwards: terminating, or undefined once gone.
 */
export async function deletePod(
  api: KubeApi,
  cache: ObjectCache<Pod>,
  pod: Pod,
  options: { gracePeriodSeconds?: number; urgent?: boolean } = {},
): Promise<Pod | undefined> {
  const key = ObjectCache.keyOf(pod);
  try {
    const result = await api.delete<Pod | { kind?: string }>(
      CORE_RESOURCES.pods,
      pod.metadata.namespace,
      pod.metadata.name,
      { uid: pod.metadata.uid, gracePeriodSeconds: options.gracePeriodSeconds, urgent: options.urgent },
    );
    const after = result as Pod;
    if (after.kind === "Pod" && after.metadata?.deletionTimestamp) {
      cache.upsert(after);
      return cache.get(key);
    }
    cache.remove(key, after.metadata?.resourceVersion);
    return undefined;
  } catch (error) {
    if (isNotFound(error)) {
      cache.remove(key);
      return undefined;
    }
    throw error;
  }
}
