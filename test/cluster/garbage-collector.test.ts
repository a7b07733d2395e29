import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { waitFor } from "../support/wait-for.ts";

describe("the garbage collector", () => {
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  let namespace: TestNamespace;

  beforeAll(async () => {
    namespace = await createTestNamespace(kc, "garbage-collector");
  });
  afterAll(() => namespace?.cleanup());

  it("deletes a ConfigMap once its owner is deleted", async () => {
    const ns = namespace.name;
    const owner = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "owner" } },
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: {
          name: "owned",
          ownerReferences: [
            { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata?.uid ?? "" },
          ],
        },
        data: { key: "value" },
      },
    });
    await core.deleteNamespacedConfigMap({ name: "owner", namespace: ns });

    const status = await waitFor(
      () =>
        core.readNamespacedConfigMap({ name: "owned", namespace: ns }).then(
          () => undefined,
          (e: { code?: number }) => e.code,
        ),
      {
        what: `ConfigMap ${ns}/owned to be garbage-collected after its owner was deleted`,
        timeoutMs: 60_000,
      },
    );
    expect(status).toBe(404);
  });
});
