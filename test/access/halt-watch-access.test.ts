import { randomBytes } from "node:crypto";
import { AuthorizationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operatorGrantsPolicy } from "../../api/access/policies.ts";
import { RECOMMENDED_HALT_WATCH_AUDIENCE } from "../../api/v1alpha1/index.ts";
import { type Halt, startHaltWatch } from "../../bot-runtime/halt-watch/halt-watch.ts";
import type { KubeEndpoint } from "../../bot-runtime/halt-watch/kube-watch.ts";
import { createMetrics } from "../../bot-runtime/observability/metrics.ts";
import { HALT_WATCH_CLUSTER_RULES } from "../../operator/desired-state/bot-halt-watch-access.ts";
import { ClusterView, condition } from "../operator/cluster-view.ts";
import { botManifest } from "../operator/fixtures.ts";
import { applyObjects } from "../operator/harness.ts";
import { type OperatorSuite, startOperatorSuite } from "../operator/suite.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";

// What a bot's halt-watch token may do, and what the operator may grant, asked of the real API server's
// authorizer (SubjectAccessReview) over lists of verbs and resources, and tried with a real token of the
// bot's ServiceAccount, with the RBAC objects the operator created for it (running with its own role).

let suite: OperatorSuite;
let view: ClusterView;
let ns: string;
let authorization: AuthorizationV1Api;
const BOT = "watcher";
const OTHER = "neighbour";

const prefix = `hwa-${randomBytes(3).toString("hex")}`;
const haltWatchRole = `${prefix}-halt-watch`;

/** `kubectl create --dry-run=server` of `object` as the operator; resolves to the refusal, if any. */
async function createAsOperator(object: object): Promise<string | undefined> {
  const result = await kubectl(["create", `--as=${suite.operatorUser}`, "--dry-run=server", "-f", "-"], {
    input: JSON.stringify(object),
    allowFailure: true,
  });
  return result.exitCode === 0 ? undefined : result.stderr;
}

function roleBindingTo(kind: "Role" | "ClusterRole", role: string, name = `lend-${role}`) {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name, namespace: ns },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name: role },
    subjects: [{ kind: "ServiceAccount", name: `${BOT}-runtime`, namespace: ns }],
  };
}

beforeAll(async () => {
  suite = await startOperatorSuite("hwa", { extraArgs: [`--halt-watch-cluster-role=${haltWatchRole}`] });
  ns = suite.namespace;
  view = new ClusterView(suite.adminKc);
  authorization = suite.adminKc.makeApiClient(AuthorizationV1Api);
  // The chart's objects for this operator: its halt-watch ClusterRole and the policy on what it may grant.
  await applyObjects(suite.access, [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: haltWatchRole },
      rules: HALT_WATCH_CLUSTER_RULES,
    },
    ...operatorGrantsPolicy(prefix, suite.operatorUser),
  ]);
  // Policies are compiled in the background: wait until it acts, then let the operator create the bots'.
  await waitFor(
    async () => (await createAsOperator(roleBindingTo("ClusterRole", "tradingbot-operator"))) !== undefined,
    {
      what: "the operator-grants policy to act",
      timeoutMs: 60_000,
    },
  );
  await applyObjects(suite.access, [botManifest(ns, BOT), botManifest(ns, OTHER)]);
  for (const name of [BOT, OTHER]) {
    await view.waitForBot(ns, name, (b) => condition(b, "Ready")?.status === "True", `${name} Ready`);
  }
});

afterAll(async () => {
  await suite?.stop();
  for (const object of [
    `validatingadmissionpolicybinding/${prefix}-operator-grants`,
    `validatingadmissionpolicy/${prefix}-operator-grants`,
    `clusterrole/${haltWatchRole}`,
  ]) {
    await kubectl(["delete", object, "--ignore-not-found"]);
  }
});

