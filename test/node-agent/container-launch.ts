import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { ContainerConfigError, containerEnv, type ReferencedObjects } from "./container-env.ts";
import type { PodAddresses } from "./downward-api.ts";
import { type ImageCommands, localProgram } from "./image-commands.ts";
import {
  containerPathMappings,
  mapContainerPath,
  type PathMapping,
  temporaryDirectory,
} from "./path-mapping.ts";
import { expandVariables, lookupIn } from "./var-expansion.ts";

/** The image (or command) has no local program: the kubelet's ErrImageNeverPull, in spirit. */
export class ImageNotMappedError extends Error {
  override readonly name = "ImageNotMappedError";
}

export interface ContainerLaunch {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  mappings: PathMapping[];
}

export interface ContainerLaunchInput {
  pod: V1Pod;
  container: V1Container;
  addresses: PodAddresses;
  objects: ReferencedObjects;
  volumeDirs: ReadonlyMap<string, string>;
  terminationMessageFile: string;
  imageCommands: ImageCommands;
  /** Host environment every process gets (PATH and whatever the agent was told to add). */
  baseEnv: Readonly<Record<string, string>>;
  /** Working directory when the container sets none that maps to a volume. */
  defaultCwd: string;
}

/**
 * How to run one container as a local process: the mapped program followed by the container's command
 * and args with `$(VAR)` expanded against its env (container view) and then container paths rewritten to
 * host paths; env values rewritten the same way; TMPDIR at the pod's /tmp mount when it has one. Each
 * string is rewritten exactly once, so host paths never get rewritten again. Throws ContainerConfigError
 * or ImageNotMappedError with what is missing.
 */
export function containerLaunch(input: ContainerLaunchInput): ContainerLaunch {
  const { pod, container } = input;
  const program = localProgram(container, input.imageCommands);
  if ("error" in program) throw new ImageNotMappedError(program.error);
  const variables = containerEnv({ pod, container, addresses: input.addresses, objects: input.objects });
  const lookup = lookupIn(variables);
  let mappings: PathMapping[];
  try {
    mappings = containerPathMappings({
      container,
      volumeDirs: input.volumeDirs,
      terminationMessageFile: input.terminationMessageFile,
      lookupEnv: lookup,
    });
  } catch (error) {
    throw new ContainerConfigError((error as Error).message);
  }
  const args = program.args.map((arg) => mapContainerPath(expandVariables(arg, lookup), mappings));
  const env: Record<string, string> = { ...input.baseEnv, HOSTNAME: pod.metadata?.name ?? "" };
  const tmp = temporaryDirectory(mappings);
  if (tmp !== undefined) env.TMPDIR = tmp;
  for (const [name, value] of variables) env[name] = mapContainerPath(value, mappings);
  const workingDir = container.workingDir ? mapContainerPath(container.workingDir, mappings) : undefined;
  const cwd = workingDir !== undefined && workingDir !== container.workingDir ? workingDir : input.defaultCwd;
  return { argv: [...program.program, ...args], env, cwd, mappings };
}
