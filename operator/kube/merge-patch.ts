function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The JSON merge patch (RFC 7386) that turns `from` into `to`: changed keys set, removed keys null,
 * nested objects patched key by key, lists and scalars replaced whole.
 */
export function createMergePatch(from: unknown, to: unknown): unknown {
  if (!isObject(from) || !isObject(to)) return to;
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(from)) {
    if (from[key] !== undefined && to[key] === undefined) patch[key] = null;
  }
  for (const [key, value] of Object.entries(to)) {
    if (value === undefined) continue;
    const previous = from[key];
    if (isObject(previous) && isObject(value)) {
      const nested = createMergePatch(previous, value) as Record<string, unknown>;
      if (Object.keys(nested).length > 0) patch[key] = nested;
    } else if (JSON.stringify(previous) !== JSON.stringify(value)) {
      patch[key] = value;
    }
  }
  return patch;
}
