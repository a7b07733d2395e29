import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessObjects } from "../../api/access/policies.ts";
import { KILL_SWITCH_CHANGED_BY_ANNOTATION } from "../../api/v1alpha1/index.ts";
import { KubeClient } from "../../console/kube/client.ts";
import type { RunningConsole } from "../../console/server/start.ts";
import { botManifest } from "../operator/fixtures.ts";
import { applyObjects, type ClusterAccess, installCrds, REPO_ROOT } from "../operator/harness.ts";
import { clusterContext } from "../support/context.ts";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";
import { ConsoleClient } from "./console-client.ts";
import { type LocalConsole, startLocalConsole } from "./local-console.ts";

// The console against the real API server, running as its own ServiceAccount with exactly the RBAC of
// console/rbac.ts, serving HTTPS with a certificate from a cert-manager-shaped directory. People log in
// and act through it; the API server (RBAC and the admission policies of api/access/) decides, as them.

const tag = randomBytes(3).toString("hex");
const prefix = `console-${tag}`;
const policies = accessObjects(prefix, `system:serviceaccount:${prefix}:none`);
const groups = { halters: `halters-${tag}`, leads: `leads-${tag}` };
const people = {
  viewer: { name: `vera-${tag}`, groups: [] as string[], password: `vera-pw-${tag}` },
  halter: { name: `hal-${tag}`, groups: [groups.halters], password: `hal-pw-${tag}` },
  lead: { name: `lea-${tag}`, groups: [groups.leads, groups.halters], password: `lea-pw-${tag}` },
};
const workDir = join(REPO_ROOT, ".local", `test-console-${tag}`);
let logs: string[] = [];

let access: ClusterAccess;
let ns: TestNamespace;
let otherNs: TestNamespace;
let identityNamespace: string;
let consoleKubeconfig: string;
let consoleUnderTest: LocalConsole;
let running: RunningConsole;
let ca: string;
const killSwitchName = `${prefix}-desk`;

const client = () => new ConsoleClient(running.url, ca);
async function loggedIn(person: (typeof people)[keyof typeof people]): Promise<ConsoleClient> {
  const browser = client();
  const response = await browser.login(person.name, person.password);
  expect(response.status, response.body).toBe(200);
  return browser;
}

async function botJson(namespace: string, name: string) {
  return JSON.parse((await kubectl(["get", "tradingbot", name, "-n", namespace, "-o", "json"])).stdout) as {
    metadata: { resourceVersion: string; annotations?: Record<string, string> };
    spec: { killSwitch: { engaged: boolean; reason?: string } };
  };
}

beforeAll(async () => {
  const cluster = clusterContext();
  access = { kubectlPath: cluster.kubectlPath, kubeconfigPath: cluster.kubeconfigPath };
  const adminKc = adminKubeConfig();
  await installCrds(access);
  await applyObjects(access, policies);
  [ns, otherNs] = await Promise.all([
    createTestNamespace(adminKc, "con"),
    createTestNamespace(adminKc, "conother"),
  ]);

  // People: a viewer of one namespace, halters (by group) of the fleet, leads who may also create KillSwitches.
  const rbac = "rbac.authorization.k8s.io";
  await applyObjects(access, [
    {
      apiVersion: `${rbac}/v1`,
      kind: "RoleBinding",
      metadata: { name: `${people.viewer.name}-view`, namespace: ns.name },
      roleRef: { apiGroup: rbac, kind: "ClusterRole", name: "view" },
      subjects: [{ apiGroup: rbac, kind: "User", name: people.viewer.name }],
    },
    {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: `${groups.halters}-halter` },
      roleRef: { apiGroup: rbac, kind: "ClusterRole", name: `${prefix}-halter` },
      subjects: [{ apiGroup: rbac, kind: "Group", name: groups.halters }],
    },
    {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRole",
      metadata: { name: `${prefix}-killswitch-creator` },
      rules: [{ apiGroups: ["trading.botops.dev"], resources: ["killswitches"], verbs: ["create"] }],
    },
    {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: `${groups.leads}-killswitch-creator` },
      roleRef: { apiGroup: rbac, kind: "ClusterRole", name: `${prefix}-killswitch-creator` },
      subjects: [{ apiGroup: rbac, kind: "Group", name: groups.leads }],
    },
  ]);
  // The TradingPolicy admission refuses every bot until its parameter kind is synced.
  await waitFor(
    () =>
      applyObjects(access, [
        botManifest(ns.name, "alpha"),
        botManifest(ns.name, "beta"),
        botManifest(otherNs.name, "elsewhere"),
      ]).then(() => true),
    { what: "the TradingBots to be admitted", timeoutMs: 60_000 },
  );

  consoleUnderTest = await startLocalConsole({
    access,
    adminKubeConfig: adminKc,
    prefix,
    people: Object.values(people),
    groups: Object.values(groups),
    workDir,
  });
  ({ running, logs } = consoleUnderTest);
  ca = consoleUnderTest.ca as string;
  consoleKubeconfig = consoleUnderTest.kubeconfig;
  identityNamespace = consoleUnderTest.identityNamespace;

  // RBAC and the admission policies act a moment after they are created: wait until each one does.
  const viewer = await loggedIn(people.viewer);
  await waitFor(async () => (await viewer.get(`/api/bots?namespace=${ns.name}`)).status === 200, {
    what: "the viewer's RoleBinding and the console's impersonation rights to act",
  });
  let probes = 0;
  await waitFor(
    async () => {
      probes++;
      await kubectl([
        "patch",
        "tradingbot",
        "beta",
        "-n",
        ns.name,
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { killSwitch: { reason: `probe ${probes}` } } }),
      ]);
      return (
        (await botJson(ns.name, "beta")).metadata.annotations?.[KILL_SWITCH_CHANGED_BY_ANNOTATION] !==
        undefined
      );
    },
    { what: "the kill-switch-changed-by stamp policy to act", timeoutMs: 60_000 },
  );
});

