// Times as Kubernetes writes them.

/** RFC 3339 with second precision, as metav1.Time. */
export function timestampOf(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z");
}

/** RFC 3339 with microsecond precision, as metav1.MicroTime (Lease and Event times). */
export function microTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000Z`;
}
