import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";
import { ClusterView, condition } from "./cluster-view.ts";
import { botManifest } from "./fixtures.ts";
import { applyObjects } from "./harness.ts";
import { type OperatorSuite, startOperatorSuite } from "./suite.ts";

// The operator acts with more power than whoever writes a TradingBot. It must never lend it: an object
// that already has one of a bot's derived names and is not controlled by that bot (someone's ConfigMap,
// a ServiceAccount with a cloud role, a namespace-wide deny-all NetworkPolicy, a pod) is never written,
// and the bot says so. Reproduced as a user would try it: the object first, then a bot named after it.

let suite: OperatorSuite;
let view: ClusterView;
let ns: string;
let access: OperatorSuite["access"];

beforeAll(async () => {
  suite = await startOperatorSuite("nc");
  ({ namespace: ns, access } = suite);
  view = new ClusterView(suite.adminKc);
});

afterAll(() => suite?.stop());

/** The object exactly as the API server holds it: any write would change its resourceVersion too. */
async function snapshot(kind: string, name: string): Promise<string> {
  return (await kubectl(["get", kind, name, "-n", ns, "-o", "json"])).stdout;
}

const foreignObjects = {
  ConfigMap: (name: string) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: ns },
    data: { important: "payroll settings nobody else may change" },
  }),
  ServiceAccount: (name: string) => ({
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: {
      name,
      namespace: ns,
      annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/payroll" },
    },
  }),
  NetworkPolicy: (name: string) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: ns },
    spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
  }),
  Pod: (name: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, labels: { app: "payroll" } },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "payroll",
          image: "registry.local/payroll:1",
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        },
      ],
    },
  }),
  Role: (name: string) => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name, namespace: ns },
    rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
  }),
  RoleBinding: (name: string) => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name, namespace: ns },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
    subjects: [{ kind: "User", name: "payroll-auditor", apiGroup: "rbac.authorization.k8s.io" }],
  }),
} as const;

const cases = [
  { kind: "ConfigMap", bot: "payroll-cm", object: "payroll-cm-config" },
  { kind: "ServiceAccount", bot: "payroll-sa", object: "payroll-sa-runtime" },
  { kind: "NetworkPolicy", bot: "payroll-np", object: "payroll-np-network" },
  { kind: "Pod", bot: "payroll-pod", object: "payroll-pod-runtime" },
  // The halt watch's access: the operator must neither take over a Role nor bind one it did not write.
  { kind: "Role", bot: "payroll-role", object: "payroll-role-halt-watch" },
  { kind: "RoleBinding", bot: "payroll-rb", object: "payroll-rb-halt-watch" },
] as const;

describe("a TradingBot named after objects it does not control", () => {
  for (const { kind, bot, object } of cases) {
    it(`leaves a ${kind} of its name exactly as it was, when the bot is created and when it is deleted, and says NameConflict`, async () => {
      await applyObjects(access, [foreignObjects[kind](object)]);
      if (kind === "Pod") {
        await waitFor(async () => (await view.pod(ns, object))?.status?.phase === "Running", {
          what: "the foreign pod to run",
        });
      }
      const before = await snapshot(kind, object);

      await applyObjects(access, [botManifest(ns, bot)]);
      const conflicted = await view.waitForBot(
        ns,
        bot,
        (b) => condition(b, "Ready")?.reason === "NameConflict",
        "Ready=False NameConflict",
      );
      expect(condition(conflicted, "Ready")).toMatchObject({ status: "False" });
      expect(condition(conflicted, "Ready")?.message).toContain(
        `A ${kind} named ${ns}/${object} exists and is not controlled by this TradingBot`,
      );
      await waitFor(
        async () =>
          (await view.core.listNamespacedEvent({ namespace: ns })).items.some(
            (e) => e.reason === "NameConflict" && e.involvedObject?.name === bot,
          ),
        { what: "a NameConflict Event" },
      );
      expect(await snapshot(kind, object)).toBe(before);
      if (kind !== "Pod") expect(await view.pod(ns, `${bot}-runtime`)).toBeUndefined();
      if (kind === "Role") {
        // Nor is the bot's ServiceAccount bound to the foreign Role.
        const bindings = (await kubectl(["get", "rolebindings", "-n", ns, "-o", "json"])).stdout;
        expect(
          JSON.parse(bindings).items.map((b: { roleRef: { name: string } }) => b.roleRef.name),
        ).not.toContain(object);
      }

      await kubectl(["delete", "tb", bot, "-n", ns, "--timeout=60s"]);
      expect(await snapshot(kind, object)).toBe(before);
    });
  }

  it("runs once the foreign object is gone", async () => {
    await applyObjects(access, [foreignObjects.ConfigMap("late-config")]);
    await applyObjects(access, [botManifest(ns, "late")]);
    await view.waitForBot(
      ns,
      "late",
      (b) => condition(b, "Ready")?.reason === "NameConflict",
      "NameConflict",
    );
    await kubectl(["delete", "configmap", "late-config", "-n", ns]);
    await view.waitForBot(
      ns,
      "late",
      (b) => condition(b, "Ready")?.status === "True",
      "Ready once the ConfigMap is gone",
      90_000,
    );
  });
});
