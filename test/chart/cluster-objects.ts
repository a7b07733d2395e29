import { join } from "node:path";
import { freePorts } from "../support/free-port.ts";
import { adminKubeConfig, serviceAccountKubeconfig } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { type ManagedProcess, startProcess } from "../support/processes.ts";
import { waitFor } from "../support/wait-for.ts";
import { REPO_ROOT } from "./helm.ts";

// What the install suites ask the cluster: which objects exist (by label, across every API resource),
// what a ServiceAccount may do, and whether the operator runs with what a release gives it.

export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
}

interface ListedObject {
  kind: string;
  metadata: { name: string; namespace?: string };
}

export const refText = (ref: ObjectRef) =>
  `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;

/** The names of every API resource that can be listed, namespaced or cluster-scoped. */
export async function listableResources(scope: "namespaced" | "cluster"): Promise<string[]> {
  const { stdout } = await kubectl([
    "api-resources",
    "--verbs=list",
    `--namespaced=${scope === "namespaced"}`,
    "--output=name",
  ]);
  return stdout.split("\n").filter((line) => line.trim() !== "");
}

/** Every object of every listable resource matching the selector, in all namespaces and cluster-wide. */
export async function objectsLabelled(selector: string): Promise<ObjectRef[]> {
  const resources = [...(await listableResources("namespaced")), ...(await listableResources("cluster"))];
  const { stdout } = await kubectl([
    "get",
    resources.join(","),
    "--all-namespaces",
    `--selector=${selector}`,
    "--ignore-not-found",
    "--output=json",
  ]);
  return refsOf(stdout);
}

/** Every object of every namespaced resource in the namespace, Events left out (they expire by themselves). */
export async function objectsInNamespace(namespace: string): Promise<ObjectRef[]> {
  const resources = (await listableResources("namespaced")).filter(
    (resource) => resource !== "events" && resource !== "events.events.k8s.io",
  );
  const { stdout } = await kubectl([
    "get",
    resources.join(","),
    `--namespace=${namespace}`,
    "--ignore-not-found",
    "--output=json",
  ]);
  return refsOf(stdout);
}

function refsOf(listJson: string): ObjectRef[] {
  if (listJson.trim() === "") return [];
  const list = JSON.parse(listJson) as { items: ListedObject[] };
  return list.items.map((item) => ({
    kind: item.kind,
    name: item.metadata.name,
    ...(item.metadata.namespace ? { namespace: item.metadata.namespace } : {}),
  }));
}

/** `kubectl auth can-i` as a ServiceAccount: true for "yes". */
export async function serviceAccountCan(
  serviceAccount: { namespace: string; name: string },
  verb: string,
  resource: string,
  namespace: string | "all",
): Promise<boolean> {
  const scope = namespace === "all" ? ["--all-namespaces"] : [`--namespace=${namespace}`];
  const result = await kubectl(
    [
      "auth",
      "can-i",
      verb,
      resource,
      `--as=system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`,
      ...scope,
    ],
    { allowFailure: true },
  );
  return result.stdout.trim() === "yes";
}

export interface OperatorRun {
  process: ManagedProcess;
  identity: string;
  metrics(): Promise<string>;
  stop(): Promise<string>;
}

/**
 * The operator from the sources, started the way a release's pod starts it: the Deployment's own args
 * (the addresses and ports moved to free loopback ports, since it runs on this machine) and a token of the
 * release's ServiceAccount, so it has exactly the RBAC the chart gave it. Resolves once /readyz answers
 * 200, which needs every watch to have listed.
 */
export async function runOperatorAsRelease(options: {
  namespace: string;
  deployment: string;
  serviceAccount: string;
  identity: string;
  logDir: string;
}): Promise<OperatorRun> {
  const { stdout } = await kubectl([
    "get",
    "deployment",
    options.deployment,
    `--namespace=${options.namespace}`,
    "--output=jsonpath={.spec.template.spec.containers[0].args}",
  ]);
  const [metricsPort, healthPort] = await freePorts(2);
  const local: Record<string, string> = {
    "--bind-address": "127.0.0.1",
    "--metrics-port": String(metricsPort),
    "--health-port": String(healthPort),
  };
  const args = (JSON.parse(stdout) as string[]).map((arg) => {
    const flag = arg.slice(0, arg.indexOf("="));
    return flag in local ? `${flag}=${local[flag]}` : arg;
  });
  const kubeconfigPath = join(options.logDir, `${options.identity}.kubeconfig`);
  await serviceAccountKubeconfig(adminKubeConfig(), options.namespace, options.serviceAccount, {
    writeTo: kubeconfigPath,
  });
  const process_ = startProcess({
    name: `operator ${options.identity}`,
    command: process.execPath,
    args: [join(REPO_ROOT, "operator", "main.ts"), ...args, `--kubeconfig=${kubeconfigPath}`],
    env: { ...process.env, POD_NAME: options.identity },
    logPath: join(options.logDir, `${options.identity}.log`),
    cwd: REPO_ROOT,
  });
  await waitFor(
    async () => {
      if (!process_.isRunning()) throw new Error(`the operator exited: ${process_.logTail()}`);
      return (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200;
    },
    { what: `operator ${options.identity} to be ready`, timeoutMs: 60_000 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${process_.logTail()}`);
  });
  return {
    process: process_,
    identity: options.identity,
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
    async stop() {
      await process_.stop(25_000, "SIGTERM");
      return process_.exited;
    },
  };
}
