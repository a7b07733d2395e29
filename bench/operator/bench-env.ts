import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from "node:fs";
import { basename, join } from "node:path";
import { KubeApi, KubeClient } from "../../operator/kube/client.ts";
import { WatchLineSplitter } from "../../operator/kube/informer.ts";
import { loadConnection } from "../../operator/kube/kubeconfig.ts";
import { FIELD_MANAGER } from "../../operator/names.ts";
import { locateBinaries } from "../../test/cluster/binaries.ts";
import { startControlPlane } from "../../test/cluster/control-plane.ts";
import {
  databaseSecret,
  exchangeSecret,
  plantedValues,
  RESTRICTED_NAMESPACE_LABELS,
} from "../../test/operator/fixtures.ts";
import {
  applyObjects,
  type ClusterAccess,
  deleteBotNamespaces,
  installCrds,
  installOperatorIdentity,
  kubectlRun,
  type OperatorProcess,
  REPO_ROOT,
  startOperator,
} from "../../test/operator/harness.ts";

// The setting of the operator benchmarks: the local control plane (started here, or the cluster of
// KUBECONFIG with USE_EXISTING_CLUSTER=true), the CRDs, and the operator as a separate process under its
// own ServiceAccount and the RBAC of config/rbac/, reconciling one namespace enforcing `restricted`.

export interface BenchCluster {
  access: ClusterAccess;
  /** An admin client (the operator's thin HTTP client, without rate limit). */
  admin: KubeApi;
  /** The API server's audit log (writes, with server timestamps); only for a control plane started here. */
  auditLogPath?: string;
  /** Where the control plane started here keeps its state (its processes name it on their command line). */
  stateDir?: string;
  stop(): Promise<void>;
}

const adminClient = (kubeconfigPath: string) =>
  new KubeApi(
    new KubeClient(loadConnection(kubeconfigPath), { qps: 100_000, burst: 100_000 }),
    FIELD_MANAGER,
  );

/**
 * `fleetSize`: the most bots a run will have at once. A fake node takes about 1280 bot pods (64 CPUs at
 * the bot pod's default request of 50m), so a control plane started here gets enough of them.
 */
export async function openBenchCluster(log: (line: string) => void, fleetSize = 1000): Promise<BenchCluster> {
  if (process.env.USE_EXISTING_CLUSTER === "true") {
    const kubeconfigPath = process.env.KUBECONFIG;
    if (!kubeconfigPath) throw new Error("USE_EXISTING_CLUSTER=true needs KUBECONFIG");
    let kubectlPath = "kubectl";
    try {
      kubectlPath = locateBinaries().kubectl;
    } catch {
      log("control-plane binaries not built: using kubectl from PATH");
    }
    return {
      access: { kubectlPath, kubeconfigPath },
      admin: adminClient(kubeconfigPath),
      stop: async () => {},
    };
  }
  const stateDir = join(REPO_ROOT, ".local", `bench-operator-${process.pid}`);
  mkdirSync(stateDir, { recursive: true });
  const controlPlane = await startControlPlane({
    stateDir,
    log,
    fakeNodeCount: Math.max(2, Math.ceil(fleetSize / 1000) + 1),
  });
  return {
    access: {
      kubectlPath: join(controlPlane.binDir, "kubectl"),
      kubeconfigPath: controlPlane.kubeconfigPath,
    },
    admin: adminClient(controlPlane.kubeconfigPath),
    auditLogPath: controlPlane.auditLogPath,
    stateDir,
    stop: async () => {
      await controlPlane.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export interface BenchOperator {
  namespace: string;
  operatorNamespace: string;
  operator: OperatorProcess;
  /** Deletes the bots (while the operator still runs, for their finalizers), then stops the operator. */
  stop(timeoutMs?: number): Promise<void>;
}

/** The compiled operator when `make build` made one (what is deployed), else the sources. */
export const OPERATOR_FROM_DIST = existsSync(join(REPO_ROOT, "dist", "operator", "main.js"));

/** A restricted namespace with the sample Secrets, and the operator reconciling it. */
export async function startBenchOperator(
  cluster: BenchCluster,
  extraArgs: string[] = [],
  nodeArgs: string[] = (process.env.OPERATOR_NODE_ARGS ?? "").split(" ").filter((a) => a !== ""),
): Promise<BenchOperator> {
  const suffix = randomBytes(3).toString("hex");
  const operatorNamespace = `bench-op-${suffix}`;
  const namespace = `bench-${suffix}`;
  await installCrds(cluster.access);
  await applyObjects(cluster.access, [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: operatorNamespace } },
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespace, labels: RESTRICTED_NAMESPACE_LABELS },
    },
  ]);
  const kubeconfigPath = await installOperatorIdentity(cluster.access, operatorNamespace);
  const planted = plantedValues(suffix);
  await applyObjects(cluster.access, [
    exchangeSecret(namespace, planted),
    databaseSecret(namespace, planted),
  ]);
  const operator = await startOperator({
    kubeconfigPath,
    operatorNamespace,
    namespaces: [namespace],
    identity: `bench-${suffix}`,
    extraArgs,
    fromDist: OPERATOR_FROM_DIST,
    nodeArgs,
  });
  return {
    namespace,
    operatorNamespace,
    operator,
    async stop(timeoutMs?: number) {
      await deleteBotNamespaces(cluster.access, [namespace], timeoutMs);
      await operator.stop();
      await kubectlRun(cluster.access, ["delete", "namespace", operatorNamespace, "--wait=false"]);
    },
  };
}

