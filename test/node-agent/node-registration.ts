import { arch, release, type } from "node:os";
import {
  V1MicroTime,
  type V1Node,
  type V1NodeCondition,
  type V1NodeStatus,
  type V1Taint,
  type V1Toleration,
} from "@kubernetes/client-node";
import { type AgentApi, describeError, isConflict } from "./kube-api.ts";
import { HOST_IP } from "./pod-addresses.ts";

// The agent's Node: registered like a kubelet registers itself (labels, a taint, capacity, addresses,
// conditions), kept alive by its Lease in kube-node-lease and periodic status heartbeats.

export const LOCAL_AGENT_KEY = "trading.botops.dev/local-agent";

/** Label of every Node a local node agent registers. */
export const LOCAL_AGENT_LABEL = { key: LOCAL_AGENT_KEY, value: "true" } as const;

/** Only pods that tolerate this taint are scheduled onto an agent's Node. */
export const LOCAL_AGENT_TAINT: V1Taint = { key: LOCAL_AGENT_KEY, value: "true", effect: "NoSchedule" };

/** KWOK manages Nodes with this annotation; an agent never registers or takes over such a Node. */
const KWOK_ANNOTATION = "kwok.x-k8s.io/node";

/** What a pod needs to land on a local node agent (optionally one named Node). */
export function localAgentPlacement(nodeName?: string): {
  nodeSelector: Record<string, string>;
  tolerations: V1Toleration[];
} {
  return {
    nodeSelector: {
      [LOCAL_AGENT_LABEL.key]: LOCAL_AGENT_LABEL.value,
      ...(nodeName ? { "kubernetes.io/hostname": nodeName } : {}),
    },
    tolerations: [
      {
        key: LOCAL_AGENT_TAINT.key,
        operator: "Equal",
        value: LOCAL_AGENT_TAINT.value,
        effect: LOCAL_AGENT_TAINT.effect,
      },
    ],
  };
}

/** Advertised to the scheduler only: the agent enforces no limits. */
export const DEFAULT_CAPACITY: Readonly<Record<string, string>> = {
  cpu: "32",
  memory: "64Gi",
  pods: "250",
  "ephemeral-storage": "100Gi",
};

export const LEASE_DURATION_SECONDS = 40;
const LEASE_RENEW_MS = 10_000;
const STATUS_HEARTBEAT_MS = 60_000;

const GO_ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64" };
const goArch = (): string => GO_ARCH[arch()] ?? arch();

/** The conditions of the Node: Ready (or not, with why) and no resource pressure. */
export function nodeConditions(
  ready: { ok: true } | { ok: false; reason: string; message: string },
  now: Date,
  previous: readonly V1NodeCondition[] = [],
): V1NodeCondition[] {
  const condition = (type: string, status: string, reason: string, message: string): V1NodeCondition => {
    const before = previous.find((c) => c.type === type);
    return {
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime:
        before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : now,
    };
  };
  return [
    condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "no memory pressure is reported"),
    condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "no disk pressure is reported"),
    condition("PIDPressure", "False", "KubeletHasSufficientPID", "no PID pressure is reported"),
    ready.ok
      ? condition("Ready", "True", "KubeletReady", "local node agent is running pods as local processes")
      : condition("Ready", "False", ready.reason, ready.message),
  ];
}

export interface NodeManifestInput {
  nodeName: string;
  capacity: Readonly<Record<string, string>>;
  kubernetesVersion: string;
  labels: Readonly<Record<string, string>>;
  now: Date;
}

/** The Node object an agent registers: Ready, tainted, at 127.0.0.1. */
export function nodeManifest(input: NodeManifestInput): V1Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: input.nodeName,
      labels: {
        ...input.labels,
        "kubernetes.io/hostname": input.nodeName,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": goArch(),
        [LOCAL_AGENT_LABEL.key]: LOCAL_AGENT_LABEL.value,
      },
      annotations: { "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec: { taints: [LOCAL_AGENT_TAINT] },
    status: nodeStatus(input),
  };
}

