// Every option of the chart on (ci/all-options-values.yaml), installed next to the Prometheus Operator's
// CRDs: the ServiceMonitor, PodMonitor and PrometheusRule pass their real schemas and are stored as
// rendered (nothing pruned), the operator's pods are admitted under `restricted`, and uninstall removes it all.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";
import { objectsLabelled, refText } from "./cluster-objects.ts";
import { ALL_OPTIONS_VALUES, CHART_PATH, helm, parseManifests } from "./helm.ts";
import { prometheusOperatorCrdFiles } from "./prometheus-operator.ts";

const RESTRICTED = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/enforce-version": "latest",
};
/** ci/all-options-values.yaml names it; the test creates it, as a cluster admin would. */
const PRIORITY_CLASS = "trading-operator-critical";

/** Whether every field of `expected` is in `actual` with the same value (arrays: element by element). */
function containsAll(actual: unknown, expected: unknown): boolean {
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((item, index) => containsAll(actual[index], item))
    );
  }
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object") return false;
    return Object.entries(expected).every(([key, value]) =>
      containsAll((actual as Record<string, unknown>)[key], value),
    );
  }
  return actual === expected;
}

describe("the chart with every option on", () => {
  const kc = adminKubeConfig();
  const release = `tbo-all-${randomBytes(3).toString("hex")}`;
  let namespace: TestNamespace;
  let deskA: TestNamespace;
  let deskB: TestNamespace;

  beforeAll(async () => {
    for (const file of prometheusOperatorCrdFiles()) {
      await kubectl(["apply", "--server-side", "--force-conflicts", `--filename=${file}`]);
    }
    await kubectl([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/servicemonitors.monitoring.coreos.com",
      "crd/podmonitors.monitoring.coreos.com",
      "crd/prometheusrules.monitoring.coreos.com",
    ]);
    await kubectl(["apply", "--server-side", "--filename=-"], {
      input: JSON.stringify({
        apiVersion: "scheduling.k8s.io/v1",
        kind: "PriorityClass",
        metadata: { name: PRIORITY_CLASS },
        value: 1_000_000,
        description: "The trading operator enforces kill switches.",
      }),
    });
    [namespace, deskA, deskB] = await Promise.all([
      createTestNamespace(kc, "chart-all", RESTRICTED),
      createTestNamespace(kc, "chart-all-desk-a", RESTRICTED),
      createTestNamespace(kc, "chart-all-desk-b", RESTRICTED),
    ]);
  });
  afterAll(async () => {
    await helm(["uninstall", release, `--namespace=${namespace?.name}`, "--ignore-not-found"], {
      allowFailure: true,
    });
    await Promise.all([namespace, deskA, deskB].map((ns) => ns?.cleanup()));
    await kubectl(["delete", "priorityclass", PRIORITY_CLASS, "--ignore-not-found"]);
  });

  it("installs, with its monitoring objects stored exactly as rendered, and uninstalls without a trace", async () => {
    const started = performance.now();
    await helm([
      "install",
      release,
      CHART_PATH,
      `--namespace=${namespace.name}`,
      `--values=${ALL_OPTIONS_VALUES}`,
      // The file's namespaces and 3 replicas with required anti-affinity need a real cluster's nodes and
      // namespaces: here, the test's namespaces and the two fake nodes.
      `--set=watch.namespaces={${deskA.name},${deskB.name}}`,
      "--set=replicaCount=2",
      // The release's TradingPolicy applies to its own namespaces only: the suites share one cluster.
      `--set-json=tradingPolicy.spec.namespaces=["${deskA.name}","${deskB.name}"]`,
      "--wait",
      "--timeout=2m",
    ]);
    console.log(
      `[chart] helm install --wait with every option on: ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    const { stdout } = await helm(["get", "manifest", release, `--namespace=${namespace.name}`]);
    const manifests = parseManifests(stdout);
    const monitoring = manifests.filter((m) => m.apiVersion === "monitoring.coreos.com/v1");
    expect(monitoring.map((m) => m.kind).sort()).toEqual(["PodMonitor", "PrometheusRule", "ServiceMonitor"]);
    for (const rendered of monitoring) {
      const { stdout: live } = await kubectl([
        "get",
        `${rendered.kind.toLowerCase()}.monitoring.coreos.com`,
        rendered.metadata.name,
        `--namespace=${rendered.metadata.namespace}`,
        "--output=json",
      ]);
      const stored = JSON.parse(live) as { spec: unknown };
      expect(
        containsAll(stored.spec, rendered.spec),
        `${rendered.kind} ${rendered.metadata.name} as rendered`,
      ).toBe(true);
    }
    const { stdout: pods } = await kubectl([
      "get",
      "pods",
      `--namespace=${namespace.name}`,
      `--selector=app.kubernetes.io/instance=${release},app.kubernetes.io/component=operator`,
      "--output=jsonpath={.items[*].status.phase}",
    ]);
    expect(pods.split(" ")).toEqual(["Running", "Running"]);
    // The console with a certificate, users and session keys from existing Secrets, and an Ingress.
    const { stdout: consolePods } = await kubectl([
      "get",
      "pods",
      `--namespace=${namespace.name}`,
      `--selector=app.kubernetes.io/instance=${release},app.kubernetes.io/component=console`,
      "--output=jsonpath={.items[*].status.phase}",
    ]);
    expect(consolePods).toBe("Running");
    expect(manifests.filter((m) => m.kind === "Ingress").map((m) => m.metadata.name)).toEqual([
      "trading-operator-console",
    ]);

    await helm(["uninstall", release, `--namespace=${namespace.name}`, "--wait", "--timeout=2m"]);
    await waitFor(async () => (await objectsLabelled(`app.kubernetes.io/instance=${release}`)).length === 0, {
      what: `every object of ${release} to be gone`,
      timeoutMs: 90_000,
    }).catch(async (error: Error) => {
      const left = await objectsLabelled(`app.kubernetes.io/instance=${release}`);
      throw new Error(`${error.message}; left: ${left.map(refText).join(", ")}`);
    });
  });
});