/** Runs `work` over `items`, `concurrency` at a time (how a fleet arrives: many clients at once). */
export async function inParallel<T>(items: T[], concurrency: number, work: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, or undefined once it is gone. */
export function processCpuSeconds(pid: number | string): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * The processes of the control plane started here (kube-apiserver, etcd, KWOK, ...), by binary name:
 * the ones whose command line names the cluster's state directory. Empty for an existing cluster.
 */
export function controlPlaneProcesses(cluster: BenchCluster): Map<string, string> {
  const found = new Map<string, string>();
  if (!cluster.stateDir) return found;
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const command = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (!command.slice(1).some((arg) => arg.includes(cluster.stateDir as string))) continue;
      const binary = basename(command[0] ?? "");
      if (!binary.startsWith("node")) found.set(binary, entry);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** CPU seconds used so far by each control-plane process (see controlPlaneProcesses). */
export function controlPlaneCpuSeconds(processes: Map<string, string>): Record<string, number> {
  const seconds: Record<string, number> = {};
  for (const [binary, pid] of processes) {
    const cpu = processCpuSeconds(pid);
    if (cpu !== undefined) seconds[binary] = cpu;
  }
  return seconds;
}

/** One write as the API server's audit log records it (Metadata level, see test/cluster/config-files.ts). */
export interface AuditEvent {
  stage: string;
  verb: string;
  stageTimestamp: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string };
  user?: { username?: string };
  responseStatus?: { code?: number };
}

/** Server time of an audit event in ms since the epoch, microseconds kept. */
export function auditTime(event: AuditEvent): number {
  const micros = Number(event.stageTimestamp.match(/\.\d{3}(\d{3})/)?.[1] ?? 0);
  return Date.parse(event.stageTimestamp) + micros / 1000;
}

export const auditLogSize = (path: string) => statSync(path).size;

/**
 * The completed writes logged after byte `fromByte` (a size read earlier with auditLogSize), optionally
 * only those whose line mentions `mentioning` (a namespace or user name: cheap filter before parsing).
 */
export function readAuditEvents(path: string, fromByte = 0, mentioning?: string): AuditEvent[] {
  const size = auditLogSize(path);
  const buffer = Buffer.alloc(Math.max(0, size - fromByte));
  const fd = openSync(path, "r");
  try {
    readSync(fd, buffer, 0, buffer.length, fromByte);
  } finally {
    closeSync(fd);
  }
  const events: AuditEvent[] = [];
  // The last line may still be being written: only complete lines count.
  const text = buffer.toString("utf8");
  for (const line of text.slice(0, text.lastIndexOf("\n") + 1).split("\n")) {
    if (line === "" || !line.includes("ResponseComplete")) continue;
    if (mentioning !== undefined && !line.includes(mentioning)) continue;
    const event = JSON.parse(line) as AuditEvent;
    if (event.stage === "ResponseComplete") events.push(event);
  }
  return events;
}

/** The ServiceAccount user the operator of `operatorNamespace` authenticates as (installOperatorIdentity). */
export const operatorUser = (operatorNamespace: string) =>
  `system:serviceaccount:${operatorNamespace}:tradingbot-operator`;

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export const ms = (value: number) => `${value.toFixed(1)} ms`;

export interface WatchedObject {
  metadata: {
    name: string;
    resourceVersion: string;
    uid: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
  };
  spec?: { killSwitch?: { engaged?: boolean } };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

/**
 * A plain watch (no cache): every event is handed to `onEvent` with its arrival time, and the watch is
 * resumed from the last resourceVersion whenever the server ends it.
 */
export function watchEvents(
  api: KubeApi,
  path: string,
  query: Record<string, string>,
  onEvent: (type: string, object: WatchedObject, at: number) => void,
): { stop(): void } {
  let stopped = false;
  let current: { destroy(): void } | undefined;
  let resourceVersion: string | undefined;
  const run = async () => {
    while (!stopped) {
      try {
        const response = await api.client.stream({
          method: "GET",
          verb: "watch",
          path,
          query: { ...query, watch: 1, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 600 },
          resource: "bench",
          timeoutMs: 700_000,
        });
        current = response;
        response.setEncoding("utf8");
        const splitter = new WatchLineSplitter();
        for await (const chunk of response) {
          for (const line of splitter.push(chunk as string)) {
            const at = performance.now();
            const event = JSON.parse(line) as { type: string; object: WatchedObject };
            if (event.type === "ERROR") throw new Error(`watch ${path}: ${JSON.stringify(event.object)}`);
            resourceVersion = event.object.metadata.resourceVersion;
            if (event.type !== "BOOKMARK") onEvent(event.type, event.object, at);
          }
        }
      } catch (error) {
        if (stopped) return;
        resourceVersion = undefined;
        console.error(`[bench] watch ${path} restarting: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  };
  void run();
  return {
    stop() {
      stopped = true;
      current?.destroy();
    },
  };
}
