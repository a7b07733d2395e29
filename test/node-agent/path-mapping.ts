import { posix } from "node:path";
import type { V1Container } from "@kubernetes/client-node";
import { expandVariables } from "./var-expansion.ts";

// Without a mount namespace, a container's view of the filesystem is emulated by rewriting paths: every
// argument or env value that names a mount path (or a file below one) is rewritten to the folder the
// agent materialised for that volume. Pure functions: the pod worker feeds them folders it created.

export interface PathMapping {
  /** Absolute path as the container sees it, without a trailing slash. */
  containerPath: string;
  /** Where that path lives on the host. */
  hostPath: string;
}

export interface ContainerPathsInput {
  container: Pick<V1Container, "name" | "volumeMounts" | "terminationMessagePath">;
  /** Host folder of each pod volume, by volume name. */
  volumeDirs: ReadonlyMap<string, string>;
  /** The per-container file standing in for the termination-message path. */
  terminationMessageFile: string;
  /** Resolves `$(VAR)` in subPathExpr with the container's environment. */
  lookupEnv: (name: string) => string | undefined;
}

export const DEFAULT_TERMINATION_MESSAGE_PATH = "/dev/termination-log";

function normalizeContainerPath(path: string, what: string): string {
  if (!posix.isAbsolute(path)) throw new Error(`${what} ${JSON.stringify(path)} must be an absolute path`);
  const normalized = posix.normalize(path);
  return normalized.length > 1 && normalized.endsWith("/") ? normalized.slice(0, -1) : normalized;
}

function checkedSubPath(subPath: string, what: string): string {
  const normalized = posix.normalize(subPath);
  if (posix.isAbsolute(normalized) || normalized === ".." || normalized.startsWith("../")) {
    throw new Error(`${what} ${JSON.stringify(subPath)} must be a relative path inside the volume`);
  }
  return normalized === "." ? "" : normalized;
}

/**
 * The path mappings of one container: each volumeMount (subPath and subPathExpr honoured) and the
 * termination-message path. Throws, naming the mount, when a mount refers to a volume the pod lacks.
 */
export function containerPathMappings(input: ContainerPathsInput): PathMapping[] {
  const { container, volumeDirs } = input;
  const mappings: PathMapping[] = [];
  for (const mount of container.volumeMounts ?? []) {
    const where = `container ${container.name} volumeMount ${mount.name} at ${mount.mountPath}`;
    const volumeDir = volumeDirs.get(mount.name);
    if (volumeDir === undefined) {
      throw new Error(`${where}: the pod has no volume named ${JSON.stringify(mount.name)}`);
    }
    const rawSubPath = mount.subPathExpr
      ? expandVariables(mount.subPathExpr, input.lookupEnv)
      : (mount.subPath ?? "");
    const subPath = checkedSubPath(rawSubPath, `${where}: subPath`);
    mappings.push({
      containerPath: normalizeContainerPath(mount.mountPath, `${where}: mountPath`),
      hostPath: subPath ? posix.join(volumeDir, subPath) : volumeDir,
    });
  }
  mappings.push({
    containerPath: normalizeContainerPath(
      container.terminationMessagePath || DEFAULT_TERMINATION_MESSAGE_PATH,
      `container ${container.name} terminationMessagePath`,
    ),
    hostPath: input.terminationMessageFile,
  });
  // Longest first: a mount nested inside another wins for paths below it.
  return mappings.sort((a, b) => b.containerPath.length - a.containerPath.length);
}

function mapWholePath(value: string, mappings: readonly PathMapping[]): string | undefined {
  for (const { containerPath, hostPath } of mappings) {
    if (value === containerPath) return hostPath;
    const prefix = containerPath === "/" ? "/" : `${containerPath}/`;
    if (value.startsWith(prefix)) return hostPath + value.slice(prefix.length - 1);
  }
  return undefined;
}

/**
 * Rewrites a container path to its host path. Applies to the whole value (`/etc/app/config.json`) or to
 * the part after the first `=` (`--config=/etc/app/config.json`, `CONFIG=/etc/app`); anything else is
 * returned unchanged.
 */
export function mapContainerPath(value: string, mappings: readonly PathMapping[]): string {
  const whole = mapWholePath(value, mappings);
  if (whole !== undefined) return whole;
  const equals = value.indexOf("=");
  if (equals === -1) return value;
  const mapped = mapWholePath(value.slice(equals + 1), mappings);
  return mapped === undefined ? value : value.slice(0, equals + 1) + mapped;
}

/** The host folder of the container's `/tmp`, when it mounts one. */
export function temporaryDirectory(mappings: readonly PathMapping[]): string | undefined {
  return mappings.find((m) => m.containerPath === "/tmp")?.hostPath;
}
