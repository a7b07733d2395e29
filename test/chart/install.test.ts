// The chart against a real API server: installed into a namespace that enforces the `restricted` Pod
// Security Standard, run (the operator from the sources, with the release's ServiceAccount and the
// Deployment's flags), upgraded into namespace-scoped mode, and uninstalled without a trace but the CRDs.
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consoleRbac } from "../../console/rbac.ts";
import { BOT_NAMESPACE_RULES, CLUSTER_RULES } from "../../operator/ops/rbac-rules.ts";
import { clusterContext } from "../support/context.ts";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";
import {
  type ObjectRef,
  objectsInNamespace,
  objectsLabelled,
  refText,
  runOperatorAsRelease,
  serviceAccountCan,
} from "./cluster-objects.ts";
import { CHART_PATH, helm, parseManifests, REPO_ROOT } from "./helm.ts";

const RESTRICTED = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/enforce-version": "latest",
  "pod-security.kubernetes.io/warn": "restricted",
  "pod-security.kubernetes.io/audit": "restricted",
};
const CRDS = [
  "tradingbots.trading.botops.dev",
  "killswitches.trading.botops.dev",
  "tradingpolicies.trading.botops.dev",
];

interface PodJson {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: { phase?: string; conditions?: { type: string; status: string }[] };
}

