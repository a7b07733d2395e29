import type { KubeObject } from "./types.ts";

/** The cache key of an object: `namespace/name`, or `name` for a cluster-scoped kind. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  return slash < 0
    ? { namespace: "", name: key }
    : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/**
 * Whether resourceVersion `a` is newer than `b`. Kubernetes resource versions are comparable integers
 * (KEP-5504); anything else is treated as newer, so an unknown format never freezes the cache.
 */
export function isNewerVersion(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return true;
  if (!/^[0-9]+$/.test(a) || !/^[0-9]+$/.test(b)) return a !== b;
  if (a.length !== b.length) return a.length > b.length;
  return a > b;
}

export interface CacheChange<T> {
  previous: T | undefined;
  current: T | undefined;
}

type IndexFunction<T> = (object: T) => string[];

export interface CacheHandlers<T> {
  onAdd?: (object: T) => void;
  onUpdate?: (previous: T, current: T) => void;
  onDelete?: (object: T) => void;
}

const TOMBSTONE_TTL_MS = 10 * 60_000;

/**
 * Objects of one kind keyed by namespace/name, with secondary indexes. Watch events and the responses
 * of the operator's own writes both land here, and both notify the handlers (a write's response may
 * carry changes made by others since the operator last looked). An update older than what is cached
 * (or than a recorded deletion) is ignored, so a late event never rolls the cache back past a write.
 */
export class ObjectCache<T extends KubeObject> {
  readonly #items = new Map<string, T>();
  readonly #indexFunctions = new Map<string, IndexFunction<T>>();
  readonly #indexes = new Map<string, Map<string, Set<string>>>();
  readonly #tombstones = new Map<string, { version: string | undefined; at: number }>();
  readonly #handlers: CacheHandlers<T>[] = [];
  readonly #transform: ((object: T) => T) | undefined;

  /** `transform` trims what is kept in memory (managedFields, ...), for watched and written objects alike. */
  constructor(transform?: (object: T) => T) {
    this.#transform = transform;
  }

  static keyOf(object: KubeObject): string {
    return objectKey(object.metadata.namespace, object.metadata.name);
  }

  subscribe(handlers: CacheHandlers<T>) {
    this.#handlers.push(handlers);
  }

  #notify(change: CacheChange<T>) {
    const { previous, current } = change;
    for (const handlers of this.#handlers) {
      if (previous && current) handlers.onUpdate?.(previous, current);
      else if (current) handlers.onAdd?.(current);
      else if (previous) handlers.onDelete?.(previous);
    }
  }

  addIndex(name: string, indexFunction: IndexFunction<T>) {
    this.#indexFunctions.set(name, indexFunction);
    const index = new Map<string, Set<string>>();
    this.#indexes.set(name, index);
    for (const [key, object] of this.#items) this.#indexObject(name, key, object, index);
  }

  get size() {
    return this.#items.size;
  }

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  values(): IterableIterator<T> {
    return this.#items.values();
  }

  keys(): IterableIterator<string> {
    return this.#items.keys();
  }

  /** Keys of the objects whose index function returned `value`. */
  byIndex(name: string, value: string): string[] {
    const index = this.#indexes.get(name);
    if (!index) throw new Error(`no index named ${name}`);
    return [...(index.get(value) ?? [])];
  }

  /** Stores `object` unless the cache already holds the same or a newer version. */
  upsert(incoming: T): CacheChange<T> | undefined {
    const object = this.#transform ? this.#transform(incoming) : incoming;
    const key = ObjectCache.keyOf(object);
    const version = object.metadata.resourceVersion;
    const previous = this.#items.get(key);
    if (previous && !isNewerVersion(version, previous.metadata.resourceVersion)) return undefined;
    const tombstone = this.#tombstones.get(key);
    if (tombstone) {
      if (!isNewerVersion(version, tombstone.version)) return undefined;
      this.#tombstones.delete(key);
    }
    if (previous) this.#unindex(key, previous);
    this.#items.set(key, object);
    this.#index(key, object);
    const change = { previous, current: object };
    this.#notify(change);
    return change;
  }

  /** Forgets the object; `version` is the deletion's resourceVersion, if known. */
  remove(key: string, version?: string): CacheChange<T> | undefined {
    this.#pruneTombstones();
    this.#tombstones.set(key, { version, at: Date.now() });
    const previous = this.#items.get(key);
    if (!previous) return undefined;
    this.#unindex(key, previous);
    this.#items.delete(key);
    const change = { previous, current: undefined };
    this.#notify(change);
    return change;
  }

  /**
   * Makes the part of the cache `inScope` selects equal to a fresh list taken at `listVersion`.
   * Objects written after the list began (newer than it) are kept.
   */
  replace(objects: T[], listVersion: string | undefined, inScope: (object: T) => boolean): CacheChange<T>[] {
    const changes: CacheChange<T>[] = [];
    const listed = new Set<string>();
    for (const object of objects) {
      listed.add(ObjectCache.keyOf(object));
      const change = this.upsert(object);
      if (change) changes.push(change);
    }
    for (const [key, object] of [...this.#items]) {
      if (listed.has(key) || !inScope(object)) continue;
      if (listVersion !== undefined && isNewerVersion(object.metadata.resourceVersion, listVersion)) continue;
      const change = this.remove(key, listVersion);
      if (change) changes.push(change);
    }
    return changes;
  }

  #index(key: string, object: T) {
    for (const [name, index] of this.#indexes) this.#indexObject(name, key, object, index);
  }

  #indexObject(name: string, key: string, object: T, index: Map<string, Set<string>>) {
    const indexFunction = this.#indexFunctions.get(name);
    if (!indexFunction) return;
    for (const value of indexFunction(object)) {
      let keys = index.get(value);
      if (!keys) {
        keys = new Set();
        index.set(value, keys);
      }
      keys.add(key);
    }
  }

  #unindex(key: string, object: T) {
    for (const [name, index] of this.#indexes) {
      const indexFunction = this.#indexFunctions.get(name);
      if (!indexFunction) continue;
      for (const value of indexFunction(object)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }

  #pruneTombstones() {
    if (this.#tombstones.size < 1024) return;
    const cutoff = Date.now() - TOMBSTONE_TTL_MS;
    for (const [key, tombstone] of this.#tombstones) {
      if (tombstone.at < cutoff) this.#tombstones.delete(key);
    }
  }
}
