import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoordinationV1Api, CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { waitFor } from "../support/wait-for.ts";
import { type NodeAgent, startNodeAgent } from "./agent.ts";
import { LOCAL_AGENT_LABEL, LOCAL_AGENT_TAINT } from "./node-registration.ts";
import { parsePodCIDR } from "./pod-addresses.ts";
import {
  createPod,
  isAlive,
  isFinished,
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

const POD_CIDR = "127.61.0.0/16";
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

let kc: KubeConfig;
let core: CoreV1Api;
let namespace: TestNamespace;
let agent: NodeAgent;
let workDir: string;
const nodeName = `local-agent-${randomBytes(3).toString("hex")}`;

const inPodCIDR = (ip: string | undefined) => {
  const { first, last } = parsePodCIDR(POD_CIDR);
  const value = (ip ?? "").split(".").reduce((v, part) => v * 256 + Number(part), 0);
  return value >= first && value <= last;
};

/** A fresh file path for a stand-in's --record (outside any folder a test pod mounts). */
const recordFile = (name: string) => join(workDir, `${name}.record`);

beforeAll(async () => {
  kc = adminKubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  namespace = await createTestNamespace(kc, "node-agent");
  workDir = join(repoRoot, ".local", `node-agent-test-${process.pid}-${randomBytes(3).toString("hex")}`);
  mkdirSync(workDir, { recursive: true });
  agent = await startNodeAgent({
    kubeconfig: kc,
    nodeName,
    stateDir: join(workDir, "state"),
    imageCommands: standInImageCommands,
    podCIDR: POD_CIDR,
    deleteNodeOnStop: true,
    log: () => {},
  });
});

afterAll(async () => {
  // The agent finishes the deletions of the namespace's pods before it stops.
  await namespace?.cleanup();
  await waitFor(
    async () => (await core.listNamespacedPod({ namespace: namespace.name })).items.length === 0,
    { what: `the pods of namespace ${namespace?.name} to be deleted`, timeoutMs: 60_000 },
  ).catch(() => {});
  await agent?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe("the agent's Node", () => {
  it("is registered Ready at 127.0.0.1 with the agent label and a taint only its pods tolerate", async () => {
    const node = await core.readNode({ name: nodeName });
    expect(node.metadata?.labels?.[LOCAL_AGENT_LABEL.key]).toBe(LOCAL_AGENT_LABEL.value);
    expect(node.metadata?.annotations?.["kwok.x-k8s.io/node"]).toBeUndefined();
    expect(node.spec?.taints).toContainEqual(expect.objectContaining(LOCAL_AGENT_TAINT));
    expect(node.status?.addresses).toContainEqual({ type: "InternalIP", address: "127.0.0.1" });
    expect(node.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
  });

  it("keeps its Lease in kube-node-lease fresh", async () => {
    const coordination = kc.makeApiClient(CoordinationV1Api);
    const first = await coordination.readNamespacedLease({ namespace: "kube-node-lease", name: nodeName });
    expect(first.spec?.holderIdentity).toBe(nodeName);
    // MicroTime arrives as the wire string (the client does not turn it into a Date).
    const renewedAt = (lease: typeof first) => Date.parse(String(lease.spec?.renewTime));
    expect(renewedAt(first)).toBeGreaterThan(0);
    await waitFor(
      async () => {
        const lease = await coordination.readNamespacedLease({
          namespace: "kube-node-lease",
          name: nodeName,
        });
        return renewedAt(lease) > renewedAt(first);
      },
      { what: `the Lease of ${nodeName} to be renewed`, timeoutMs: 30_000, intervalMs: 1_000 },
    );
  });
});

describe("a running pod", () => {
  let pod: V1Pod;
  let podIP: string;

  beforeAll(async () => {
    await core.createNamespacedConfigMap({
      namespace: namespace.name,
      body: {
        metadata: { name: "app-config" },
        data: { "config.json": '{"strategy":"grid"}', "log-level": "debug", unused: "x" },
      },
    });
    await core.createNamespacedSecret({
      namespace: namespace.name,
      body: { metadata: { name: "exchange" }, stringData: { apiKey: "key-abc", secret: "secret-xyz" } },
    });
    await createPod(
      kc,
      standInPod({
        name: "runner",
        namespace: namespace.name,
        nodeName,
        labels: { app: "runner", tier: "test" },
        // The default ServiceAccount token volume (projected) comes along.
        automountServiceAccountToken: true,
        container: {
          args: [
            "run",
            listenArg,
            "--config=/etc/app/config.json",
            "--show=/etc/app",
            "--show=/var/run/secrets/app/exchange",
            "--show=/etc/podinfo",
            "--show=/var/run/secrets/kubernetes.io/serviceaccount/namespace",
          ],
          env: [
            { name: "LOG_LEVEL", valueFrom: { configMapKeyRef: { name: "app-config", key: "log-level" } } },
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "ADDRESS", value: "http://$(POD_IP):8080/$(POD_NAME)" },
          ],
          readinessProbe: readyzProbe,
          livenessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 2 },
          volumeMounts: [
            { name: "config", mountPath: "/etc/app", readOnly: true },
            { name: "exchange", mountPath: "/var/run/secrets/app/exchange", readOnly: true },
            { name: "podinfo", mountPath: "/etc/podinfo" },
            { name: "tmp", mountPath: "/tmp" },
          ],
        },
        volumes: [
          {
            name: "config",
            configMap: { name: "app-config", items: [{ key: "config.json", path: "config.json" }] },
          },
          { name: "exchange", secret: { secretName: "exchange", defaultMode: 0o400 } },
          {
            name: "podinfo",
            downwardAPI: {
              items: [
                { path: "name", fieldRef: { fieldPath: "metadata.name" } },
                { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
              ],
            },
          },
          { name: "tmp", emptyDir: { medium: "Memory" } },
        ],
      }),
    );
    pod = await waitForPod(kc, namespace.name, "runner", "to be Ready", isReady);
    podIP = pod.status?.podIP ?? "";
  });

  it("is Running and Ready, with a loopback pod IP of its own reachable over HTTP", async () => {
    expect(pod.spec?.nodeName).toBe(nodeName);
    expect(pod.status?.phase).toBe("Running");
    expect(inPodCIDR(podIP)).toBe(true);
    expect(pod.status?.podIPs).toEqual([{ ip: podIP }]);
    expect(pod.status?.hostIP).toBe("127.0.0.1");
    const status = pod.status?.containerStatuses?.[0];
    expect(status).toMatchObject({ name: "main", ready: true, started: true, restartCount: 0 });
    expect(status?.state?.running?.startedAt).toBeInstanceOf(Date);
    const conditions = Object.fromEntries(pod.status?.conditions?.map((c) => [c.type, c.status]) ?? []);
    expect(conditions).toMatchObject({
      PodScheduled: "True",
      Initialized: "True",
      ContainersReady: "True",
      Ready: "True",
    });
    const response = await fetch(`http://${podIP}:8080/readyz`);
    expect(response.status).toBe(200);
  });

  it("expands $(POD_IP) and the other env references, and rewrites mount paths in args", async () => {
    const info = await standInInfo(podIP);
    expect(info.argv).toContain(`--listen=${podIP}:8080`);
    const configArg = info.argv.find((arg) => arg.startsWith("--config="));
    expect(configArg).toBe(
      `--config=${join(agent.podDir(pod.metadata?.uid ?? ""), "volumes/config/config.json")}`,
    );
    expect(info.env).toMatchObject({
      POD_IP: podIP,
      POD_NAME: "runner",
      LOG_LEVEL: "debug",
      ADDRESS: `http://${podIP}:8080/runner`,
      HOSTNAME: "runner",
      TMPDIR: join(agent.podDir(pod.metadata?.uid ?? ""), "volumes/tmp"),
    });
  });

  it("materialises ConfigMap, Secret (mode 0400), downward-API and token files the process can read", async () => {
    const info = await standInInfo(podIP);
    const files = Object.fromEntries(
      info.files.map((f) => [f.path.slice(agent.podDir(pod.metadata?.uid ?? "").length + 1), f]),
    );
    expect(Object.keys(files).sort()).toEqual([
      "volumes/config/config.json",
      "volumes/exchange/apiKey",
      "volumes/exchange/secret",
      expect.stringMatching(/^volumes\/kube-api-access-[a-z0-9]+\/namespace$/),
      "volumes/podinfo/labels",
      "volumes/podinfo/name",
    ]);
    expect(files["volumes/config/config.json"]?.content).toBe('{"strategy":"grid"}');
    expect(files["volumes/exchange/apiKey"]).toMatchObject({ content: "key-abc", mode: "400" });
    expect(files["volumes/exchange/secret"]).toMatchObject({ content: "secret-xyz", mode: "400" });
    expect(files["volumes/podinfo/name"]?.content).toBe("runner");
    expect(files["volumes/podinfo/labels"]?.content).toBe('app="runner"\ntier="test"');
    const token = Object.entries(files).find(([path]) => path.endsWith("/namespace"))?.[1];
    expect(token?.content).toBe(namespace.name);
  });

  it("gives a second pod a different address, each serving on its own IP and the same port", async () => {
    await createPod(
      kc,
      standInPod({
        name: "neighbour",
        namespace: namespace.name,
        nodeName,
        container: { args: [listenArg], readinessProbe: readyzProbe },
      }),
    );
    const neighbour = await waitForPod(kc, namespace.name, "neighbour", "to be Ready", isReady);
    const neighbourIP = neighbour.status?.podIP ?? "";
    expect(inPodCIDR(neighbourIP)).toBe(true);
    expect(neighbourIP).not.toBe(podIP);
    const [mine, theirs] = await Promise.all([standInInfo(podIP), standInInfo(neighbourIP)]);
    expect(mine.pid).not.toBe(theirs.pid);
  });

  it("keeps the process output in a log file tests can read", async () => {
    const info = await standInInfo(podIP);
    expect(agent.containerLogFile({ namespace: namespace.name, name: "runner" }, "main")).toMatch(
      /\/main\/0\.log$/,
    );
    expect(agent.readContainerLog({ namespace: namespace.name, name: "runner" }, "main")).toContain(
      `listening on ${podIP}:8080`,
    );
    expect(agent.runningProcesses().get(`${namespace.name}/runner/main`)).toBe(info.pid);
  });
});

describe("containers that finish", () => {
  it("report exit code, reason and the termination message; the pod ends Failed", async () => {
    const message = '{"reason":"RiskLimitBreached","haltId":"h-1"}';
    await createPod(
      kc,
      standInPod({
        name: "breached",
        namespace: namespace.name,
        nodeName,
        container: {
          args: [
            "run",
            "--termination-log=/dev/termination-log",
            "--exit-after-ms=300",
            "--exit-code=3",
            `--message=${message}`,
          ],
        },
      }),
    );
    const pod = await waitForPod(kc, namespace.name, "breached", "to finish", isFinished);
    expect(pod.status?.phase).toBe("Failed");
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    expect(terminated).toMatchObject({ exitCode: 3, reason: "Error", message });
    expect(terminated?.finishedAt).toBeInstanceOf(Date);
  });

  it("report Completed and the pod Succeeded on exit code 0, with the message capped at 4096 bytes", async () => {
    await createPod(
      kc,
      standInPod({
        name: "completed",
        namespace: namespace.name,
        nodeName,
        container: {
          args: [
            "--termination-log=/dev/termination-log",
            "--exit-after-ms=100",
            `--message=${"m".repeat(5000)}`,
          ],
        },
      }),
    );
    const pod = await waitForPod(kc, namespace.name, "completed", "to finish", isFinished);
    expect(pod.status?.phase).toBe("Succeeded");
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    expect(terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
    expect(terminated?.message).toBe("m".repeat(4096));
    expect(pod.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "PodCompleted",
    });
  });

  it("fall back to the last log lines with FallbackToLogsOnError when they wrote no message", async () => {
    await createPod(
      kc,
      standInPod({
        name: "crashed",
        namespace: namespace.name,
        nodeName,
        container: {
          args: ["--exit-after-ms=100", "--exit-code=2", "--stderr=config invalid: symbol missing"],
          terminationMessagePolicy: "FallbackToLogsOnError",
        },
      }),
    );
    const pod = await waitForPod(kc, namespace.name, "crashed", "to finish", isFinished);
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    expect(terminated).toMatchObject({
      exitCode: 2,
      reason: "Error",
      message: "config invalid: symbol missing",
    });
  });

  it("are killed when their liveness probe fails failureThreshold times, and stay terminated under restartPolicy Never", async () => {
    await createPod(
      kc,
      standInPod({
        name: "unhealthy",
        namespace: namespace.name,
        nodeName,
        terminationGracePeriodSeconds: 5,
        container: {
          args: [listenArg, "--unhealthy-after-ms=500", "--sigterm-exit-code=143"],
          livenessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 1, failureThreshold: 2 },
        },
      }),
    );
    const pod = await waitForPod(kc, namespace.name, "unhealthy", "to finish", isFinished);
    expect(pod.status?.phase).toBe("Failed");
    expect(pod.status?.containerStatuses?.[0]).toMatchObject({
      restartCount: 0,
      state: { terminated: { exitCode: 143, reason: "Error" } },
    });
  });
});

describe("init containers", () => {
  const handOff = {
    volumes: [
      { name: "config", configMap: { name: "handoff" } },
      { name: "tmp", emptyDir: {} },
    ],
    mounts: [
      { name: "config", mountPath: "/etc/handoff" },
      { name: "tmp", mountPath: "/tmp" },
    ],
  };

  beforeAll(async () => {
    await core.createNamespacedConfigMap({
      namespace: namespace.name,
      body: { metadata: { name: "handoff" }, data: { "seed.txt": "seeded by the first init container" } },
    });
  });

  it("run to completion, in order, before the containers, sharing the pod's emptyDir", async () => {
    await createPod(
      kc,
      standInPod({
        name: "initialised",
        namespace: namespace.name,
        nodeName,
        initContainers: [
          {
            name: "first",
            args: ["--copy-from=/etc/handoff/seed.txt", "--copy-to=/tmp/step1.txt", "--exit-after-ms=0"],
            volumeMounts: handOff.mounts,
          },
          {
            name: "second",
            args: ["--copy-from=/tmp/step1.txt", "--copy-to=/tmp/step2.txt", "--exit-after-ms=0"],
            volumeMounts: handOff.mounts,
          },
        ],
        container: {
          args: [listenArg, "--show=/tmp/step2.txt"],
          readinessProbe: readyzProbe,
          volumeMounts: handOff.mounts,
        },
        volumes: handOff.volumes,
      }),
    );
    const pod = await waitForPod(kc, namespace.name, "initialised", "to be Ready", isReady);
    expect(pod.status?.initContainerStatuses?.map((s) => [s.name, s.state?.terminated?.reason])).toEqual([
      ["first", "Completed"],
      ["second", "Completed"],
    ]);
    const info = await standInInfo(pod.status?.podIP ?? "");
    expect(info.files.map((f) => f.content)).toEqual(["seeded by the first init container"]);
  });

  it("fail the pod when one fails, and the containers never start", async () => {
    await createPod(
      kc,
      standInPod({
        name: "init-failed",
        namespace: namespace.name,
        nodeName,
        initContainers: [{ name: "migrate", args: ["--exit-after-ms=0", "--exit-code=1"] }],
        container: { args: [listenArg] },
      }),
    );
    const pod = await waitForPod(kc, namespace.name, "init-failed", "to finish", isFinished);
    expect(pod.status?.phase).toBe("Failed");
    expect(pod.status?.initContainerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 1,
      reason: "Error",
    });
    expect(pod.status?.containerStatuses?.[0]?.state?.waiting).toBeDefined();
    expect(
      agent.containerLogFile({ namespace: namespace.name, name: "init-failed" }, "main"),
    ).toBeUndefined();
  });
});

describe("deleting a pod", () => {
  it("sends SIGTERM, lets the process finish within its grace period, then removes the object and the pod folder", async () => {
    const record = recordFile("graceful");
    await createPod(
      kc,
      standInPod({
        name: "graceful",
        namespace: namespace.name,
        nodeName,
        terminationGracePeriodSeconds: 20,
        container: {
          args: [listenArg, `--record=${record}`, "--term-delay-ms=1500"],
          readinessProbe: readyzProbe,
        },
      }),
    );
    const pod = await waitForPod(kc, namespace.name, "graceful", "to be Ready", isReady);
    const pid = (await standInInfo(pod.status?.podIP ?? "")).pid;
    await core.deleteNamespacedPod({ namespace: namespace.name, name: "graceful" });
    await waitForPodGone(kc, namespace.name, "graceful");
    expect(readRecord(record).map((e) => e.event)).toEqual(["started", "listening", "sigterm", "exiting"]);
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(agent.podDir(pod.metadata?.uid ?? ""))).toBe(false);
  });

  it("SIGKILLs a process that ignores SIGTERM once the grace period is over", async () => {
    const record = recordFile("stubborn");
    await createPod(
      kc,
      standInPod({
        name: "stubborn",
        namespace: namespace.name,
        nodeName,
        terminationGracePeriodSeconds: 2,
        container: {
          args: [listenArg, `--record=${record}`, "--on-sigterm=ignore", "--spawn-child"],
          readinessProbe: readyzProbe,
        },
      }),
    );
    const pod = await waitForPod(kc, namespace.name, "stubborn", "to be Ready", isReady);
    const info = await standInInfo(pod.status?.podIP ?? "");
    await core.deleteNamespacedPod({ namespace: namespace.name, name: "stubborn" });
    await waitForPodGone(kc, namespace.name, "stubborn");
    const events = readRecord(record).map((e) => e.event);
    // Still alive after SIGTERM (the grace period), never exiting by itself: killed.
    expect(events.slice(0, 3)).toEqual(["started", "listening", "sigterm"]);
    expect(events.slice(3).length).toBeGreaterThan(0);
    expect(events.slice(3).every((event) => event === "alive")).toBe(true);
    expect(isAlive(info.pid)).toBe(false);
    expect(info.childPid !== undefined && isAlive(info.childPid)).toBe(false);
  });
});