describe("helm install, upgrade and uninstall on a live cluster", () => {
  const kc = adminKubeConfig();
  const release = `tbo-${randomBytes(3).toString("hex")}`;
  const fullname = `${release}-tradingbot-operator`;
  const logDir = join(REPO_ROOT, ".local", "test-chart", release);
  const serviceAccount = () => ({ namespace: namespace.name, name: fullname });
  let namespace: TestNamespace;
  let deskA: TestNamespace;
  let deskB: TestNamespace;
  let elsewhere: TestNamespace;
  let released: ObjectRef[] = [];

  beforeAll(async () => {
    mkdirSync(logDir, { recursive: true });
    [namespace, deskA, deskB, elsewhere] = await Promise.all([
      createTestNamespace(kc, "chart", RESTRICTED),
      createTestNamespace(kc, "chart-desk-a", RESTRICTED),
      createTestNamespace(kc, "chart-desk-b", RESTRICTED),
      createTestNamespace(kc, "chart-other", RESTRICTED),
    ]);
  });
  afterAll(async () => {
    await helm(["uninstall", release, `--namespace=${namespace.name}`, "--ignore-not-found"], {
      allowFailure: true,
    });
    await Promise.all([namespace, deskA, deskB, elsewhere].map((ns) => ns?.cleanup()));
  });

  const operatorPods = async (): Promise<PodJson[]> => {
    const { stdout } = await kubectl([
      "get",
      "pods",
      `--namespace=${namespace.name}`,
      `--selector=app.kubernetes.io/instance=${release},app.kubernetes.io/component=operator`,
      "--output=json",
    ]);
    return (JSON.parse(stdout) as { items: PodJson[] }).items;
  };
  const consolePods = async (): Promise<PodJson[]> => {
    const { stdout } = await kubectl([
      "get",
      "pods",
      `--namespace=${namespace.name}`,
      `--selector=app.kubernetes.io/instance=${release},app.kubernetes.io/component=console`,
      "--output=json",
    ]);
    return (JSON.parse(stdout) as { items: PodJson[] }).items;
  };
  const deploymentArgs = async (): Promise<string[]> => {
    const { stdout } = await kubectl([
      "get",
      "deployment",
      fullname,
      `--namespace=${namespace.name}`,
      "--output=jsonpath={.spec.template.spec.containers[0].args}",
    ]);
    return JSON.parse(stdout) as string[];
  };

  it("installs into a namespace enforcing restricted: CRDs Established, operator pods admitted and Running", async () => {
    const started = performance.now();
    const install = await helm([
      "install",
      release,
      CHART_PATH,
      `--namespace=${namespace.name}`,
      // The release's TradingPolicy applies to its own namespace only: the suites share one cluster.
      `--set-json=tradingPolicy.spec.namespaces=["${namespace.name}"]`,
      "--wait",
      "--timeout=2m",
    ]);
    const seconds = (performance.now() - started) / 1000;
    console.log(`[chart] helm install --wait of ${release}: ${seconds.toFixed(1)} s`);

    // NOTES.txt tells how to create a bot, halt it, and halt a fleet, and how to reach the console.
    expect(install.stdout).toContain(
      `kubectl port-forward -n ${namespace.name} svc/${fullname}-console 8443:8443`,
    );
    expect(install.stdout).toContain(
      `kubectl get secret ${fullname}-console-first-user -n ${namespace.name} -o jsonpath='{.data.password}' | base64 -d`,
    );
    expect(install.stdout).toContain("kubectl patch tradingbot grid-btc-paper");
    expect(install.stdout).toContain('{"spec":{"killSwitch":{"engaged":true');
    expect(install.stdout).toContain('"kind":"KillSwitch"');
    // Pod Security admission would have warned (warn=restricted) about any violation.
    expect(install.stderr).not.toMatch(/violate|PodSecurity/i);

    for (const crd of CRDS) {
      const { stdout } = await kubectl([
        "get",
        "crd",
        crd,
        "--output=jsonpath={.status.conditions[?(@.type=='Established')].status}",
      ]);
      expect(stdout, crd).toBe("True");
    }
    const pods = await waitFor(
      async () => {
        const current = await operatorPods();
        return current.length === 2 && current.every((p) => p.status.phase === "Running")
          ? current
          : undefined;
      },
      { what: `2 Running operator pods in ${namespace.name}`, timeoutMs: 60_000 },
    );
    for (const pod of pods) {
      expect(pod.status.conditions?.find((c) => c.type === "Ready")?.status, pod.metadata.name).toBe("True");
      if (clusterContext().kind === "local") expect(clusterContext().fakeNodes).toContain(pod.spec.nodeName);
    }
    const { stdout: manifest } = await helm(["get", "manifest", release, `--namespace=${namespace.name}`]);
    released = parseManifests(manifest).map((m) => ({
      kind: m.kind,
      name: m.metadata.name,
      ...(m.metadata.namespace ? { namespace: m.metadata.namespace } : {}),
    }));
    expect(released.map((ref) => ref.kind).sort()).toEqual(
      [
        "ClusterRole",
        "ClusterRole",
        "ClusterRole",
        "ClusterRole",
        "ClusterRole",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterRoleBinding",
        "ClusterRoleBinding",
        "ClusterRoleBinding",
        "Deployment",
        "Deployment",
        "Lease",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "NetworkPolicy",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Role",
        "RoleBinding",
        "Secret",
        "Secret",
        "Service",
        "Service",
        "ServiceAccount",
        "ServiceAccount",
        "TradingPolicy",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingAdmissionPolicyBinding",
      ].sort(),
    );
  });

  it("admits the console's pod under restricted, with exactly console/rbac.ts's rights, and keeps its Secrets on upgrade", async () => {
    const consoleName = `${fullname}-console`;
    const pods = await waitFor(
      async () => {
        const current = await consolePods();
        return current.length === 1 && current.every((p) => p.status.phase === "Running")
          ? current
          : undefined;
      },
      { what: `a Running console pod in ${namespace.name}`, timeoutMs: 60_000 },
    );
    if (clusterContext().kind === "local")
      expect(clusterContext().fakeNodes).toContain(pods[0]?.spec.nodeName);

    const { stdout: rules } = await kubectl([
      "get",
      "clusterrole",
      consoleName,
      "--output=jsonpath={.rules}",
    ]);
    const expected = consoleRbac({
      name: consoleName,
      namespace: namespace.name,
      serviceAccount: consoleName,
      users: ["admin"],
      groups: ["tradingbot-console-admins"],
    }).find((object) => object.kind === "ClusterRole") as unknown as { rules: unknown[] };
    expect(JSON.parse(rules)).toEqual(expected.rules);

    // What the API server's authorizer answers for the console's ServiceAccount.
    const as = `--as=system:serviceaccount:${namespace.name}:${consoleName}`;
    const can = async (...args: string[]) =>
      (await kubectl(["auth", "can-i", ...args, as], { allowFailure: true })).stdout.trim() === "yes";
    expect(await can("impersonate", "users/admin")).toBe(true);
    expect(await can("impersonate", "users/someone-else")).toBe(false);
    expect(await can("impersonate", "groups/tradingbot-console-admins")).toBe(true);
    expect(await can("impersonate", "groups/system:masters")).toBe(false);
    expect(await can("impersonate", "serviceaccounts", "--all-namespaces")).toBe(false);
    for (const resource of ["tradingbots.trading.botops.dev", "killswitches.trading.botops.dev", "events"]) {
      expect(await can("watch", resource, "--all-namespaces"), resource).toBe(true);
    }
    expect(await can("create", "killswitches.trading.botops.dev")).toBe(false);
    expect(await can("patch", "tradingbots.trading.botops.dev", "--all-namespaces")).toBe(false);
    expect(await can("get", "secrets", `--namespace=${namespace.name}`)).toBe(false);
    expect(await can("create", "pods/portforward", `--namespace=${namespace.name}`)).toBe(false);
    // The first user's group may halt, through the release's halter role, and no more.
    const asAdmin = ["--as=admin", "--as-group=tradingbot-console-admins"];
    expect(await can("patch", "killswitches.trading.botops.dev", ...asAdmin)).toBe(true);
    expect(await can("patch", "tradingbots.trading.botops.dev", "--all-namespaces", ...asAdmin)).toBe(true);
    expect(await can("delete", "tradingbots.trading.botops.dev", "--all-namespaces", ...asAdmin)).toBe(false);

    const secret = async (name: string) => {
      const { stdout } = await kubectl([
        "get",
        "secret",
        name,
        `--namespace=${namespace.name}`,
        "--output=jsonpath={.data}",
      ]);
      return JSON.parse(stdout) as Record<string, string>;
    };
    const before = [await secret(`${consoleName}-session-keys`), await secret(`${consoleName}-first-user`)];
    expect(Buffer.from(before[1]?.password ?? "", "base64").toString()).toMatch(/^[A-Za-z0-9]{24}$/);
    await helm(["upgrade", release, CHART_PATH, `--namespace=${namespace.name}`, "--reuse-values"]);
    expect([await secret(`${consoleName}-session-keys`), await secret(`${consoleName}-first-user`)]).toEqual(
      before,
    );
  });

  it("gives the operator what it needs: run with the release's ServiceAccount and flags, it syncs and leads", async () => {
    const operator = await runOperatorAsRelease({
      namespace: namespace.name,
      deployment: fullname,
      serviceAccount: fullname,
      identity: `${fullname}-cluster-mode`,
      logDir,
    });
    await waitFor(async () => (await operator.metrics()).includes("\ntradingbot_operator_leader 1\n"), {
      what: "the operator to take the release's Lease",
    });
    const { stdout: holder } = await kubectl([
      "get",
      "lease",
      `${fullname}-leader`,
      `--namespace=${namespace.name}`,
      "--output=jsonpath={.spec.holderIdentity}",
    ]);
    expect(holder).toBe(operator.identity);
    expect(await operator.stop()).toBe("exit code 0");
  });

  it("upgrades to 3 replicas, debug logging and namespace-scoped RBAC, which the operator runs with", async () => {
    await helm([
      "upgrade",
      release,
      CHART_PATH,
      `--namespace=${namespace.name}`,
      "--reuse-values",
      "--set=replicaCount=3",
      "--set=operator.logLevel=debug",
      `--set=watch.namespaces={${deskA.name},${deskB.name}}`,
      "--wait",
      "--timeout=2m",
    ]);
    const args = await deploymentArgs();
    expect(args).toContain("--log-level=debug");
    expect(args).toContain(`--namespaces=${deskA.name},${deskB.name}`);
    await waitFor(
      async () => {
        const pods = await operatorPods();
        return (
          pods.length === 3 &&
          pods.every(
            (p) =>
              p.status.phase === "Running" &&
              p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
          )
        );
      },
      { what: "3 Ready operator pods", timeoutMs: 90_000 },
    );

    const sa = serviceAccount();
    for (const desk of [deskA.name, deskB.name]) {
      expect(await serviceAccountCan(sa, "create", "pods", desk), `create pods in ${desk}`).toBe(true);
      expect(await serviceAccountCan(sa, "watch", "secrets", desk), `watch secrets in ${desk}`).toBe(true);
    }
    expect(await serviceAccountCan(sa, "create", "pods", elsewhere.name)).toBe(false);
    expect(await serviceAccountCan(sa, "list", "secrets", elsewhere.name)).toBe(false);
    expect(await serviceAccountCan(sa, "list", "tradingbots.trading.botops.dev", "all")).toBe(false);
    expect(await serviceAccountCan(sa, "watch", "killswitches.trading.botops.dev", "all")).toBe(true);
    const { stdout } = await kubectl(["get", "clusterrole", fullname, "--output=jsonpath={.rules}"]);
    expect(JSON.parse(stdout)).toEqual(CLUSTER_RULES.map(({ why: _why, ...rule }) => rule));
    const { stdout: roleRules } = await kubectl([
      "get",
      "role",
      fullname,
      `--namespace=${deskA.name}`,
      "--output=jsonpath={.rules}",
    ]);
    expect(JSON.parse(roleRules)).toEqual(BOT_NAMESPACE_RULES.map(({ why: _why, ...rule }) => rule));

    const operator = await runOperatorAsRelease({
      namespace: namespace.name,
      deployment: fullname,
      serviceAccount: fullname,
      identity: `${fullname}-namespaced-mode`,
      logDir,
    });
    expect(operator.process.logTail(200)).not.toMatch(/forbidden|\b403\b/i);
    expect(await operator.stop()).toBe("exit code 0");

    const { stdout: manifest } = await helm(["get", "manifest", release, `--namespace=${namespace.name}`]);
    released = parseManifests(manifest).map((m) => ({
      kind: m.kind,
      name: m.metadata.name,
      ...(m.metadata.namespace ? { namespace: m.metadata.namespace } : {}),
    }));
    expect(
      released
        .filter((ref) => ref.kind === "Role")
        .map((ref) => ref.namespace)
        .sort(),
    ).toEqual([namespace.name, deskA.name, deskB.name].sort());
  });

  it("uninstalls everything it created, in every namespace and cluster-wide, and leaves the CRDs", async () => {
    expect(released.length).toBeGreaterThan(10);
    await helm(["uninstall", release, `--namespace=${namespace.name}`, "--wait", "--timeout=2m"]);

    // Pods, ReplicaSets and EndpointSlices carry the release's labels too; garbage collection removes them.
    await waitFor(async () => (await objectsLabelled(`app.kubernetes.io/instance=${release}`)).length === 0, {
      what: `every object labelled app.kubernetes.io/instance=${release} to be gone`,
      timeoutMs: 90_000,
    }).catch(async (error: Error) => {
      const left = await objectsLabelled(`app.kubernetes.io/instance=${release}`);
      throw new Error(`${error.message}; left: ${left.map(refText).join(", ")}`);
    });
    for (const ref of released) {
      const result = await kubectl(
        [
          "get",
          ref.kind,
          ref.name,
          ...(ref.namespace ? [`--namespace=${ref.namespace}`] : []),
          "--ignore-not-found",
          "--output=name",
        ],
        { allowFailure: true },
      );
      expect(result.stdout.trim(), refText(ref)).toBe("");
    }
    // What is left in the release's namespace is what Kubernetes puts in every namespace, nothing of Helm's.
    const left = await waitFor(
      async () => {
        const objects = await objectsInNamespace(namespace.name);
        return objects.every((ref) => ref.kind !== "Pod" && ref.kind !== "Endpoints") ? objects : undefined;
      },
      { what: `the pods of ${namespace.name} to be gone`, timeoutMs: 60_000 },
    );
    expect(left.map(refText).sort()).toEqual(
      [`ConfigMap ${namespace.name}/kube-root-ca.crt`, `ServiceAccount ${namespace.name}/default`].sort(),
    );
    for (const desk of [deskA, deskB]) {
      const objects = await objectsInNamespace(desk.name);
      expect(objects.map(refText).sort(), desk.name).toEqual(
        [`ConfigMap ${desk.name}/kube-root-ca.crt`, `ServiceAccount ${desk.name}/default`].sort(),
      );
    }
    for (const crd of CRDS) {
      const { stdout } = await kubectl(["get", "crd", crd, "--output=name"]);
      expect(stdout.trim()).toBe(`customresourcedefinition.apiextensions.k8s.io/${crd}`);
    }
  });
});