interface Ask {
  verb: string;
  resource: string;
  group?: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

async function allowed(user: string, ask: Ask, groups: string[] = []): Promise<boolean> {
  const review = await authorization.createSubjectAccessReview({
    body: {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: {
        user,
        groups,
        resourceAttributes: {
          verb: ask.verb,
          resource: ask.resource,
          group: ask.group ?? "",
          namespace: ask.namespace,
          name: ask.name,
          subresource: ask.subresource,
        },
      },
    },
  });
  return review.status?.allowed === true;
}

const label = (ask: Ask) =>
  `${ask.verb} ${ask.group ? `${ask.resource}.${ask.group}` : ask.resource}${ask.subresource ? `/${ask.subresource}` : ""}` +
  `${ask.namespace ? ` in ${ask.namespace}` : ""}${ask.name ? ` named ${ask.name}` : ""}`;

async function verdicts(user: string, groups: string[], asks: Ask[]) {
  return Object.fromEntries(
    await Promise.all(asks.map(async (ask) => [label(ask), await allowed(user, ask, groups)])),
  );
}

const trading = "trading.botops.dev";

/** The API server as the bot's runtime reaches it: a token of its ServiceAccount, for the halt watch's audience. */
async function botEndpoint(): Promise<KubeEndpoint> {
  const core = suite.adminKc.makeApiClient(CoreV1Api);
  const token = (
    await core.createNamespacedServiceAccountToken({
      namespace: ns,
      name: `${BOT}-runtime`,
      body: { spec: { audiences: [RECOMMENDED_HALT_WATCH_AUDIENCE], expirationSeconds: 600 } },
    })
  ).status?.token as string;
  const cluster = suite.adminKc.getCurrentCluster();
  if (!cluster?.caData) throw new Error("the admin kubeconfig has no inline CA");
  return { url: cluster.server, ca: Buffer.from(cluster.caData, "base64"), token: () => token };
}

describe("a bot's halt-watch token", () => {
  const botUser = () => `system:serviceaccount:${ns}:${BOT}-runtime`;
  const botGroups = () => ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"];

  it("may get, list and watch its own TradingBot and list and watch KillSwitches", async () => {
    const asks: Ask[] = [
      ...["get", "list", "watch"].map((verb) => ({
        verb,
        resource: "tradingbots",
        group: trading,
        namespace: ns,
        name: BOT,
      })),
      { verb: "list", resource: "killswitches", group: trading },
      { verb: "watch", resource: "killswitches", group: trading },
    ];
    const result = await verdicts(botUser(), botGroups(), asks);
    expect(Object.values(result).every(Boolean), JSON.stringify(result, null, 2)).toBe(true);
  });

  it("may do nothing else: not another bot, not write its own, no Secret, pod, ConfigMap or token", async () => {
    const asks: Ask[] = [
      { verb: "get", resource: "tradingbots", group: trading, namespace: ns, name: OTHER },
      { verb: "list", resource: "tradingbots", group: trading, namespace: ns },
      { verb: "list", resource: "tradingbots", group: trading },
      { verb: "get", resource: "tradingbots", group: trading, namespace: "default", name: BOT },
      ...["update", "patch", "delete"].map((verb) => ({
        verb,
        resource: "tradingbots",
        group: trading,
        namespace: ns,
        name: BOT,
      })),
      {
        verb: "patch",
        resource: "tradingbots",
        group: trading,
        namespace: ns,
        name: BOT,
        subresource: "status",
      },
      { verb: "create", resource: "tradingbots", group: trading, namespace: ns },
      { verb: "get", resource: "killswitches", group: trading, name: "any" },
      ...["create", "update", "patch", "delete"].map((verb) => ({
        verb,
        resource: "killswitches",
        group: trading,
        name: "any",
      })),
      { verb: "list", resource: "tradingpolicies", group: trading },
      ...["get", "list", "watch"].map((verb) => ({ verb, resource: "secrets", namespace: ns })),
      ...["get", "list", "create", "delete"].map((verb) => ({ verb, resource: "pods", namespace: ns })),
      { verb: "create", resource: "pods", namespace: ns, name: `${BOT}-runtime`, subresource: "exec" },
      ...["get", "list", "create", "patch"].map((verb) => ({ verb, resource: "configmaps", namespace: ns })),
      {
        verb: "create",
        resource: "serviceaccounts",
        namespace: ns,
        name: `${BOT}-runtime`,
        subresource: "token",
      },
      { verb: "create", resource: "events", group: "events.k8s.io", namespace: ns },
      { verb: "list", resource: "namespaces" },
      { verb: "create", resource: "rolebindings", group: "rbac.authorization.k8s.io", namespace: ns },
    ];
    const result = await verdicts(botUser(), botGroups(), asks);
    const granted = Object.entries(result).filter(([, ok]) => ok);
    expect(granted).toEqual([]);
  });

  it("keeps a quiet watch confirmed: nothing changes for several watch lifetimes, and the dead man's switch stays still", async () => {
    const metrics = createMetrics();
    const halts: Halt[] = [];
    const watch = startHaltWatch({
      endpoint: await botEndpoint(),
      bot: { namespace: ns, name: BOT },
      configuredOnEngage: "CancelOrders",
      // Short lives so that the test sees several: watches of 2 s, the switch at 5 s, checked every 100 ms.
      watchTimeoutSeconds: 2,
      idleTimeoutMs: 4_000,
      unsupervisedHaltAfterMs: 5_000,
      checkEveryMs: 100,
      onHalt: (halt) => halts.push(halt),
      log: pino({ level: "silent" }),
      metrics,
    });
    try {
      let worst = 0;
      const started = Date.now();
      await waitFor(
        async () => {
          const unconfirmed = (await metrics.haltWatchUnconfirmed.get()).values[0]?.value ?? 0;
          worst = Math.max(worst, unconfirmed);
          return Date.now() - started > 9_000;
        },
        { what: "9 s of a quiet, healthy watch", timeoutMs: 20_000, intervalMs: 100 },
      );
      expect(halts).toEqual([]);
      expect(worst).toBeLessThan(5);
    } finally {
      await watch.stop();
    }
  });

  it("is enough for the runtime's own halt watch, which halts on a kill-switch patch", async () => {
    const halts: Halt[] = [];
    const watch = startHaltWatch({
      endpoint: await botEndpoint(),
      bot: { namespace: ns, name: BOT },
      configuredOnEngage: "CancelOrders",
      unsupervisedHaltAfterMs: undefined,
      onHalt: (halt) => halts.push(halt),
      log: pino({ level: "silent" }),
      metrics: createMetrics(),
    });
    try {
      // Listed and not halted: nothing fires while the bot runs.
      await waitFor(() => watch.current() === undefined && halts.length === 0, { what: "the watch to list" });
      await kubectl([
        "patch",
        "tradingbot",
        BOT,
        "-n",
        ns,
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { killSwitch: { engaged: true, reason: "token test" } } }),
      ]);
      const [halt] = await waitFor(() => (halts.length > 0 ? halts : undefined), { what: "the halt" });
      expect(halt).toMatchObject({ halted: true, source: "Spec", reason: "token test" });
    } finally {
      await watch.stop();
    }
  });
});

