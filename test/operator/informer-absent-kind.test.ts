import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { KubeApi, KubeClient } from "../../operator/kube/client.ts";
import { Informer } from "../../operator/kube/informer.ts";
import { loadConnection } from "../../operator/kube/kubeconfig.ts";
import { ObjectCache } from "../../operator/kube/object-cache.ts";
import type { ResourceType } from "../../operator/kube/resources.ts";
import type { KubeObject } from "../../operator/kube/types.ts";
import { FIELD_MANAGER } from "../../operator/names.ts";
import { clusterContext } from "../support/context.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";

// The operator watches TradingPolicies, a kind an upgrade that kept the old CRDs does not serve yet. Its
// informer must not hold the operator back (halts included) while the kind is absent: a 404 is "synced,
// none exist", and it looks again until the kind appears. Against the real API server, with a kind of
// this test's own that is served only once the test installs its CRD.

const cluster = clusterContext();
const group = `absent-${randomBytes(3).toString("hex")}.test.botops.dev`;
const type: ResourceType = { group, version: "v1", kind: "Probe", plural: "probes", namespaced: false };
const crdName = `${type.plural}.${group}`;

const crd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: crdName },
  spec: {
    group,
    names: { kind: type.kind, listKind: `${type.kind}List`, plural: type.plural, singular: "probe" },
    scope: "Cluster",
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      },
    ],
  },
};

let informer: Informer<KubeObject> | undefined;

afterAll(async () => {
  await informer?.stop();
  await kubectl(["delete", "crd", crdName, "--ignore-not-found", "--wait=false"], { allowFailure: true });
});

describe("an informer of a kind the API server does not serve", () => {
  it("is synced and empty at once, and sees the kind's objects once its CRD is installed", async () => {
    const api = new KubeApi(
      new KubeClient(loadConnection(cluster.kubeconfigPath), { qps: 100, burst: 100 }),
      FIELD_MANAGER,
    );
    const cache = new ObjectCache<KubeObject>((object) => object);
    informer = new Informer<KubeObject>({
      api,
      type,
      cache,
      absentRetryMs: 500,
      onRestart: () => {},
      logger: pino({ level: "silent" }),
    });
    informer.start();
    await informer.waitForSync();
    expect(informer.synced).toBe(true);
    expect(cache.size).toBe(0);

    await kubectl(["apply", "-f", "-"], { input: JSON.stringify(crd) });
    await kubectl(["wait", "--for=condition=Established", "--timeout=60s", `crd/${crdName}`]);
    await kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({ apiVersion: `${group}/v1`, kind: type.kind, metadata: { name: "first" } }),
    });
    await waitFor(() => cache.get("first") !== undefined, { what: "the informer to list the new kind" });
    // And it watches it from there.
    await kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({ apiVersion: `${group}/v1`, kind: type.kind, metadata: { name: "second" } }),
    });
    await waitFor(() => cache.get("second") !== undefined, { what: "the watch to deliver the next object" });
  });
});
