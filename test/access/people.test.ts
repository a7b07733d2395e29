import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessObjects } from "../../api/access/policies.ts";
import { KILL_SWITCH_CHANGED_BY_ANNOTATION } from "../../api/v1alpha1/index.ts";
import { ClusterView, condition } from "../operator/cluster-view.ts";
import { botManifest } from "../operator/fixtures.ts";
import { applyObjects } from "../operator/harness.ts";
import { type OperatorSuite, startOperatorSuite } from "../operator/suite.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";

// The roles for people and the admission policies behind them (api/access/policies.ts, what the chart
// and `make install` apply), against the real API server, each person impersonated with their own RBAC:
// a viewer reads, a halter halts and releases and changes nothing else, an editor configures, nobody
// writes the stamp of who changed a kill switch, and the operator reports that stamp.

const tag = randomBytes(3).toString("hex");
const prefix = `access-${tag}`;
// The operator-grants policy names a user no operator of this suite is: inert here.
const policies = accessObjects(prefix, `system:serviceaccount:${prefix}:none`);
const people = { viewer: `vera-${tag}`, halter: `hal-${tag}`, editor: `eddie-${tag}` };
const killSwitchName = `${prefix}-desk`;

let suite: OperatorSuite;
let view: ClusterView;
let ns: string;
let access: OperatorSuite["access"];

/** kubectl as `user` (impersonated by the admin): the request gets exactly that user's RBAC. */
const as = (user: string, args: string[]) => kubectl([`--as=${user}`, ...args], { allowFailure: true });

const mergePatch = (patch: object) => ["--type=merge", "-p", JSON.stringify(patch)];

async function botJson(name: string) {
  return JSON.parse((await kubectl(["get", "tradingbot", name, "-n", ns, "-o", "json"])).stdout) as {
    metadata: { resourceVersion: string; annotations?: Record<string, string> };
    spec: Record<string, unknown>;
  };
}

const stampOf = (object: { metadata: { annotations?: Record<string, string> } }) =>
  object.metadata.annotations?.[KILL_SWITCH_CHANGED_BY_ANNOTATION];

beforeAll(async () => {
  suite = await startOperatorSuite("acc");
  ({ namespace: ns, access } = suite);
  view = new ClusterView(suite.adminKc);
  await applyObjects(access, policies);
  const binding = (kind: "RoleBinding" | "ClusterRoleBinding", user: string, role: string) => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind,
    metadata: { name: `${user}-${role}`, ...(kind === "RoleBinding" ? { namespace: ns } : {}) },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
  });
  await applyObjects(access, [
    // The built-in roles, which the viewer and editor roles fold into.
    binding("RoleBinding", people.viewer, "view"),
    binding("RoleBinding", people.editor, "edit"),
    // KillSwitches are cluster-scoped: a halter of the fleet is bound cluster-wide.
    binding("ClusterRoleBinding", people.halter, `${prefix}-halter`),
    botManifest(ns, "probe"),
    {
      apiVersion: "trading.botops.dev/v1alpha1",
      kind: "KillSwitch",
      metadata: { name: killSwitchName },
      // Selects only this suite's namespace, and there only bots labelled for it.
      spec: { engaged: false, namespaces: [ns], selector: { matchLabels: { desk: tag } } },
    },
  ]);
  // Roles are aggregated and policies compiled in the background: wait until each one acts.
  await waitFor(
    async () =>
      (
        await as(people.viewer, ["auth", "can-i", "get", "tradingbots.trading.botops.dev", "-n", ns])
      ).stdout.trim() === "yes" &&
      (
        await as(people.editor, ["auth", "can-i", "configure", "tradingbots.trading.botops.dev", "-n", ns])
      ).stdout.trim() === "yes",
    { what: "the viewer and editor roles to be aggregated into view and edit" },
  );
  let probes = 0;
  await waitFor(
    async () => {
      probes++;
      await kubectl([
        "patch",
        "tradingbot",
        "probe",
        "-n",
        ns,
        ...mergePatch({ spec: { killSwitch: { reason: `probe ${probes}` } } }),
      ]);
      const stamped = stampOf(await botJson("probe")) !== undefined;
      const labelRefused =
        (await as(people.halter, ["label", "tradingbot", "probe", "-n", ns, `probe=${probes}`])).exitCode !==
        0;
      const forgeryRefused =
        (
          await kubectl(
            [
              "annotate",
              "--overwrite",
              "tradingbot",
              "probe",
              "-n",
              ns,
              `${KILL_SWITCH_CHANGED_BY_ANNOTATION}=x`,
            ],
            { allowFailure: true },
          )
        ).exitCode !== 0;
      return stamped && labelRefused && forgeryRefused;
    },
    { what: "the stamp and halt-scope admission policies to act", timeoutMs: 60_000 },
  );
});

