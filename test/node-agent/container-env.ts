import type { V1ConfigMap, V1Container, V1Pod, V1Secret } from "@kubernetes/client-node";
import { fieldRefValue, type PodAddresses } from "./downward-api.ts";
import { expandVariables, lookupIn } from "./var-expansion.ts";

/** ConfigMaps and Secrets a pod refers to, read from the API server; `null` means "does not exist". */
export interface ReferencedObjects {
  configMaps: ReadonlyMap<string, V1ConfigMap | null>;
  secrets: ReadonlyMap<string, V1Secret | null>;
}

/** Names of every ConfigMap and Secret the pod's env, envFrom and volumes refer to. */
export function referencedObjectNames(pod: V1Pod): { configMaps: string[]; secrets: string[] } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const spec = pod.spec;
  for (const container of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    for (const source of container.envFrom ?? []) {
      if (source.configMapRef?.name) configMaps.add(source.configMapRef.name);
      if (source.secretRef?.name) secrets.add(source.secretRef.name);
    }
    for (const variable of container.env ?? []) {
      const from = variable.valueFrom;
      if (from?.configMapKeyRef?.name) configMaps.add(from.configMapKeyRef.name);
      if (from?.secretKeyRef?.name) secrets.add(from.secretKeyRef.name);
    }
  }
  for (const volume of spec?.volumes ?? []) {
    if (volume.configMap?.name) configMaps.add(volume.configMap.name);
    if (volume.secret?.secretName) secrets.add(volume.secret.secretName);
    for (const source of volume.projected?.sources ?? []) {
      if (source.configMap?.name) configMaps.add(source.configMap.name);
      if (source.secret?.name) secrets.add(source.secret.name);
    }
  }
  return { configMaps: [...configMaps].sort(), secrets: [...secrets].sort() };
}

/** Values of a ConfigMap's `data` or a Secret's `data` (base64-decoded), by key. */
export function configMapValues(configMap: V1ConfigMap): Map<string, Buffer> {
  const values = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(configMap.data ?? {}))
    values.set(key, Buffer.from(value, "utf8"));
  for (const [key, value] of Object.entries(configMap.binaryData ?? {}))
    values.set(key, Buffer.from(value, "base64"));
  return values;
}

export function secretValues(secret: V1Secret): Map<string, Buffer> {
  const values = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(secret.data ?? {})) values.set(key, Buffer.from(value, "base64"));
  return values;
}

/**
 * A container whose configuration cannot be resolved yet (missing ConfigMap, Secret or key): the kubelet
 * reports it as `CreateContainerConfigError` and retries.
 */
export class ContainerConfigError extends Error {
  override readonly name = "ContainerConfigError";
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

interface KeySource {
  kind: "configmap" | "secret";
  name: string;
  values: Map<string, Buffer> | undefined;
}

function keySource(kind: KeySource["kind"], name: string, objects: ReferencedObjects): KeySource {
  if (kind === "configmap") {
    const configMap = objects.configMaps.get(name);
    return { kind, name, values: configMap ? configMapValues(configMap) : undefined };
  }
  const secret = objects.secrets.get(name);
  return { kind, name, values: secret ? secretValues(secret) : undefined };
}

function keyValue(source: KeySource, key: string, optional: boolean, variable: string): string | undefined {
  if (source.values === undefined) {
    if (optional) return undefined;
    throw new ContainerConfigError(
      `env ${variable}: ${source.kind} ${JSON.stringify(source.name)} not found`,
    );
  }
  const value = source.values.get(key);
  if (value === undefined) {
    if (optional) return undefined;
    throw new ContainerConfigError(
      `env ${variable}: ${source.kind} ${JSON.stringify(source.name)} has no key ${JSON.stringify(key)}`,
    );
  }
  return value.toString("utf8");
}

/**
 * A container's environment as the kubelet builds it: envFrom sources first (in order, invalid names
 * skipped), then env (literal values with `$(VAR)` expanded against the variables defined before them,
 * downward-API fieldRefs, ConfigMap and Secret keys). Later definitions of a name win.
 */
export function containerEnv(input: {
  pod: V1Pod;
  container: Pick<V1Container, "name" | "env" | "envFrom">;
  addresses: PodAddresses;
  objects: ReferencedObjects;
}): Array<[string, string]> {
  const { pod, container, addresses, objects } = input;
  const variables: Array<[string, string]> = [];
  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? "";
    const ref = source.configMapRef ?? source.secretRef;
    if (!ref?.name) continue;
    const from = keySource(source.configMapRef ? "configmap" : "secret", ref.name, objects);
    if (from.values === undefined) {
      if (ref.optional) continue;
      throw new ContainerConfigError(
        `container ${container.name} envFrom: ${from.kind} ${JSON.stringify(ref.name)} not found`,
      );
    }
    for (const [key, value] of [...from.values].sort(([a], [b]) => a.localeCompare(b))) {
      const name = prefix + key;
      if (ENV_NAME.test(name)) variables.push([name, value.toString("utf8")]);
    }
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    let value: string | undefined;
    if (from?.fieldRef) {
      try {
        value = fieldRefValue(pod, from.fieldRef.fieldPath, addresses, { volume: false });
      } catch (error) {
        throw new ContainerConfigError(`env ${variable.name}: ${(error as Error).message}`);
      }
    } else if (from?.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      value = keyValue(
        keySource("configmap", ref.name ?? "", objects),
        ref.key,
        ref.optional ?? false,
        variable.name,
      );
    } else if (from?.secretKeyRef) {
      const ref = from.secretKeyRef;
      value = keyValue(
        keySource("secret", ref.name ?? "", objects),
        ref.key,
        ref.optional ?? false,
        variable.name,
      );
    } else if (from) {
      throw new ContainerConfigError(
        `env ${variable.name}: only value, fieldRef, configMapKeyRef and secretKeyRef are supported by the local node agent`,
      );
    } else {
      value = expandVariables(variable.value ?? "", lookupIn(variables));
    }
    if (value !== undefined) variables.push([variable.name, value]);
  }
  return dedupe(variables);
}

/** One entry per name, keeping the last definition at the position of the first. */
function dedupe(variables: Array<[string, string]>): Array<[string, string]> {
  const byName = new Map<string, string>();
  for (const [name, value] of variables) byName.set(name, value);
  return [...byName];
}