afterAll(async () => {
  await consoleUnderTest?.close();
  rmSync(workDir, { recursive: true, force: true });
  await kubectl(["delete", "killswitch", killSwitchName, "--ignore-not-found"], { allowFailure: true });
  await Promise.all([ns?.cleanup(), otherNs?.cleanup()]);
  const clusterScoped = [
    ...policies,
    { kind: "ClusterRoleBinding", metadata: { name: `${groups.halters}-halter` } },
    { kind: "ClusterRole", metadata: { name: `${prefix}-killswitch-creator` } },
    { kind: "ClusterRoleBinding", metadata: { name: `${groups.leads}-killswitch-creator` } },
  ];
  for (const object of clusterScoped.reverse()) {
    await kubectl(["delete", object.kind, object.metadata.name, "--ignore-not-found"], {
      allowFailure: true,
    });
  }
});

describe("the console against the real API server", () => {
  it("lets a halter halt and resume a bot; the TradingBot is halted in the API server and the stamp names the halter", async () => {
    const hal = await loggedIn(people.halter);
    const halted = await hal.post(`/api/bots/${ns.name}/alpha/halt`, { reason: "desk review" });
    expect(halted.status, halted.body).toBe(200);
    expect(halted.json).toMatchObject({ namespace: ns.name, name: "alpha", symbol: expect.any(String) });
    const bot = await botJson(ns.name, "alpha");
    expect(bot.spec.killSwitch).toMatchObject({ engaged: true, reason: "desk review" });
    expect(bot.metadata.annotations?.[KILL_SWITCH_CHANGED_BY_ANNOTATION]).toBe(people.halter.name);

    const resumed = await hal.post(`/api/bots/${ns.name}/alpha/resume`, {});
    expect(resumed.status, resumed.body).toBe(200);
    expect((await botJson(ns.name, "alpha")).spec.killSwitch).toMatchObject({ engaged: false });
  });

  it("passes the API server's 403 to a viewer who forges a halt, and the bot stays as it was", async () => {
    const vera = await loggedIn(people.viewer);
    const before = await botJson(ns.name, "alpha");
    const forged = await vera.post(`/api/bots/${ns.name}/alpha/halt`, { reason: "not mine to do" });
    expect(forged.status).toBe(403);
    expect(forged.json.error).toMatch(
      new RegExp(`forbidden: User "${people.viewer.name}" cannot patch resource "tradingbots"`),
    );
    expect((await botJson(ns.name, "alpha")).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    const accessLines = logs.map((l) => JSON.parse(l)).flatMap((l) => (l.access ? [l.access] : []));
    expect(accessLines).toContainEqual(
      expect.objectContaining({
        user: people.viewer.name,
        route: "/api/bots/:namespace/:name/halt",
        status: 403,
      }),
    );
  });

  it("answers the permissions of each person as the API server reviews them", async () => {
    const [vera, hal, lea] = await Promise.all([
      loggedIn(people.viewer),
      loggedIn(people.halter),
      loggedIn(people.lead),
    ]);
    const botPermissions = `/api/bots/${ns.name}/alpha/permissions`;
    expect((await vera.get(botPermissions)).json).toEqual({ halt: false, resume: false, acknowledge: false });
    expect((await hal.get(botPermissions)).json).toEqual({ halt: true, resume: true, acknowledge: true });
    expect((await vera.get("/api/killswitches/permissions")).json).toEqual({ create: false, update: false });
    expect((await hal.get("/api/killswitches/permissions")).json).toEqual({ create: false, update: true });
    expect((await lea.get("/api/killswitches/permissions")).json).toEqual({ create: true, update: true });
  });

  it("creates a KillSwitch engaged only once its scope is typed back, and lets a halter release it", async () => {
    const lea = await loggedIn(people.lead);
    const request = {
      name: killSwitchName,
      reason: "exchange incident",
      namespaces: [ns.name],
      selector: { matchLabels: { desk: tag } },
    };
    const unconfirmed = await lea.post("/api/killswitches", { ...request, confirmScope: ns.name });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.json.error).toBe(
      `confirmScope: must repeat the switch's scope exactly: "${ns.name} desk=${tag}"`,
    );
    const absent = await kubectl(["get", "killswitch", killSwitchName], { allowFailure: true });
    expect(absent.exitCode).not.toBe(0);

    const created = await lea.post("/api/killswitches", {
      ...request,
      confirmScope: `${ns.name} desk=${tag}`,
    });
    expect(created.status, created.body).toBe(200);
    expect(created.json).toEqual({
      name: killSwitchName,
      engaged: true,
      reason: "exchange incident",
      namespaces: [ns.name],
      selector: { matchLabels: { desk: tag } },
    });
    const stored = JSON.parse((await kubectl(["get", "killswitch", killSwitchName, "-o", "json"])).stdout);
    expect(stored.spec).toMatchObject({ engaged: true, namespaces: [ns.name] });
    expect(stored.metadata.annotations[KILL_SWITCH_CHANGED_BY_ANNOTATION]).toBe(people.lead.name);

    const hal = await loggedIn(people.halter);
    expect(
      (
        await hal.post("/api/killswitches", {
          ...request,
          name: `${killSwitchName}-2`,
          confirmScope: `${ns.name} desk=${tag}`,
        })
      ).status,
    ).toBe(403);
    const released = await hal.post(`/api/killswitches/${killSwitchName}/release`, {});
    expect(released.status, released.body).toBe(200);
    expect(released.json.engaged).toBe(false);
    const listed = (await hal.get("/api/killswitches")).json.items;
    expect(listed).toContainEqual(expect.objectContaining({ name: killSwitchName, engaged: false }));
  });

  it("streams a bot's status change, and only bots of namespaces the person may list", async () => {
    const vera = await loggedIn(people.viewer);
    const stream = vera.stream();
    try {
      await waitFor(() => stream.events[0]?.event === "ready", { what: "the stream's ready event" });
      await kubectl([
        "patch",
        "tradingbot",
        "beta",
        "-n",
        ns.name,
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({ status: { phase: "Degraded", runtime: { openOrders: 7 } } }),
      ]);
      await kubectl([
        "patch",
        "tradingbot",
        "elsewhere",
        "-n",
        otherNs.name,
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({ status: { phase: "Degraded" } }),
      ]);
      const change = await waitFor(
        () =>
          stream.events
            .filter((e) => e.event === "bot")
            .map((e) => JSON.parse(e.data))
            .find((e) => e.bot.name === "beta" && e.bot.phase === "Degraded"),
        { what: "the status change of beta on the stream" },
      );
      expect(change).toMatchObject({ type: "upsert", bot: { namespace: ns.name, openOrders: 7 } });
      // Give the other namespace's change time to arrive, had it been sent.
      const hal = await loggedIn(people.halter);
      const halStream = hal.stream();
      await waitFor(
        () => halStream.events.some((e) => e.event === "bot" && JSON.parse(e.data).bot.name === "elsewhere"),
        { what: "a fleet-wide halter to see the other namespace's bot" },
      );
      halStream.close();
      const namespaces = stream.events
        .filter((e) => e.event === "bot")
        .map((e) => JSON.parse(e.data).bot.namespace);
      expect(namespaces.length).toBeGreaterThan(0);
      expect(new Set(namespaces)).toEqual(new Set([ns.name]));
    } finally {
      stream.close();
    }
  });

  it("lists bots as the person: a viewer of one namespace sees only that namespace's bots", async () => {
    const vera = await loggedIn(people.viewer);
    const everywhere = await vera.get("/api/bots");
    expect(everywhere.status, everywhere.body).toBe(200);
    expect(new Set(everywhere.json.items.map((b: { namespace: string }) => b.namespace))).toEqual(
      new Set([ns.name]),
    );
    const other = await vera.get(`/api/bots?namespace=${otherNs.name}`);
    expect(other.status).toBe(403);
    expect(other.json.error).toContain(`cannot list resource "tradingbots"`);
  });

  it("runs with an identity that can read bots, switches and events and impersonate its people, and nothing else", async () => {
    const review = async (attributes: Record<string, string>) => {
      const kc = KubeClient.load(consoleKubeconfig);
      try {
        const answer = await kc.request<{ status: { allowed: boolean } }>(
          "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
          {
            method: "POST",
            body: {
              apiVersion: "authorization.k8s.io/v1",
              kind: "SelfSubjectAccessReview",
              spec: { resourceAttributes: attributes },
            },
          },
        );
        return answer.status.allowed;
      } finally {
        kc.close();
      }
    };
    const bots = { group: "trading.botops.dev", resource: "tradingbots" };
    expect(await review({ ...bots, verb: "list" })).toBe(true);
    expect(await review({ ...bots, verb: "watch" })).toBe(true);
    expect(await review({ group: "trading.botops.dev", resource: "killswitches", verb: "list" })).toBe(true);
    expect(await review({ resource: "events", verb: "list", namespace: ns.name })).toBe(true);
    expect(await review({ resource: "users", verb: "impersonate", name: people.halter.name })).toBe(true);
    expect(await review({ resource: "groups", verb: "impersonate", name: groups.halters })).toBe(true);
    const refusals: Record<string, string>[] = [
      { ...bots, verb: "patch", namespace: ns.name },
      { ...bots, verb: "create", namespace: ns.name },
      { group: "trading.botops.dev", resource: "killswitches", verb: "patch" },
      { resource: "secrets", verb: "get", namespace: ns.name },
      { resource: "users", verb: "impersonate", name: "admin" },
      { resource: "groups", verb: "impersonate", name: "system:masters" },
      { resource: "serviceaccounts", verb: "impersonate", namespace: identityNamespace },
      { group: "rbac.authorization.k8s.io", resource: "clusterrolebindings", verb: "create" },
    ];
    for (const refused of refusals) {
      expect(await review(refused), JSON.stringify(refused)).toBe(false);
    }
    // And the calls themselves: its own halt of a bot, and a halt impersonating someone it does not serve.
    const kc = KubeClient.load(consoleKubeconfig);
    try {
      const path = `/apis/trading.botops.dev/v1alpha1/namespaces/${ns.name}/tradingbots/alpha`;
      const patch = {
        method: "PATCH" as const,
        contentType: "application/merge-patch+json" as const,
        body: { spec: { killSwitch: { engaged: true } } },
      };
      await expect(kc.request(path, patch)).rejects.toMatchObject({ status: 403 });
      await expect(
        kc.request(path, { ...patch, as: { user: "admin", groups: ["system:masters"] } }),
      ).rejects.toMatchObject({
        status: 403,
        message: expect.stringContaining("cannot impersonate"),
      });
      await expect(kc.request(`/api/v1/namespaces/${ns.name}/secrets`)).rejects.toMatchObject({
        status: 403,
      });
    } finally {
      kc.close();
    }
    expect((await botJson(ns.name, "alpha")).spec.killSwitch.engaged).toBe(false);
  });

  it("counts a failed login in its metrics, on their own port", async () => {
    const response = await client().login(people.halter.name, "wrong password");
    expect(response.status).toBe(401);
    const metrics = await (await fetch(running.metricsUrl)).text();
    expect(metrics).toMatch(/tradingbot_console_login_failures_total\{reason="wrong_password"\} [1-9]/);
  });
});