describe("what the operator may grant", () => {
  it("holds no bind or escalate, and cannot update or delete any Role or namespaced binding", async () => {
    const rbac = "rbac.authorization.k8s.io";
    const asks: Ask[] = [
      ...[
        "cluster-admin",
        "admin",
        "edit",
        "view",
        "tradingbot-operator",
        "tradingbot-operator-halt-watch",
      ].map((name) => ({ verb: "bind", resource: "clusterroles", group: rbac, name })),
      { verb: "bind", resource: "roles", group: rbac, namespace: ns, name: `${BOT}-halt-watch` },
      { verb: "escalate", resource: "roles", group: rbac, namespace: ns },
      { verb: "escalate", resource: "clusterroles", group: rbac },
      ...["create", "update", "patch", "delete"].map((verb) => ({
        verb,
        resource: "clusterroles",
        group: rbac,
      })),
      ...["update", "patch", "delete"].flatMap((verb) =>
        ["roles", "rolebindings"].map((resource) => ({ verb, resource, group: rbac, namespace: ns })),
      ),
      ...["update", "patch"].map((verb) => ({ verb, resource: "clusterrolebindings", group: rbac })),
    ];
    const result = await verdicts(suite.operatorUser, [], asks);
    expect(Object.entries(result).filter(([, ok]) => ok)).toEqual([]);
  });

  it("is refused by RBAC a binding to a role it does not hold itself, such as edit or cluster-admin", async () => {
    for (const role of ["edit", "cluster-admin"]) {
      expect(await createAsOperator(roleBindingTo("ClusterRole", role)), role).toMatch(
        /forbidden.*attempting to grant RBAC permissions not currently held/is,
      );
    }
  });

  it("is refused by the operator-grants policy what RBAC alone would let it grant: its own role, Secrets, any other shape", async () => {
    // RBAC allows each of these (the operator holds every permission in them); the policy does not.
    const ownRole = await createAsOperator(roleBindingTo("ClusterRole", "tradingbot-operator"));
    expect(ownRole).toMatch(
      /roleRef: a RoleBinding the operator creates may only bind the bot's own halt-watch Role/,
    );
    const secrets = await createAsOperator({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: `${BOT}-halt-watch`, namespace: ns },
      rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"] }],
    });
    expect(secrets).toMatch(
      /rules: a Role the operator creates may only let a bot's halt watch get, list and watch that one TradingBot/,
    );
    const everyBot = await createAsOperator({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: `${BOT}-halt-watch`, namespace: ns },
      rules: [
        { apiGroups: ["trading.botops.dev"], resources: ["tradingbots"], verbs: ["get", "list", "watch"] },
      ],
    });
    expect(everyBot).toMatch(/rules: a Role the operator creates/);
    const clusterWide = await createAsOperator({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: `trading.botops.dev:halt-watch:${ns}:lend` },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "tradingbot-operator" },
      subjects: [{ kind: "ServiceAccount", name: `${BOT}-runtime`, namespace: ns }],
    });
    expect(clusterWide).toMatch(new RegExp(`may only bind ${haltWatchRole} to one ServiceAccount`));
    // The shape the operator does create passes (the bots of this suite got theirs through the policy).
    expect(
      await createAsOperator(roleBindingTo("Role", `${OTHER}-halt-watch`, `${OTHER}-halt-watch`)),
    ).toMatch(/already exists/);
  });

  it("created the bot's Role, RoleBinding and ClusterRoleBinding, and deletes the last with the bot", async () => {
    const binding = `trading.botops.dev:halt-watch:${ns}:${OTHER}`;
    expect((await kubectl(["get", "clusterrolebinding", binding, "-o", "name"])).stdout.trim()).toBe(
      `clusterrolebinding.rbac.authorization.k8s.io/${binding}`,
    );
    await kubectl(["delete", "tradingbot", OTHER, "-n", ns, "--timeout=60s"]);
    const after = await kubectl(["get", "clusterrolebinding", binding], { allowFailure: true });
    expect(after.stderr).toMatch(/NotFound/);
  });
});
