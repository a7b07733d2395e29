// vitest global setup of the `real-node` project: a local control plane with a real node (real-node.ts), only
// for the suites that need containers; every other suite keeps the KWOK-only control plane of global-setup.ts.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import type { TestProject } from "vitest/node";
import { isProcessAlive } from "../support/processes.ts";
import { cleanUpRealNode, startControlPlaneWithRealNode } from "./real-node.ts";

/** What the suites need to look at the real node from the host. */
export interface RealNodeContext {
  name: string;
  nodeAddress: string;
  /** The host side of the node's veth: where test servers listen for pods (pods cannot reach loopback). */
  hostAddress: string;
  containerdSocket: string;
  runcRoot: string;
  crictlPath: string;
  runcPath: string;
  ctrPath: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    realNode: RealNodeContext;
  }
}

export const realNodeContext = (): RealNodeContext => inject("realNode");

const localDir = fileURLToPath(new URL("../../.local/", import.meta.url));
const log = (line: string) => console.log(`[real-node-setup] ${line}`);

/** Runs that were killed leave containers, mounts and a network namespace behind: removed here. */
async function cleanUpKilledRuns(): Promise<void> {
  if (!existsSync(localDir)) return;
  for (const entry of readdirSync(localDir)) {
    const pid = /^test-real-node-(\d+)$/.exec(entry)?.[1];
    if (pid && !isProcessAlive(Number(pid))) {
      await cleanUpRealNode(join(localDir, entry));
      rmSync(join(localDir, entry), { recursive: true, force: true });
    }
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await cleanUpKilledRuns();
  const stateDir = join(localDir, `test-real-node-${process.pid}`);
  const { controlPlane, node, stop } = await startControlPlaneWithRealNode({ stateDir, log });
  project.provide("cluster", {
    kind: "local",
    kubeconfigPath: controlPlane.kubeconfigPath,
    server: controlPlane.server,
    fakeNodes: controlPlane.fakeNodes,
    etcd: controlPlane.etcd,
    auditLogPath: controlPlane.auditLogPath,
    kubectlPath: join(controlPlane.binDir, "kubectl"),
    helmPath: join(controlPlane.binDir, "helm"),
  });
  project.provide("realNode", {
    name: node.name,
    nodeAddress: node.network.nodeAddress,
    hostAddress: node.network.hostAddress,
    containerdSocket: node.containerdSocket,
    runcRoot: node.runcRoot,
    crictlPath: node.binaries.crictl,
    runcPath: node.binaries.runc,
    ctrPath: node.binaries.ctr,
  });
  return async () => {
    await stop();
    // Logs stay for a look after a failed run (until the next run); etcd's data does not.
    rmSync(join(stateDir, "etcd"), { recursive: true, force: true });
  };
}
