import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { load, loadAll } from "js-yaml";
import { tokenKubeconfig } from "../cluster/config-files.ts";
import { freePort } from "../support/free-port.ts";
import { type ManagedProcess, startProcess } from "../support/processes.ts";
import { waitFor } from "../support/wait-for.ts";

// Runs the operator as a separate process authenticated as its own ServiceAccount, bound to exactly the
// ClusterRole and leader-election Role of config/rbac/. Used by the suites under test/operator/ and by
// the benchmarks under bench/operator/ (which is why it takes explicit paths instead of vitest's context).

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const WORK_DIR = join(REPO_ROOT, ".local", "test-operator");

/** How to reach the cluster as its admin. */
export interface ClusterAccess {
  kubectlPath: string;
  kubeconfigPath: string;
}

export function kubectlRun(access: ClusterAccess, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      access.kubectlPath,
      [`--kubeconfig=${access.kubeconfigPath}`, ...args],
      { maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`kubectl ${args.join(" ")}: ${stderr.trim() || error.message}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(input ?? "");
  });
}

/** `kubectl apply --server-side` of objects given as data. */
export function applyObjects(
  access: ClusterAccess,
  objects: object[],
  fieldManager = "test-admin",
): Promise<string> {
  const list = { apiVersion: "v1", kind: "List", items: objects };
  return kubectlRun(
    access,
    ["apply", "--server-side", "--force-conflicts", `--field-manager=${fieldManager}`, "-f", "-"],
    JSON.stringify(list),
  );
}

export async function kubectlJson<T>(access: ClusterAccess, args: string[]): Promise<T> {
  return JSON.parse(await kubectlRun(access, [...args, "-o", "json"])) as T;
}

/** Installs the CRDs (what `make install` does for them) and waits until they are served. */
export async function installCrds(access: ClusterAccess): Promise<void> {
  await kubectlRun(access, ["apply", "--server-side", "--force-conflicts", "-f", join(REPO_ROOT, "crds")]);
  await kubectlRun(access, [
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "-f",
    join(REPO_ROOT, "crds"),
  ]);
}

interface RbacObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

/**
 * config/rbac/ installed for an operator living in `operatorNamespace`: the same ClusterRole and the same
 * leader-election Role, bound to a ServiceAccount of that namespace (so suites running side by side each
 * have their own operator identity). Returns a kubeconfig holding a token of that ServiceAccount.
 */
export async function installOperatorIdentity(
  access: ClusterAccess,
  operatorNamespace: string,
  /** Another address for the API server in the kubeconfig (a fault-injection proxy, say). */
  server?: string,
): Promise<string> {
  const rbacDir = join(REPO_ROOT, "config", "rbac");
  const objects: RbacObject[] = [];
  for (const file of readdirSync(rbacDir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")) {
    objects.push(...(loadAll(readFileSync(join(rbacDir, file), "utf8")) as RbacObject[]));
  }
  const placed = objects.map((object) => {
    const copy = structuredClone(object);
    if (copy.metadata.namespace) copy.metadata.namespace = operatorNamespace;
    if (copy.kind === "ClusterRoleBinding") copy.metadata.name = `${copy.metadata.name}-${operatorNamespace}`;
    for (const subject of copy.subjects ?? []) subject.namespace = operatorNamespace;
    return copy;
  });
  await applyObjects(access, placed);
  const token = (
    await kubectlRun(access, [
      "create",
      "token",
      "tradingbot-operator",
      "-n",
      operatorNamespace,
      "--duration=4h",
    ])
  ).trim();
  const admin = load(readFileSync(access.kubeconfigPath, "utf8")) as {
    clusters: {
      cluster: { server: string; "certificate-authority-data"?: string; "certificate-authority"?: string };
    }[];
  };
  const cluster = admin.clusters[0]?.cluster;
  if (!cluster) throw new Error(`no cluster in ${access.kubeconfigPath}`);
  const caPem = cluster["certificate-authority-data"]
    ? Buffer.from(cluster["certificate-authority-data"], "base64").toString("utf8")
    : readFileSync(cluster["certificate-authority"] as string, "utf8");
  mkdirSync(WORK_DIR, { recursive: true });
  const path = join(WORK_DIR, `${operatorNamespace}.kubeconfig`);
  const user = `system:serviceaccount:${operatorNamespace}:tradingbot-operator`;
  writeFileSync(path, tokenKubeconfig(server ?? cluster.server, caPem, user, token), { mode: 0o600 });
  return path;
}

export interface OperatorOptions {
  /** The operator's ServiceAccount kubeconfig (installOperatorIdentity). */
  kubeconfigPath: string;
  operatorNamespace: string;
  namespaces: string[] | "all";
  identity: string;
  leaderElect?: boolean;
  extraArgs?: string[];
  /** Run the compiled operator (dist/, `make build`) instead of the TypeScript sources. */
  fromDist?: boolean;
  /** Extra flags for node itself, such as --cpu-prof to profile a benchmark. */
  nodeArgs?: string[];
}

export interface OperatorProcess {
  readonly identity: string;
  readonly process: ManagedProcess;
  readonly metricsUrl: string;
  /** Its readiness endpoint (/readyz). */
  readonly readyUrl: string;
  /** Everything the operator wrote to stdout and stderr so far. */
  logs(): string;
  metrics(): Promise<string>;
  /** The value of one sample of the operator's /metrics (labels as `{a="b"}` text), if present. */
  metric(name: string, labels?: string): Promise<number | undefined>;
  isLeader(): Promise<boolean>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  /** SIGSTOP: the process is frozen (its sockets stay open, nothing answers), until resume(). */
  pause(): void;
  resume(): void;
}

export async function startOperator(options: OperatorOptions): Promise<OperatorProcess> {
  mkdirSync(WORK_DIR, { recursive: true });
  const [metricsPort, healthPort] = [await freePort(), await freePort()];
  const logPath = join(WORK_DIR, `${options.identity}-${Date.now()}.log`);
  const args = [
    // As the operator's entry point asks (see operator/main.ts).
    "--max-semi-space-size=2",
    ...(options.nodeArgs ?? []),
    options.fromDist
      ? join(REPO_ROOT, "dist", "operator", "main.js")
      : join(REPO_ROOT, "operator", "main.ts"),
    `--kubeconfig=${options.kubeconfigPath}`,
    `--namespaces=${options.namespaces === "all" ? "all" : options.namespaces.join(",")}`,
    `--operator-namespace=${options.operatorNamespace}`,
    `--identity=${options.identity}`,
    `--leader-elect=${options.leaderElect ?? true}`,
    "--bind-address=127.0.0.1",
    `--metrics-port=${metricsPort}`,
    `--health-port=${healthPort}`,
    "--bot-image=registry.local/tradingbot/bot-runtime:test",
    ...(options.extraArgs ?? []),
  ];
  const child = startProcess({
    name: `operator ${options.identity}`,
    command: process.execPath,
    args,
    logPath,
    cwd: REPO_ROOT,
  });
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const metrics = async () => {
    const response = await fetch(metricsUrl);
    return response.text();
  };
  const metric = async (name: string, labels = "") => {
    const text = await metrics();
    const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
  };
  await waitFor(
    async () => {
      if (!child.isRunning()) throw new Error(`operator exited: ${child.logTail()}`);
      const response = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
      return response.status === 200;
    },
    { what: `operator ${options.identity} to be ready`, timeoutMs: 60_000, intervalMs: 100 },
  );
  return {
    identity: options.identity,
    process: child,
    metricsUrl,
    readyUrl: `http://127.0.0.1:${healthPort}/readyz`,
    logs: () => readFileSync(logPath, "utf8"),
    metrics,
    metric,
    isLeader: async () => (await metric("tradingbot_operator_leader")) === 1,
    stop: () => child.stop(20_000, "SIGTERM"),
    kill: () => child.stop(0, "SIGKILL"),
    pause: () => process.kill(child.pid, "SIGSTOP"),
    resume: () => process.kill(child.pid, "SIGCONT"),
  };
}

