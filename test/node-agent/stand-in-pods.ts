import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  CoreV1Api,
  type KubeConfig,
  type V1Container,
  type V1Pod,
  type V1Volume,
} from "@kubernetes/client-node";
import { waitFor } from "../support/wait-for.ts";
import type { ImageCommands } from "./image-commands.ts";
import { isNotFound } from "./kube-api.ts";
import { localAgentPlacement } from "./node-registration.ts";

// Pods for the node-agent tests: their container is fixtures/stand-in.mjs, a small program that serves
// probes, reports what it sees and exits or handles signals as its flags say.

export const STAND_IN_IMAGE = "local.test/stand-in:1";
export const STAND_IN_PORT = 8080;

export const standInImageCommands: ImageCommands = {
  [STAND_IN_IMAGE]: [process.execPath, fileURLToPath(new URL("./fixtures/stand-in.mjs", import.meta.url))],
};

export interface StandInContainer {
  name?: string;
  args: string[];
  env?: V1Container["env"];
  volumeMounts?: V1Container["volumeMounts"];
  readinessProbe?: V1Container["readinessProbe"];
  livenessProbe?: V1Container["livenessProbe"];
  terminationMessagePolicy?: string;
}

export interface StandInPodOptions {
  name: string;
  namespace: string;
  nodeName: string;
  container: StandInContainer;
  initContainers?: StandInContainer[];
  volumes?: V1Volume[];
  terminationGracePeriodSeconds?: number;
  restartPolicy?: string;
  automountServiceAccountToken?: boolean;
  labels?: Record<string, string>;
}

const POD_IP_ENV = { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } };

function container(spec: StandInContainer, fallbackName: string): V1Container {
  return {
    name: spec.name ?? fallbackName,
    image: STAND_IN_IMAGE,
    args: spec.args,
    env: [POD_IP_ENV, ...(spec.env ?? [])],
    volumeMounts: spec.volumeMounts,
    readinessProbe: spec.readinessProbe,
    livenessProbe: spec.livenessProbe,
    terminationMessagePolicy: spec.terminationMessagePolicy,
  };
}

/** A pod for the agent's Node (placed by nodeSelector and toleration, through the scheduler). */
export function standInPod(options: StandInPodOptions): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: options.name, namespace: options.namespace, labels: options.labels },
    spec: {
      ...localAgentPlacement(options.nodeName),
      restartPolicy: options.restartPolicy ?? "Never",
      terminationGracePeriodSeconds: options.terminationGracePeriodSeconds ?? 10,
      automountServiceAccountToken: options.automountServiceAccountToken ?? false,
      enableServiceLinks: false,
      initContainers: options.initContainers?.map((c, i) => container(c, `init-${i}`)),
      containers: [container(options.container, "main")],
      volumes: options.volumes,
    },
  };
}

/** The probe the stand-in answers on its --listen address. */
export const readyzProbe = { httpGet: { path: "/readyz", port: STAND_IN_PORT }, periodSeconds: 1 };

export const listenArg = `--listen=$(POD_IP):${STAND_IN_PORT}`;

export async function createPod(kc: KubeConfig, pod: V1Pod): Promise<V1Pod> {
  return kc
    .makeApiClient(CoreV1Api)
    .createNamespacedPod({ namespace: pod.metadata?.namespace ?? "", body: pod });
}

/** Polls the pod until `condition` holds and returns it. */
export function waitForPod(
  kc: KubeConfig,
  namespace: string,
  name: string,
  what: string,
  condition: (pod: V1Pod) => boolean,
  timeoutMs = 60_000,
): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  return waitFor(
    async () => {
      const pod = await core.readNamespacedPod({ namespace, name });
      return condition(pod) ? pod : undefined;
    },
    { what: `pod ${namespace}/${name} ${what}`, timeoutMs },
  );
}

export const isReady = (pod: V1Pod) =>
  pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

export const isFinished = (pod: V1Pod) => pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";

/** Waits until the pod object no longer exists. */
export function waitForPodGone(
  kc: KubeConfig,
  namespace: string,
  name: string,
  timeoutMs = 60_000,
): Promise<true> {
  const core = kc.makeApiClient(CoreV1Api);
  return waitFor(
    async () => {
      try {
        await core.readNamespacedPod({ namespace, name });
        return false;
      } catch (error) {
        if (isNotFound(error)) return true;
        throw error;
      }
    },
    { what: `pod ${namespace}/${name} to be gone`, timeoutMs },
  );
}

export interface RecordedEvent {
  event: "started" | "listening" | "sigterm" | "alive" | "exiting";
  pid: number;
  childPid?: number;
  code?: number;
}

/** The events the stand-in appended to its --record file. */
export function readRecord(path: string): RecordedEvent[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as RecordedEvent);
}

export interface StandInInfo {
  pid: number;
  childPid?: number;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  files: Array<{ path: string; mode: string; content: string }>;
}

export async function standInInfo(podIP: string): Promise<StandInInfo> {
  const response = await fetch(`http://${podIP}:${STAND_IN_PORT}/info`);
  if (!response.ok) throw new Error(`GET http://${podIP}:${STAND_IN_PORT}/info: HTTP ${response.status}`);
  return (await response.json()) as StandInInfo;
}

/** Whether a process exists and is not a zombie (one waiting to be reaped has already exited). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