afterAll(async () => {
  await suite?.stop();
  await kubectl(["delete", "killswitch", killSwitchName, "--ignore-not-found"], { allowFailure: true });
  for (const object of [...policies].reverse()) {
    await kubectl(["delete", object.kind, object.metadata.name, "--ignore-not-found"], {
      allowFailure: true,
    });
  }
  await kubectl(["delete", "clusterrolebinding", `${people.halter}-${prefix}-halter`, "--ignore-not-found"], {
    allowFailure: true,
  });
});

describe("people's access to TradingBots and KillSwitches", () => {
  it("lets a viewer read bots and KillSwitches but not halt a bot", async () => {
    const list = await as(people.viewer, ["get", "tradingbots", "-n", ns, "-o", "name"]);
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toContain("tradingbot.trading.botops.dev/probe");
    const halt = await as(people.viewer, [
      "patch",
      "tradingbot",
      "probe",
      "-n",
      ns,
      ...mergePatch({ spec: { killSwitch: { engaged: true } } }),
    ]);
    expect(halt.exitCode).not.toBe(0);
    expect(halt.stderr).toMatch(/forbidden: User "vera-[0-9a-f]+" cannot patch resource "tradingbots"/);
    expect((await botJson("probe")).spec.killSwitch).toMatchObject({ engaged: false });
  });

  it("lets a halter halt and release a bot, and the operator names the halter in status, the Event and kubectl get", async () => {
    await applyObjects(access, [botManifest(ns, "halted-by-hal")]);
    await view.waitForBot(ns, "halted-by-hal", (b) => b.status?.phase === "Running", "Running");

    const halt = await as(people.halter, [
      "patch",
      "tradingbot",
      "halted-by-hal",
      "-n",
      ns,
      ...mergePatch({ spec: { killSwitch: { engaged: true, reason: "desk review" } } }),
    ]);
    expect(halt.stderr).toBe("");
    expect(halt.exitCode).toBe(0);
    expect(stampOf(await botJson("halted-by-hal"))).toBe(people.halter);
    const halted = await view.waitForBot(ns, "halted-by-hal", (b) => b.status?.phase === "Halted", "Halted");
    expect(halted.status?.halt).toMatchObject({ engaged: true, source: "Spec", by: people.halter });
    const table = await kubectl(["get", "tradingbot", "halted-by-hal", "-n", ns]);
    expect(table.stdout.split("\n")[0]).toMatch(/HALTED BY/);
    expect(table.stdout.split("\n")[1]).toContain(people.halter);
    await waitFor(
      async () =>
        (await view.core.listNamespacedEvent({ namespace: ns })).items.some(
          (e) =>
            e.reason === "Halted" &&
            e.involvedObject?.name === "halted-by-hal" &&
            e.message?.includes(`engaged by ${people.halter}`),
        ),
      { what: `a Halted Event naming ${people.halter}` },
    );

    const release = await as(people.halter, [
      "patch",
      "tradingbot",
      "halted-by-hal",
      "-n",
      ns,
      ...mergePatch({ spec: { killSwitch: { engaged: false } } }),
    ]);
    expect(release.exitCode).toBe(0);
    await view.waitForBot(ns, "halted-by-hal", (b) => b.status?.phase === "Running", "Running again");
    await waitFor(
      async () =>
        (await view.core.listNamespacedEvent({ namespace: ns })).items.some(
          (e) =>
            e.reason === "Resumed" &&
            e.involvedObject?.name === "halted-by-hal" &&
            e.message?.includes(`Spec released by ${people.halter}`),
        ),
      { what: `a Resumed Event naming ${people.halter}` },
    );
    // The resumed bot's runtime config names who released it (its `started` audit row records it).
    const config = (
      await kubectl([
        "get",
        "configmap",
        "halted-by-hal-config",
        "-n",
        ns,
        "-o",
        "jsonpath={.data.config\\.json}",
      ])
    ).stdout;
    expect(JSON.parse(config).killSwitchChangedBy).toBe(people.halter);
  });

  it("refuses a halter any change but the kill switch, naming the field, and leaves the bot as it was", async () => {
    const before = await botJson("probe");
    const attempts: [string, string[]][] = [
      ["spec.strategy", mergePatch({ spec: { strategy: { grid: { levels: 6 } } } })],
      ["spec.risk", mergePatch({ spec: { risk: { maxOrderQuote: "200" } } })],
      ["spec.pod", mergePatch({ spec: { pod: { image: "registry.example/evil:1" } } })],
      ["spec.exchange", mergePatch({ spec: { exchange: { endpoint: "http://exchange.attacker.example" } } })],
      ["metadata.labels", mergePatch({ metadata: { labels: { desk: "elsewhere" } } })],
    ];
    for (const [field, patch] of attempts) {
      const result = await as(people.halter, ["patch", "tradingbot", "probe", "-n", ns, ...patch]);
      expect(result.exitCode, field).not.toBe(0);
      expect(result.stderr, field).toContain(
        `${field}: changing this needs the configure permission on tradingbots.trading.botops.dev`,
      );
    }
    expect((await botJson("probe")).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it("lets a halter engage and release a KillSwitch but not re-aim it", async () => {
    const engage = await as(people.halter, [
      "patch",
      "killswitch",
      killSwitchName,
      ...mergePatch({ spec: { engaged: true, reason: "drill" } }),
    ]);
    expect(engage.exitCode).toBe(0);
    const engaged = JSON.parse((await kubectl(["get", "killswitch", killSwitchName, "-o", "json"])).stdout);
    expect(stampOf(engaged)).toBe(people.halter);
    for (const [field, patch] of [
      ["spec.namespaces", { spec: { namespaces: [] } }],
      ["spec.selector", { spec: { selector: null } }],
    ] as const) {
      const result = await as(people.halter, ["patch", "killswitch", killSwitchName, ...mergePatch(patch)]);
      expect(result.exitCode, field).not.toBe(0);
      expect(result.stderr, field).toContain(
        `${field}: changing this needs the configure permission on killswitches`,
      );
    }
    const release = await as(people.halter, [
      "patch",
      "killswitch",
      killSwitchName,
      ...mergePatch({ spec: { engaged: false } }),
    ]);
    expect(release.exitCode).toBe(0);
  });

  it("names the halter of a KillSwitch in the status of each bot it halts", async () => {
    await applyObjects(access, [botManifest(ns, "desk-bot", { labels: { desk: tag } })]);
    await view.waitForBot(ns, "desk-bot", (b) => b.status?.phase === "Running", "Running");
    await as(people.halter, [
      "patch",
      "killswitch",
      killSwitchName,
      ...mergePatch({ spec: { engaged: true } }),
    ]);
    const halted = await view.waitForBot(ns, "desk-bot", (b) => b.status?.phase === "Halted", "Halted");
    expect(halted.status?.halt).toMatchObject({ source: `KillSwitch/${killSwitchName}`, by: people.halter });
    expect(condition(halted, "Halted")).toMatchObject({ status: "True" });
    await kubectl(["patch", "killswitch", killSwitchName, ...mergePatch({ spec: { engaged: false } })]);
  });

  it("lets an editor configure a bot, stamps the editor as creator, and lets nobody write the stamp by hand", async () => {
    const manifest = JSON.stringify(botManifest(ns, "eddies-bot"));
    const created = await kubectl([`--as=${people.editor}`, "apply", "--server-side", "-f", "-"], {
      input: manifest,
      allowFailure: true,
    });
    expect(created.stderr).toBe("");
    expect(stampOf(await botJson("eddies-bot"))).toBe(people.editor);

    const configure = await as(people.editor, [
      "patch",
      "tradingbot",
      "eddies-bot",
      "-n",
      ns,
      ...mergePatch({ spec: { risk: { maxOpenOrders: 10 } } }),
    ]);
    expect(configure.stderr).toBe("");
    expect((await botJson("eddies-bot")).spec.risk).toMatchObject({ maxOpenOrders: 10 });

    // A forged stamp that comes with a kill switch change is replaced by the real user.
    const forgedWithHalt = await as(people.editor, [
      "patch",
      "tradingbot",
      "eddies-bot",
      "-n",
      ns,
      ...mergePatch({
        metadata: { annotations: { [KILL_SWITCH_CHANGED_BY_ANNOTATION]: people.halter } },
        spec: { killSwitch: { engaged: true } },
      }),
    ]);
    expect(forgedWithHalt.exitCode).toBe(0);
    expect(stampOf(await botJson("eddies-bot"))).toBe(people.editor);

    // Alone, it is refused, to the editor and to the cluster admin alike.
    const forge = [
      "annotate",
      "--overwrite",
      "tradingbot",
      "eddies-bot",
      "-n",
      ns,
      `${KILL_SWITCH_CHANGED_BY_ANNOTATION}=${people.halter}`,
    ];
    for (const forged of [await as(people.editor, forge), await kubectl(forge, { allowFailure: true })]) {
      expect(forged.exitCode).not.toBe(0);
      expect(forged.stderr).toContain(
        "set by admission to the user who changes the kill switch; it cannot be set by hand",
      );
    }
    expect(stampOf(await botJson("eddies-bot"))).toBe(people.editor);
  });
});
