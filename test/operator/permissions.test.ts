import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_VERSION, TRADING_POLICY } from "../../api/v1alpha1/index.ts";
import {
  BOT_NAMESPACE_RULES,
  CLUSTER_RULES,
  LEADER_ELECTION_RULES,
  type PolicyRule,
} from "../../operator/ops/rbac-rules.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";
import { ClusterView, condition } from "./cluster-view.ts";
import { botManifest, DATABASE_SECRET } from "./fixtures.ts";
import { applyObjects } from "./harness.ts";
import { installNamespacedOperatorIdentity } from "./namespaced-identity.ts";
import { type IdentityInstaller, type OperatorSuite, startOperatorSuite } from "./suite.ts";

// Least privilege, shown from the other side: the operator runs with exactly its generated RBAC, goes
// through what it does for a bot's life (run, drift, a Secret's rotation, name conflicts of each kind, a
// KillSwitch halt, deletion, leader election), and every permission of its RBAC is then found among the
// requests it made, none of them refused. A permission nothing here uses is one to remove, or one whose
// use this test is missing. Both ways of installing the operator go through the same life: cluster-wide
// (config/rbac/, one ClusterRole) and namespaced (the chart with `watch.namespaces`: the bot rules as a
// Role in each watched namespace, only the cluster-scoped kinds' rules in a ClusterRole).

/** Permissions that no request of the operator shows, each with why the role still needs it. */
const NOT_A_REQUEST: Record<string, string> = {
  "tradingbots/finalizers:update":
    "checked by the OwnerReferencesPermissionEnforcement admission plugin when an owned object sets " +
    "blockOwnerDeletion; the operator never sends it",
  "tradingbots:get":
    "checked by RBAC's escalation rule when the operator creates a bot's halt-watch Role (get, list and " +
    "watch on that one TradingBot): it may grant only what it holds; the operator reads bots from its cache",
};

/** The two ways the operator's RBAC is installed, each with the permissions it grants. */
const RBAC_MODES: {
  mode: string;
  rbac: string;
  installIdentity: IdentityInstaller | undefined;
  granted: { where: string; rules: PolicyRule[] }[];
}[] = [
  {
    mode: "cluster-wide",
    rbac: "one ClusterRole, from config/rbac/",
    installIdentity: undefined,
    granted: [
      { where: "ClusterRole", rules: [...BOT_NAMESPACE_RULES, ...CLUSTER_RULES] },
      { where: "leader-election Role", rules: LEADER_ELECTION_RULES },
    ],
  },
  {
    mode: "namespaced",
    rbac: "a Role in the watched namespace, as the chart renders watch.namespaces",
    installIdentity: installNamespacedOperatorIdentity,
    granted: [
      { where: "Role of the watched namespace", rules: BOT_NAMESPACE_RULES },
      { where: "ClusterRole", rules: CLUSTER_RULES },
      { where: "leader-election Role", rules: LEADER_ELECTION_RULES },
    ],
  },
];

/** RBAC's verbs for the client's: server-side apply is a patch. */
const rbacVerb = (verb: string) => (verb === "apply" ? "patch" : verb);

