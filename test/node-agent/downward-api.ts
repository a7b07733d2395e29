import type { V1Pod } from "@kubernetes/client-node";

// Values of the downward API's fieldRef paths, for env vars and downwardAPI volume files.

export interface PodAddresses {
  podIP: string;
  hostIP: string;
}

/** `key="value"` lines sorted by key: how the kubelet writes labels and annotations into a file. */
export function formatMap(map: Readonly<Record<string, string>> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((key) => `${key}=${JSON.stringify(map?.[key] ?? "")}`)
    .join("\n");
}

const SUBSCRIPT = /^metadata\.(labels|annotations)\['([^']*)'\]$/;

/**
 * The value of `fieldPath` for `pod`. Env vars accept every path below; downwardAPI volumes only the
 * metadata ones (`volume: true`). Throws with the accepted paths for anything else.
 */
export function fieldRefValue(
  pod: V1Pod,
  fieldPath: string,
  addresses: PodAddresses,
  options: { volume: boolean },
): string {
  const metadata = pod.metadata ?? {};
  const subscript = SUBSCRIPT.exec(fieldPath);
  if (subscript) {
    const map = subscript[1] === "labels" ? metadata.labels : metadata.annotations;
    return map?.[subscript[2] ?? ""] ?? "";
  }
  const metadataFields: Record<string, () => string> = {
    "metadata.name": () => metadata.name ?? "",
    "metadata.namespace": () => metadata.namespace ?? "",
    "metadata.uid": () => metadata.uid ?? "",
    "metadata.labels": () => formatMap(metadata.labels),
    "metadata.annotations": () => formatMap(metadata.annotations),
  };
  const envOnlyFields: Record<string, () => string> = {
    "spec.nodeName": () => pod.spec?.nodeName ?? "",
    "spec.serviceAccountName": () => pod.spec?.serviceAccountName ?? "",
    "status.podIP": () => addresses.podIP,
    "status.podIPs": () => addresses.podIP,
    "status.hostIP": () => addresses.hostIP,
    "status.hostIPs": () => addresses.hostIP,
  };
  const fields = options.volume ? metadataFields : { ...metadataFields, ...envOnlyFields };
  // Whole label/annotation maps are only meaningful as files.
  if (!options.volume) {
    delete fields["metadata.labels"];
    delete fields["metadata.annotations"];
  }
  const read = fields[fieldPath];
  if (!read) {
    const accepted = [...Object.keys(fields), "metadata.labels['<key>']", "metadata.annotations['<key>']"];
    throw new Error(
      `fieldRef ${JSON.stringify(fieldPath)} is not supported in ${options.volume ? "a downwardAPI volume" : "an env var"} ` +
        `(supported: ${accepted.join(", ")})`,
    );
  }
  return read();
}
