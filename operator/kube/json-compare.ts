// Comparisons of JSON objects, to decide whether a write is needed at all.

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isEmpty(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    (Array.isArray(value) && value.length === 0) ||
    (isObject(value) && Object.keys(value).length === 0)
  );
}

/** Structural equality, ignoring key order and keys whose value is undefined. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const leftKeys = Object.keys(left).filter((k) => left[k] !== undefined);
  const rightKeys = Object.keys(right).filter((k) => right[k] !== undefined);
  if (leftKeys.length !== rightKeys.length) return false;
  return leftKeys.every((k) => deepEqual(left[k], right[k]));
}

/**
 * Whether `actual` already holds every field of `desired` — the fields a server-side apply of `desired`
 * would own. Maps may have more keys (other managers' labels, server defaults); lists must match item
 * for item (an apply replaces them), with each item holding its desired fields; an empty list or map
 * equals an absent one, as the API server drops them. `metadata.ownerReferences` is matched by uid,
 * since others may add owners of their own.
 */
export function holdsDesiredFields(desired: unknown, actual: unknown, path = ""): boolean {
  if (isEmpty(desired)) return isEmpty(actual) || !Array.isArray(desired);
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual)) return false;
    if (path === ".metadata.ownerReferences") {
      return desired.every((owner) =>
        actual.some(
          (candidate) =>
            (candidate as { uid?: unknown }).uid === (owner as { uid?: unknown }).uid &&
            holdsDesiredFields(owner, candidate),
        ),
      );
    }
    return (
      desired.length === actual.length &&
      desired.every((item, i) => holdsDesiredFields(item, actual[i], `${path}[]`))
    );
  }
  if (isObject(desired)) {
    if (!isObject(actual)) return false;
    return Object.entries(desired).every(([key, value]) =>
      holdsDesiredFields(value, actual[key], `${path}.${key}`),
    );
  }
  return desired === actual;
}
