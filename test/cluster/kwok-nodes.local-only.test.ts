import { CoreV1Api, type V1Node } from "@kubernetes/client-node";
import { afterAll, describe, expect, it } from "vitest";
import { adminKubeConfig } from "../support/kube.ts";
import { waitFor } from "../support/wait-for.ts";
import { kwokNodeAnnotation } from "./config-files.ts";
import { localControlPlane } from "./local-only-guard.ts";

const readyStatus = (node: V1Node) => node.status?.conditions?.find((c) => c.type === "Ready")?.status;

describe("KWOK's fake nodes", () => {
  const cluster = localControlPlane("KWOK's node management");
  const core = adminKubeConfig().makeApiClient(CoreV1Api);
  const unmanaged = `unmanaged-node-${process.pid}`;
  const managed = `managed-node-${process.pid}`;
  afterAll(() => Promise.all([core.deleteNode({ name: unmanaged }), core.deleteNode({ name: managed })]));

  it("are Ready, annotated for KWOK and large enough for thousands of pods", async () => {
    expect(cluster.fakeNodes.length).toBeGreaterThanOrEqual(2);
    for (const name of cluster.fakeNodes) {
      const node = await core.readNode({ name });
      expect(node.metadata?.annotations?.[kwokNodeAnnotation.key]).toBe(kwokNodeAnnotation.value);
      expect(readyStatus(node)).toBe("True");
      // The API server writes quantities in canonical form: 3000 pods is "3k".
      expect(node.status?.allocatable).toEqual({
        cpu: "64",
        memory: "256Gi",
        "ephemeral-storage": "1Ti",
        pods: "3k",
      });
    }
  });

  it("leave a Node without their annotation alone (room for a real node agent)", async () => {
    // Both nodes are unschedulable so no other suite's pod lands on them; KWOK marking the annotated one Ready
    // proves it has seen both.
    await core.createNode({ body: { metadata: { name: unmanaged }, spec: { unschedulable: true } } });
    await core.createNode({
      body: {
        metadata: { name: managed, annotations: { [kwokNodeAnnotation.key]: kwokNodeAnnotation.value } },
        spec: { unschedulable: true },
      },
    });
    await waitFor(async () => readyStatus(await core.readNode({ name: managed })) === "True", {
      what: `KWOK to mark the annotated Node ${managed} Ready`,
    });
    const node = await core.readNode({ name: unmanaged });
    expect(readyStatus(node)).toBeUndefined();
    expect(node.status?.nodeInfo?.kubeletVersion ?? "").not.toMatch(/kwok/);
  });
});