function nodeStatus(input: NodeManifestInput, previous: readonly V1NodeCondition[] = []): V1NodeStatus {
  return {
    capacity: { ...input.capacity },
    allocatable: { ...input.capacity },
    conditions: nodeConditions({ ok: true }, input.now, previous),
    addresses: [
      { type: "InternalIP", address: HOST_IP },
      { type: "Hostname", address: input.nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    nodeInfo: {
      machineID: "",
      systemUUID: "",
      bootID: "",
      kernelVersion: release(),
      osImage: `local node agent on ${type()}`,
      containerRuntimeVersion: "local-process://0.1.0",
      kubeletVersion: input.kubernetesVersion,
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: goArch(),
    },
  };
}

const sameTaint = (a: V1Taint, b: V1Taint) => a.key === b.key && a.effect === b.effect;

export interface NodeRegistrationOptions {
  api: AgentApi;
  nodeName: string;
  capacity: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
  log: (line: string) => void;
}

/** Registers the Node and keeps it alive until stopped. */
export class NodeRegistration {
  readonly #options: NodeRegistrationOptions;
  #kubernetesVersion = "v0.0.0";
  #nodeUID = "";
  #stopped = false;
  #wake: (() => void) | undefined;
  #loops: Promise<void>[] = [];

  constructor(options: NodeRegistrationOptions) {
    this.#options = options;
  }

  #manifest(): V1Node {
    return nodeManifest({
      nodeName: this.#options.nodeName,
      capacity: this.#options.capacity,
      kubernetesVersion: this.#kubernetesVersion,
      labels: this.#options.labels,
      now: new Date(),
    });
  }

  /**
   * Creates the Node, or takes over an existing one of the same name (a previous run of the agent):
   * labels and taint are set again and it is marked Ready. Refuses a KWOK-managed Node.
   */
  async register(): Promise<void> {
    const { api, nodeName } = this.#options;
    this.#kubernetesVersion = await api.serverVersion();
    for (let attempt = 0; ; attempt++) {
      const existing = await api.readNode(nodeName);
      try {
        if (!existing) {
          this.#nodeUID = (await api.createNode(this.#manifest())).metadata?.uid ?? "";
        } else {
          if (existing.metadata?.annotations?.[KWOK_ANNOTATION] !== undefined) {
            throw new Error(
              `Node ${nodeName} is managed by KWOK (annotation ${KWOK_ANNOTATION}): choose another node name`,
            );
          }
          const desired = this.#manifest();
          const taints = (existing.spec?.taints ?? []).filter((t) => !sameTaint(t, LOCAL_AGENT_TAINT));
          const updated = await api.replaceNode({
            ...existing,
            metadata: {
              ...existing.metadata,
              labels: { ...existing.metadata?.labels, ...desired.metadata?.labels },
            },
            spec: { ...existing.spec, unschedulable: false, taints: [...taints, LOCAL_AGENT_TAINT] },
          });
          this.#nodeUID = updated.metadata?.uid ?? "";
          await api.patchNodeStatus(
            nodeName,
            nodeStatus(
              { ...this.#options, kubernetesVersion: this.#kubernetesVersion, now: new Date() },
              existing.status?.conditions,
            ),
          );
        }
        break;
      } catch (error) {
        if (!isConflict(error) || attempt >= 5) throw error;
      }
    }
    await this.#renewLease();
  }

  async #renewLease(): Promise<void> {
    const { api, nodeName } = this.#options;
    const existing = await api.readLease(nodeName);
    const spec = {
      holderIdentity: nodeName,
      leaseDurationSeconds: LEASE_DURATION_SECONDS,
      renewTime: new V1MicroTime(),
    };
    if (!existing) {
      await api.createLease({
        metadata: {
          name: nodeName,
          namespace: "kube-node-lease",
          // Deleted with the Node, as a kubelet's lease is.
          ownerReferences: [{ apiVersion: "v1", kind: "Node", name: nodeName, uid: this.#nodeUID }],
        },
        spec,
      });
      return;
    }
    await api.replaceLease({ ...existing, spec: { ...existing.spec, ...spec } });
  }

  async #heartbeatStatus(): Promise<void> {
    const { api, nodeName } = this.#options;
    const node = await api.readNode(nodeName);
    await api.patchNodeStatus(nodeName, {
      conditions: nodeConditions({ ok: true }, new Date(), node?.status?.conditions),
    });
  }

  #every(ms: number, what: string, beat: () => Promise<void>): Promise<void> {
    return (async () => {
      while (!this.#stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          const previousWake = this.#wake;
          this.#wake = () => {
            clearTimeout(timer);
            previousWake?.();
            resolve();
          };
        });
        if (this.#stopped) return;
        try {
          await beat();
        } catch (error) {
          this.#options.log(
            `${what} of Node ${this.#options.nodeName} failed (retrying): ${describeError(error)}`,
          );
        }
      }
    })();
  }

  /** Starts renewing the Lease (every 10 s) and the Ready heartbeat (every 60 s). */
  startHeartbeats(): void {
    this.#loops = [
      this.#every(LEASE_RENEW_MS, "lease renewal", () => this.#renewLease()),
      this.#every(STATUS_HEARTBEAT_MS, "status heartbeat", () => this.#heartbeatStatus()),
    ];
  }

  /** Stops the heartbeats, then marks the Node NotReady (kept, so its pods survive) or deletes it. */
  async stop(mode: "mark-not-ready" | "delete"): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await Promise.all(this.#loops);
    const { api, nodeName } = this.#options;
    if (mode === "delete") {
      await api.deleteNode(nodeName);
      return;
    }
    const node = await api.readNode(nodeName);
    if (!node) return;
    await api.patchNodeStatus(nodeName, {
      conditions: nodeConditions(
        { ok: false, reason: "NodeAgentStopped", message: "the local node agent of this Node is stopped" },
        new Date(),
        node.status?.conditions,
      ),
    });
  }
}