/**
 * Deletes bot namespaces while their operator still runs, and waits until their TradingBots are gone:
 * each bot's finalizer is removed by the operator once its pod is stopped, so an operator stopped first
 * would leave the namespaces terminating for ever. Bots still there after `timeoutMs` (their operator
 * died with a failed test) have their finalizers removed as admin, so the cluster is left clean.
 */
export async function deleteBotNamespaces(access: ClusterAccess, namespaces: string[], timeoutMs = 60_000) {
  if (namespaces.length === 0) return;
  await kubectlRun(access, ["delete", "namespace", ...namespaces, "--wait=false", "--ignore-not-found"]);
  const remaining = async () => {
    const left: string[] = [];
    for (const namespace of namespaces) {
      const names = await kubectlRun(access, ["get", "tradingbots", "-n", namespace, "-o", "name"]).catch(
        () => "",
      );
      left.push(
        ...names
          .split("\n")
          .filter((n) => n !== "")
          .map((n) => `${namespace} ${n}`),
      );
    }
    return left;
  };
  try {
    await waitFor(async () => (await remaining()).length === 0, {
      what: `the TradingBots of ${namespaces.join(", ")} to be deleted`,
      timeoutMs,
      intervalMs: 500,
    });
  } catch {
    for (const entry of await remaining()) {
      const [namespace, name] = entry.split(" ") as [string, string];
      await kubectlRun(access, [
        "patch",
        "-n",
        namespace,
        name,
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":null}}',
      ]).catch(() => "");
    }
  }
}
