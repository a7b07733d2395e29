import { posix } from "node:path";
import type { V1DownwardAPIVolumeFile, V1KeyToPath, V1Pod, V1Volume } from "@kubernetes/client-node";
import {
  ContainerConfigError,
  configMapValues,
  type ReferencedObjects,
  secretValues,
} from "./container-env.ts";
import { fieldRefValue, type PodAddresses } from "./downward-api.ts";

// What each pod volume must contain, decided from the pod and the objects it refers to; the pod worker
// writes the result to disk.

export interface PlannedFile {
  /** Relative to the volume folder. */
  path: string;
  content: Buffer;
  mode: number;
}

export interface PlannedVolume {
  name: string;
  /** emptyDir: a writable folder; the others are written once and read-only. */
  writable: boolean;
  files: PlannedFile[];
}

/** The API server's default for configMap, secret, downwardAPI and projected volumes (0644). */
const DEFAULT_FILE_MODE = 0o644;
/** Used only when a Secret volume carries no defaultMode at all (objects that bypassed defaulting). */
const DEFAULT_SECRET_MODE = 0o400;

/** A serviceAccountToken projection the worker fetched (TokenRequest) before planning, by `path`. */
export type ProjectedTokens = ReadonlyMap<string, string>;

function checkedFilePath(path: string, where: string): string {
  const normalized = posix.normalize(path);
  if (!path || posix.isAbsolute(normalized) || normalized === ".." || normalized.startsWith("../")) {
    throw new ContainerConfigError(
      `${where}: path ${JSON.stringify(path)} must be relative and stay inside the volume`,
    );
  }
  return normalized;
}

function keyFiles(input: {
  where: string;
  values: Map<string, Buffer> | undefined;
  items: V1KeyToPath[] | undefined;
  optional: boolean;
  mode: number;
}): PlannedFile[] {
  const { where, values, items, optional, mode } = input;
  if (values === undefined) {
    if (optional) return [];
    throw new ContainerConfigError(`${where} not found`);
  }
  if (!items || items.length === 0) {
    return [...values].map(([key, content]) => ({ path: checkedFilePath(key, where), content, mode }));
  }
  const files: PlannedFile[] = [];
  for (const item of items) {
    const content = values.get(item.key);
    if (content === undefined) {
      if (optional) continue;
      throw new ContainerConfigError(`${where} has no key ${JSON.stringify(item.key)}`);
    }
    files.push({ path: checkedFilePath(item.path, where), content, mode: item.mode ?? mode });
  }
  return files;
}

function downwardFiles(
  pod: V1Pod,
  items: V1DownwardAPIVolumeFile[] | undefined,
  addresses: PodAddresses,
  mode: number,
  where: string,
): PlannedFile[] {
  return (items ?? []).map((item) => {
    if (!item.fieldRef) {
      throw new ContainerConfigError(`${where} item ${item.path}: only fieldRef items are supported`);
    }
    let value: string;
    try {
      value = fieldRefValue(pod, item.fieldRef.fieldPath, addresses, { volume: true });
    } catch (error) {
      throw new ContainerConfigError(`${where} item ${item.path}: ${(error as Error).message}`);
    }
    return { path: checkedFilePath(item.path, where), content: Buffer.from(value), mode: item.mode ?? mode };
  });
}

function planVolume(
  pod: V1Pod,
  volume: V1Volume,
  objects: ReferencedObjects,
  addresses: PodAddresses,
  tokens: ProjectedTokens,
): PlannedVolume {
  const where = `volume ${volume.name}`;
  if (volume.emptyDir) return { name: volume.name, writable: true, files: [] };
  if (volume.configMap) {
    const source = volume.configMap;
    const configMap = objects.configMaps.get(source.name ?? "");
    const files = keyFiles({
      where: `${where}: configmap ${JSON.stringify(source.name)}`,
      values: configMap ? configMapValues(configMap) : undefined,
      items: source.items,
      optional: source.optional ?? false,
      mode: source.defaultMode ?? DEFAULT_FILE_MODE,
    });
    return { name: volume.name, writable: false, files };
  }
  if (volume.secret) {
    const source = volume.secret;
    const secret = objects.secrets.get(source.secretName ?? "");
    const files = keyFiles({
      where: `${where}: secret ${JSON.stringify(source.secretName)}`,
      values: secret ? secretValues(secret) : undefined,
      items: source.items,
      optional: source.optional ?? false,
      mode: source.defaultMode ?? DEFAULT_SECRET_MODE,
    });
    return { name: volume.name, writable: false, files };
  }
  if (volume.downwardAPI) {
    const mode = volume.downwardAPI.defaultMode ?? DEFAULT_FILE_MODE;
    return {
      name: volume.name,
      writable: false,
      files: downwardFiles(pod, volume.downwardAPI.items, addresses, mode, where),
    };
  }
  if (volume.projected) {
    const mode = volume.projected.defaultMode ?? DEFAULT_FILE_MODE;
    const files: PlannedFile[] = [];
    for (const source of volume.projected.sources ?? []) {
      if (source.configMap) {
        const configMap = objects.configMaps.get(source.configMap.name ?? "");
        files.push(
          ...keyFiles({
            where: `${where}: configmap ${JSON.stringify(source.configMap.name)}`,
            values: configMap ? configMapValues(configMap) : undefined,
            items: source.configMap.items,
            optional: source.configMap.optional ?? false,
            mode,
          }),
        );
      } else if (source.secret) {
        const secret = objects.secrets.get(source.secret.name ?? "");
        files.push(
          ...keyFiles({
            where: `${where}: secret ${JSON.stringify(source.secret.name)}`,
            values: secret ? secretValues(secret) : undefined,
            items: source.secret.items,
            optional: source.secret.optional ?? false,
            mode,
          }),
        );
      } else if (source.downwardAPI) {
        files.push(...downwardFiles(pod, source.downwardAPI.items, addresses, mode, where));
      } else if (source.serviceAccountToken) {
        const token = tokens.get(source.serviceAccountToken.path);
        if (token === undefined) {
          throw new ContainerConfigError(`${where}: no token fetched for ${source.serviceAccountToken.path}`);
        }
        files.push({
          path: checkedFilePath(source.serviceAccountToken.path, where),
          content: Buffer.from(token),
          mode,
        });
      } else {
        throw new ContainerConfigError(
          `${where}: only configMap, secret, downwardAPI and serviceAccountToken projections are supported`,
        );
      }
    }
    return { name: volume.name, writable: false, files };
  }
  const kind =
    Object.entries(volume).find(([key, value]) => key !== "name" && value != null)?.[0] ?? "unknown";
  throw new ContainerConfigError(
    `${where}: ${kind} volumes are not supported by the local node agent ` +
      "(supported: configMap, secret, downwardAPI, emptyDir, projected)",
  );
}

/** Every volume of the pod with the files it must hold. Throws ContainerConfigError naming the volume. */
export function planVolumes(
  pod: V1Pod,
  objects: ReferencedObjects,
  addresses: PodAddresses,
  tokens: ProjectedTokens = new Map(),
): PlannedVolume[] {
  return (pod.spec?.volumes ?? []).map((volume) => planVolume(pod, volume, objects, addresses, tokens));
}
