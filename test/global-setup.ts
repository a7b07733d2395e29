// vitest global setup of the `integration` project: one control plane and one PostgreSQL server per run,
// shared by every suite (each suite isolates itself by namespace and database name), stopped at the end.
//
// USE_EXISTING_CLUSTER=true with KUBECONFIG naming a cluster runs the suites against that cluster instead.
// Files named `*.local-only.test.ts` check things only the local control plane exposes (its etcd, its audit
// log); they are excluded from such runs, and this setup says so.
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeConfig, VersionApi } from "@kubernetes/client-node";
import type { TestProject } from "vitest/node";
import { locateBinaries } from "./cluster/binaries.ts";
import { type ControlPlane, startControlPlane } from "./cluster/control-plane.ts";
import { type PostgresServer, startPostgres } from "./postgres/index.ts";
import type { ClusterContext } from "./support/context.ts";
import { removeDirsOfDeadProcesses } from "./support/processes.ts";

const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const localDir = join(repoRoot, ".local");
const log = (line: string) => console.log(`[global-setup] ${line}`);

async function existingCluster(): Promise<ClusterContext> {
  const kubeconfigPath = process.env.KUBECONFIG;
  if (!kubeconfigPath || !existsSync(kubeconfigPath)) {
    throw new Error(
      `USE_EXISTING_CLUSTER=true needs KUBECONFIG to name a kubeconfig file (got ${JSON.stringify(kubeconfigPath ?? "")})`,
    );
  }
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const server = kc.getCurrentCluster()?.server ?? "";
  const version = await kc.makeApiClient(VersionApi).getCode();
  log(
    `USE_EXISTING_CLUSTER=true: using ${server} (Kubernetes ${version.gitVersion}, context ${kc.getCurrentContext()})`,
  );
  log(
    "NOTICE: *.local-only.test.ts files are excluded from this run: they read the local control plane's etcd and " +
      "audit log, which an existing cluster does not expose (e.g. encryption of Secrets at rest is not checked)",
  );
  // The suites use the kubectl and helm built at the pinned versions, whatever the cluster runs.
  const binaries = locateBinaries();
  return {
    kind: "existing",
    kubeconfigPath,
    server,
    fakeNodes: [],
    kubectlPath: binaries.kubectl,
    helmPath: binaries.helm,
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const useExisting = process.env.USE_EXISTING_CLUSTER === "true";
  // State of runs whose process is gone (killed runs cannot clean up after themselves).
  removeDirsOfDeadProcesses(localDir, /^test-cluster-(\d+)$/);
  const stateDir = join(localDir, `test-cluster-${process.pid}`);

  let controlPlane: ControlPlane | undefined;
  let postgres: PostgresServer | undefined;
  const teardown = async () => {
    await Promise.all([controlPlane?.stop(), postgres?.stop()]);
    // The control plane's logs stay for a look after a failed run (until the next run); its data does not.
    if (controlPlane) rmSync(join(stateDir, "etcd"), { recursive: true, force: true });
  };

  try {
    const [cluster, pg] = await Promise.all([
      useExisting
        ? existingCluster()
        : startControlPlane({ stateDir, log }).then((cp): ClusterContext => {
            controlPlane = cp;
            return {
              kind: "local",
              kubeconfigPath: cp.kubeconfigPath,
              server: cp.server,
              fakeNodes: cp.fakeNodes,
              etcd: cp.etcd,
              auditLogPath: cp.auditLogPath,
              kubectlPath: join(cp.binDir, "kubectl"),
              helmPath: join(cp.binDir, "helm"),
            };
          }),
      startPostgres({ log }).then((server) => {
        postgres = server;
        return server;
      }),
    ]);
    project.provide("cluster", cluster);
    project.provide("postgres", {
      host: pg.host,
      port: pg.port,
      user: pg.user,
      password: pg.password,
      caCertPath: pg.caCertPath,
    });
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
