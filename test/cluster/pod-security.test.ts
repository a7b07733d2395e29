import { CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterContext } from "../support/context.ts";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { waitFor } from "../support/wait-for.ts";

const image = "registry.k8s.io/pause:3.10";

function restrictedPod(name: string): V1Pod {
  return {
    metadata: { name },
    spec: {
      automountServiceAccountToken: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 65534,
        runAsGroup: 65534,
        seccompProfile: { type: "RuntimeDefault" },
      },
      containers: [
        {
          name: "main",
          image,
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          },
        },
      ],
    },
  };
}

describe("a namespace labelled pod-security.kubernetes.io/enforce=restricted", () => {
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  let namespace: TestNamespace;

  beforeAll(async () => {
    namespace = await createTestNamespace(kc, "pod-security", {
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/enforce-version": "latest",
    });
  });
  afterAll(() => namespace?.cleanup());

  it("rejects a privileged pod with a PodSecurity violation", async () => {
    const privileged: V1Pod = {
      metadata: { name: "privileged" },
      spec: { containers: [{ name: "main", image, securityContext: { privileged: true } }] },
    };
    const error = await core.createNamespacedPod({ namespace: namespace.name, body: privileged }).then(
      () => undefined,
      (e: { code?: number; body?: string }) => e,
    );
    expect(error?.code).toBe(403);
    const status = JSON.parse(error?.body ?? "{}") as { reason?: string; message?: string };
    expect(status.reason).toBe("Forbidden");
    expect(status.message).toContain('violates PodSecurity "restricted:latest": privileged');
  });

  it("admits a restricted pod, which is scheduled to a node and reaches phase Running", async () => {
    await core.createNamespacedPod({ namespace: namespace.name, body: restrictedPod("restricted") });
    const pod = await waitFor(
      async () => {
        const current = await core.readNamespacedPod({ name: "restricted", namespace: namespace.name });
        return current.status?.phase === "Running" ? current : undefined;
      },
      { what: `pod ${namespace.name}/restricted to reach phase Running`, timeoutMs: 90_000 },
    );
    expect(pod.spec?.nodeName).toBeTruthy();
    const cluster = clusterContext();
    if (cluster.kind === "local") {
      // On the local control plane only KWOK's fake nodes can run pods.
      expect(cluster.fakeNodes).toContain(pod.spec?.nodeName);
    }
  });
});
