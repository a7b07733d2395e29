import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { waitFor } from "../support/wait-for.ts";
import { type NodeAgent, type NodeAgentOptions, startNodeAgent } from "./agent.ts";
import {
  createPod,
  isAlive,
  isReady,
  listenArg,
  readRecord,
  readyzProbe,
  standInImageCommands,
  standInInfo,
  standInPod,
  waitForPod,
  waitForPodGone,
} from "./stand-in-pods.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

let kc: KubeConfig;
let core: CoreV1Api;
let namespace: TestNamespace;
let workDir: string;
let agent: NodeAgent | undefined;
const nodeName = `local-agent-${randomBytes(3).toString("hex")}`;

function agentOptions(deleteNodeOnStop: boolean): NodeAgentOptions {
  return {
    kubeconfig: kc,
    nodeName,
    stateDir: join(workDir, "state"),
    imageCommands: standInImageCommands,
    podCIDR: "127.62.0.0/16",
    stopGraceSeconds: 3,
    deleteNodeOnStop,
    log: () => {},
  };
}

beforeAll(async () => {
  kc = adminKubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  namespace = await createTestNamespace(kc, "node-agent-restart");
  workDir = join(repoRoot, ".local", `node-agent-restart-${process.pid}-${randomBytes(3).toString("hex")}`);
  mkdirSync(workDir, { recursive: true });
});

afterAll(async () => {
  await namespace?.cleanup();
  await waitFor(
    async () => (await core.listNamespacedPod({ namespace: namespace.name })).items.length === 0,
    { what: `the pods of namespace ${namespace?.name} to be deleted`, timeoutMs: 60_000 },
  ).catch(() => {});
  await agent?.stop();
  await core.deleteNode({ name: nodeName }).catch(() => {});
  rmSync(workDir, { recursive: true, force: true });
});

describe("stopping and restarting the agent", () => {
  it("stopping kills every pod process (children included) and reports the Node and its pods not ready", async () => {
    agent = await startNodeAgent(agentOptions(false));
    const record = join(workDir, "survivor.record");
    for (const [name, args] of [
      ["survivor", [listenArg, `--record=${record}`, "--spawn-child"]],
      ["doomed", [listenArg]],
    ] as const) {
      await createPod(
        kc,
        standInPod({
          name,
          namespace: namespace.name,
          nodeName,
          container: { args: [...args], readinessProbe: readyzProbe },
        }),
      );
    }
    const survivor = await waitForPod(kc, namespace.name, "survivor", "to be Ready", isReady);
    await waitForPod(kc, namespace.name, "doomed", "to be Ready", isReady);
    const info = await standInInfo(survivor.status?.podIP ?? "");
    const pids = [...agent.runningProcesses().values(), info.childPid ?? -1];
    expect(pids).toHaveLength(3);
    expect(pids.every(isAlive)).toBe(true);

    await agent.stop();
    agent = undefined;

    expect(pids.filter(isAlive)).toEqual([]);
    expect(readRecord(record).map((e) => e.event)).toContain("sigterm");
    const node = await core.readNode({ name: nodeName });
    expect(node.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "NodeAgentStopped",
    });
    const stopped = await core.readNamespacedPod({ namespace: namespace.name, name: "survivor" });
    expect(stopped.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "NodeAgentStopped",
    });
  });

  it("starting again finishes deletions made meanwhile and restarts the other pods at their address", async () => {
    const before = await core.readNamespacedPod({ namespace: namespace.name, name: "survivor" });
    const doomed = await core.readNamespacedPod({ namespace: namespace.name, name: "doomed" });
    // Nobody completes this deletion while the agent is down.
    await core.deleteNamespacedPod({ namespace: namespace.name, name: "doomed" });
    const pending = await core.readNamespacedPod({ namespace: namespace.name, name: "doomed" });
    expect(pending.metadata?.deletionTimestamp).toBeDefined();

    agent = await startNodeAgent(agentOptions(true));

    await waitForPodGone(kc, namespace.name, "doomed");
    expect(existsSync(agent.podDir(doomed.metadata?.uid ?? ""))).toBe(false);
    const after = await waitForPod(kc, namespace.name, "survivor", "to be Ready again", isReady);
    expect(after.metadata?.uid).toBe(before.metadata?.uid);
    expect(after.status?.podIP).toBe(before.status?.podIP);
    expect(after.status?.containerStatuses?.[0]).toMatchObject({
      restartCount: 1,
      lastState: { terminated: { reason: "ContainerStatusUnknown" } },
    });
    const info = await standInInfo(after.status?.podIP ?? "");
    expect(readRecord(join(workDir, "survivor.record")).filter((e) => e.event === "started")).toHaveLength(2);
    expect(agent.runningProcesses().get(`${namespace.name}/survivor/main`)).toBe(info.pid);
  });

  it("with deleteNodeOnStop, stopping removes the Node", async () => {
    await core.deleteNamespacedPod({ namespace: namespace.name, name: "survivor" });
    await waitForPodGone(kc, namespace.name, "survivor");
    await agent?.stop();
    agent = undefined;
    await expect(core.readNode({ name: nodeName })).rejects.toMatchObject({ code: 404 });
  });
});