const permissionsOf = (rules: PolicyRule[]) =>
  rules.flatMap((rule) =>
    rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${resource}:${verb}`)),
  );

describe.each(RBAC_MODES)("the operator's RBAC, $mode ($rbac)", ({ mode, installIdentity, granted }) => {
  const tag = `perm-${mode}-${randomBytes(3).toString("hex")}`;
  const killSwitch = tag;
  const tradingPolicy = tag;
  let suite: OperatorSuite;
  let view: ClusterView;
  let ns: string;
  let access: OperatorSuite["access"];

  beforeAll(async () => {
    suite = await startOperatorSuite("perm", { extraArgs: ["--kill-switch-status=true"], installIdentity });
    ({ namespace: ns, access } = suite);
    view = new ClusterView(suite.adminKc);
    await applyObjects(access, [
      // A TradingPolicy that allows the sample, so that the operator reads one.
      {
        apiVersion: API_VERSION,
        kind: TRADING_POLICY.kind,
        metadata: { name: tradingPolicy },
        spec: { namespaces: [ns] },
      },
      // One object of each kind with a name a bot below derives, outside the operator's watches.
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "cm-config", namespace: ns },
        data: { a: "b" },
      },
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "sa-runtime", namespace: ns } },
      {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "np-network", namespace: ns },
        spec: { podSelector: {}, policyTypes: ["Egress"] },
      },
    ]);
  });

  afterAll(async () => {
    // The bots go before their namespace: deleting a namespace also deletes a namespaced operator's Role
    // there, and the operator is then refused the finalizer patch that lets a deleted bot go.
    if (ns) {
      await kubectl(["delete", "tradingbots", "--all", "-n", ns, "--wait=true", "--timeout=60s"], {
        allowFailure: true,
      });
    }
    await suite?.stop();
    await kubectl(["delete", "killswitch", killSwitch, "--ignore-not-found"], { allowFailure: true });
    await kubectl(["delete", "tradingpolicy", tradingPolicy, "--ignore-not-found"], { allowFailure: true });
  });

  it("holds no permission the operator does not use, and the operator is refused nothing", async () => {
    // A bot's life: it runs, drifts back, follows its Secret, is halted by a KillSwitch, is deleted.
    await applyObjects(access, [botManifest(ns, "life")]);
    await view.waitForBot(ns, "life", (b) => b.status?.phase === "Running", "Running");
    await kubectl(["label", "serviceaccount", "life-runtime", "-n", ns, "app.kubernetes.io/name-"]);
    await kubectl([
      "patch",
      "tradingbot",
      "life",
      "-n",
      ns,
      "--type=merge",
      "-p",
      '{"spec":{"risk":{"maxOpenOrders":12}}}',
    ]);
    await kubectl([
      "patch",
      "secret",
      DATABASE_SECRET,
      "-n",
      ns,
      "--type=merge",
      "-p",
      '{"stringData":{"password":"rotated"}}',
    ]);
    await waitFor(
      async () =>
        (
          await kubectl(["get", "configmap", "life-config", "-n", ns, "-o", "jsonpath={.data}"])
        ).stdout.includes("12"),
      { what: "the ConfigMap to follow the spec" },
    );
    // Name conflicts: the operator meets each object when its create fails, and reads it.
    await applyObjects(access, [botManifest(ns, "cm"), botManifest(ns, "sa"), botManifest(ns, "np")]);
    for (const name of ["cm", "sa", "np"]) {
      await view.waitForBot(
        ns,
        name,
        (b) => condition(b, "Ready")?.reason === "NameConflict",
        "NameConflict",
      );
    }
    // A pod of a bot's name that is not the bot's, met the same way.
    await applyObjects(access, [
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "pod-runtime", namespace: ns },
        spec: {
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "c",
              image: "registry.local/other:1",
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            },
          ],
        },
      },
      botManifest(ns, "pod"),
    ]);
    await view.waitForBot(ns, "pod", (b) => condition(b, "Ready")?.reason === "NameConflict", "NameConflict");
    await applyObjects(access, [
      {
        apiVersion: API_VERSION,
        kind: "KillSwitch",
        metadata: { name: killSwitch },
        spec: { engaged: true, namespaces: [ns], selector: { matchLabels: { "perm-test": "halt" } } },
      },
    ]);
    await kubectl(["label", "tradingbot", "life", "-n", ns, "perm-test=halt"]);
    await view.waitForBot(ns, "life", (b) => b.status?.phase === "Halted", "Halted");
    await waitFor(
      async () =>
        (await kubectl(["get", "killswitch", killSwitch, "-o", "jsonpath={.status.haltedBots}"])).stdout ===
        "1",
      { what: "the KillSwitch to count the halted bot" },
    );
    await kubectl(["delete", "tradingbot", "life", "-n", ns, "--wait=true", "--timeout=60s"]);

    const requests = (await suite.operator.metrics())
      .split("\n")
      .filter((line) => line.startsWith("tradingbot_operator_api_requests_total{"))
      .map((line) => {
        const labels = Object.fromEntries(
          [...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] ?? "", m[2] ?? ""]),
        );
        return {
          verb: rbacVerb(labels.verb ?? ""),
          resource: labels.resource ?? "",
          code: Number(labels.code),
        };
      });
    expect(requests.filter((r) => r.code === 401 || r.code === 403)).toEqual([]);
    const used = new Set(requests.map((r) => `${r.resource}:${r.verb}`));

    const unused = granted.flatMap(({ where, rules }) =>
      permissionsOf(rules)
        .filter((permission) => !used.has(permission) && NOT_A_REQUEST[permission] === undefined)
        .map((permission) => `${permission} (${where})`),
    );
    expect(unused, `requests made: ${[...used].sort().join(", ")}`).toEqual([]);
  });
});
