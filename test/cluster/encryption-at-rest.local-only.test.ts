import { randomBytes } from "node:crypto";
import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { readEtcdValue } from "./etcd-raw.ts";
import { localControlPlane } from "./local-only-guard.ts";

describe("encryption of Secrets at rest", () => {
  const cluster = localControlPlane("encryption of Secrets at rest");
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  let namespace: TestNamespace;

  beforeAll(async () => {
    namespace = await createTestNamespace(kc, "encryption");
  });
  afterAll(() => namespace?.cleanup());

  it("stores a Secret's value in etcd only in encrypted form, and serves it decrypted", async () => {
    const value = `api-secret-${randomBytes(12).toString("hex")}`;
    await core.createNamespacedSecret({
      namespace: namespace.name,
      body: { metadata: { name: "exchange-credentials" }, stringData: { secret: value } },
    });

    const raw = await readEtcdValue(cluster.etcd, `/registry/secrets/${namespace.name}/exchange-credentials`);
    expect(raw, "the Secret's key exists in etcd").toBeDefined();
    const stored = raw ?? Buffer.alloc(0);
    expect(stored.subarray(0, 26).toString("latin1")).toBe("k8s:enc:secretbox:v1:key1:");
    expect(stored.includes(value)).toBe(false);
    expect(stored.includes(Buffer.from(value).toString("base64"))).toBe(false);

    const served = await core.readNamespacedSecret({
      name: "exchange-credentials",
      namespace: namespace.name,
    });
    expect(Buffer.from(served.data?.secret ?? "", "base64").toString("utf8")).toBe(value);
  });

  it("leaves other resources unencrypted, so the check above is not vacuous", async () => {
    const value = `plain-${randomBytes(8).toString("hex")}`;
    await core.createNamespacedConfigMap({
      namespace: namespace.name,
      body: { metadata: { name: "plain" }, data: { key: value } },
    });
    const raw = await readEtcdValue(cluster.etcd, `/registry/configmaps/${namespace.name}/plain`);
    expect(raw?.includes(value)).toBe(true);
  });
});
