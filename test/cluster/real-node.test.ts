import { execFile } from "node:child_process";
import { readlinkSync } from "node:fs";
import { promisify } from "node:util";
import { CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";
import { probeImage } from "./node-images.ts";
import { realNodeLabel, realNodeTaint } from "./real-node.ts";
import { realNodeContext } from "./real-node-setup.ts";

const run = promisify(execFile);

let kc: KubeConfig;
let core: CoreV1Api;
let namespace: TestNamespace;

/** A pod of the probe image (node-images.ts) that only the real node accepts. */
function probePod(name: string, port: number): V1Pod {
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      nodeSelector: { [realNodeLabel.key]: realNodeLabel.value },
      tolerations: [{ key: realNodeTaint.key, operator: "Exists", effect: realNodeTaint.effect }],
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "probe",
          image: probeImage,
          imagePullPolicy: "Never",
          args: ["serve", `:${port}`],
          ports: [{ containerPort: port }],
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
          },
        },
      ],
    },
  };
}

async function waitForRunning(name: string): Promise<V1Pod> {
  return waitFor(
    async () => {
      const pod = await core.readNamespacedPod({ name, namespace: namespace.name });
      return pod.status?.phase === "Running" && pod;
    },
    { what: `pod ${name} to run on the real node`, timeoutMs: 90_000 },
  );
}

const crictl = async (args: string[]) => {
  const { crictlPath, containerdSocket } = realNodeContext();
  return (await run(crictlPath, [`--runtime-endpoint=unix://${containerdSocket}`, ...args])).stdout;
};

/** `kubectl exec <pod> -- /probe get <url>`: the probe prints the status line, then the body. */
const probeGet = (pod: string, url: string) =>
  kubectl(["exec", "--namespace", namespace.name, pod, "--", "/probe", "get", url]).then((r) => r.stdout);

beforeAll(async () => {
  kc = adminKubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  namespace = await createTestNamespace(kc, "real-node");
  await core.createNamespacedPod({ namespace: namespace.name, body: probePod("server", 8080) });
  await core.createNamespacedPod({ namespace: namespace.name, body: probePod("client", 8081) });
  await core.createNamespacedService({
    namespace: namespace.name,
    body: {
      metadata: { name: "server" },
      spec: { selector: { app: "server" }, ports: [{ port: 80, targetPort: 8080 }] },
    },
  });
  await Promise.all([waitForRunning("server"), waitForRunning("client")]);
});

afterAll(async () => {
  await namespace?.cleanup();
});

describe("a real node (kubelet, containerd, runc, CNI) joined to the local control plane", () => {
  it("is Ready, labelled and tainted so that only pods meant for it land there", async () => {
    const node = await core.readNode({ name: realNodeContext().name });
    expect(node.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(node.metadata?.labels?.[realNodeLabel.key]).toBe(realNodeLabel.value);
    expect(node.spec?.taints).toContainEqual(expect.objectContaining(realNodeTaint));
    expect(node.status?.addresses).toContainEqual({
      type: "InternalIP",
      address: realNodeContext().nodeAddress,
    });
  });

  it("runs a pod bound to it as a runc container in its own pid, mount and network namespaces", async () => {
    const pod = await core.readNamespacedPod({ name: "server", namespace: namespace.name });
    expect(pod.spec?.nodeName).toBe(realNodeContext().name);
    const [container] = JSON.parse(
      await crictl(["ps", "--label", `io.kubernetes.pod.uid=${pod.metadata?.uid}`, "--output=json"]),
    ).containers as { id: string }[];
    expect(container).toBeDefined();
    const id = (container as { id: string }).id;
    const { pid } = JSON.parse(await crictl(["inspect", id])).info as { pid: number };
    // runc's own state for the container names the same process.
    const { runcPath, runcRoot } = realNodeContext();
    const state = JSON.parse((await run(runcPath, [`--root=${runcRoot}`, "state", id])).stdout) as {
      pid: number;
      status: string;
    };
    expect(state).toMatchObject({ pid, status: "running" });
    expect(readlinkSync(`/proc/${pid}/exe`)).toMatch(/\/probe( \(deleted\))?$/);
    for (const ns of ["pid", "mnt", "net"]) {
      expect(readlinkSync(`/proc/${pid}/ns/${ns}`), `${ns} namespace`).not.toBe(
        readlinkSync(`/proc/self/ns/${ns}`),
      );
    }
  });

  it("serves kubectl logs and kubectl exec through the kubelet", async () => {
    const logs = await kubectl(["logs", "--namespace", namespace.name, "server"]);
    expect(logs.stdout).toContain("probe serving on :8080");
    expect(await probeGet("server", "http://127.0.0.1:8080/")).toMatch(/^200\nhello from server/);
  });

  it("routes a ClusterIP Service to the pod (kube-proxy)", async () => {
    const service = await core.readNamespacedService({ name: "server", namespace: namespace.name });
    const url = `http://${service.spec?.clusterIP}/`;
    const answer = await waitFor(() => probeGet("client", url), {
      what: `the client pod to reach the server through ${url}`,
      timeoutMs: 60_000,
      intervalMs: 1_000,
    });
    expect(answer).toMatch(/^200\nhello from server/);
  });

  it("lets a pod reach the API server through the `kubernetes` Service", async () => {
    const answer = await waitFor(() => probeGet("client", "https://10.96.0.1/api"), {
      what: "the client pod to reach https://10.96.0.1/api",
      timeoutMs: 60_000,
      intervalMs: 1_000,
    });
    expect(answer).toMatch(/^200\n.*"kind":"APIVersions"/s);
  });
});
