import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterContext } from "../support/context.ts";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";
import { ClusterView, condition, isReady } from "./cluster-view.ts";
import {
  botManifest,
  databaseSecret,
  exchangeSecret,
  plantedValues,
  RESTRICTED_NAMESPACE_LABELS,
} from "./fixtures.ts";
import {
  applyObjects,
  deleteBotNamespaces,
  installCrds,
  installOperatorIdentity,
  type OperatorProcess,
  startOperator,
} from "./harness.ts";

// A KillSwitch is cluster-scoped: this suite's switch names only its own namespaces, so it never touches
// bots of suites running beside it.

const cluster = clusterContext();
const access = { kubectlPath: cluster.kubectlPath, kubeconfigPath: cluster.kubeconfigPath };
const adminKc = adminKubeConfig();
const view = new ClusterView(adminKc);
const planted = plantedValues(randomBytes(3).toString("hex"));
const switchName = `desk-x-${randomBytes(3).toString("hex")}`;

let operatorNamespace: TestNamespace;
let namespaces: TestNamespace[] = [];
let operator: OperatorProcess;
let [first, second, untouched] = ["", "", ""];

/** Bots: two per selected namespace (desk x is selected, desk y not), and one in an unselected namespace. */
const bots = () => [
  { ns: first, name: "alpha-x", desk: "x" },
  { ns: first, name: "alpha-y", desk: "y" },
  { ns: second, name: "beta-x", desk: "x" },
  { ns: untouched, name: "gamma-x", desk: "x" },
];
const selected = (bot: { ns: string; desk: string }) => bot.desk === "x" && bot.ns !== untouched;

function killSwitch(engaged: boolean) {
  return {
    apiVersion: "trading.botops.dev/v1alpha1",
    kind: "KillSwitch",
    metadata: { name: switchName },
    spec: {
      engaged,
      reason: "exchange incident",
      namespaces: [first, second],
      selector: { matchLabels: { desk: "x" } },
    },
  };
}

async function killSwitchStatus() {
  const object = (await view.custom.getClusterCustomObject({
    group: "trading.botops.dev",
    version: "v1alpha1",
    plural: "killswitches",
    name: switchName,
  })) as { status?: { matchedBots?: number; haltedBots?: number; engagedSince?: string } };
  return object.status;
}

beforeAll(async () => {
  await installCrds(access);
  operatorNamespace = await createTestNamespace(adminKc, "ksop");
  namespaces = await Promise.all(
    ["ks-a", "ks-b", "ks-c"].map((p) => createTestNamespace(adminKc, p, RESTRICTED_NAMESPACE_LABELS)),
  );
  [first, second, untouched] = namespaces.map((n) => n.name) as [string, string, string];
  const kubeconfigPath = await installOperatorIdentity(access, operatorNamespace.name);
  await applyObjects(
    access,
    namespaces.flatMap((n) => [exchangeSecret(n.name, planted), databaseSecret(n.name, planted)]),
  );
  operator = await startOperator({
    kubeconfigPath,
    operatorNamespace: operatorNamespace.name,
    namespaces: [first, second, untouched],
    identity: `ks-${first}`,
    extraArgs: ["--kill-switch-status"],
  });
  await applyObjects(
    access,
    bots().map((b) => botManifest(b.ns, b.name, { labels: { desk: b.desk } })),
  );
  for (const bot of bots()) await view.waitForBot(bot.ns, bot.name, isReady, "Ready", 60_000);
});

afterAll(async () => {
  await kubectl(["delete", "killswitch", switchName, "--ignore-not-found"]);
  await deleteBotNamespaces(
    access,
    namespaces.map((n) => n.name),
  );
  await operator?.stop();
  await operatorNamespace?.cleanup();
});

describe("a KillSwitch across two namespaces", () => {
  it("halts every bot it selects, and only those", async () => {
    await applyObjects(access, [killSwitch(true)]);
    for (const bot of bots().filter(selected)) {
      const halted = await view.waitForBot(
        bot.ns,
        bot.name,
        (b) => b.status?.phase === "Halted",
        "phase Halted",
      );
      expect(halted.status?.halt).toMatchObject({
        engaged: true,
        source: `KillSwitch/${switchName}`,
        reason: "exchange incident",
      });
      expect(condition(halted, "Halted")).toMatchObject({ status: "True", reason: "KillSwitch" });
      expect(await view.pod(bot.ns, `${bot.name}-runtime`)).toBeUndefined();
      const policy = await view.networkPolicy(bot.ns, `${bot.name}-network`);
      expect(policy.spec?.egress ?? []).toEqual([]);
    }
    for (const bot of bots().filter((b) => !selected(b))) {
      const running = await view.bot(bot.ns, bot.name);
      expect(running?.status?.phase).toBe("Running");
      expect(running?.status?.halt).toEqual({ engaged: false });
      expect((await view.pod(bot.ns, `${bot.name}-runtime`))?.status?.phase).toBe("Running");
    }
  });

  it("counts the bots it selects and halts in its status", async () => {
    const status = await waitFor(
      async () => {
        const s = await killSwitchStatus();
        return s?.matchedBots === 2 && s.haltedBots === 2 ? s : undefined;
      },
      { what: "KillSwitch status matchedBots=2 haltedBots=2" },
    );
    expect(status.engagedSince).toMatch(/Z$/);
  });

  it("resumes the bots it held when disengaged", async () => {
    await applyObjects(access, [killSwitch(false)]);
    for (const bot of bots().filter(selected)) {
      const resumed = await view.waitForBot(bot.ns, bot.name, isReady, "Ready again");
      expect(resumed.status?.halt).toEqual({ engaged: false });
    }
    await waitFor(
      async () => {
        const s = await killSwitchStatus();
        return s?.matchedBots === 2 && s.haltedBots === 0 && s.engagedSince === undefined;
      },
      { what: "KillSwitch status haltedBots=0" },
    );
  });

  it("keeps a bot halted by its own switch when the KillSwitch lets go, and releases the others when it is deleted", async () => {
    await kubectl([
      "patch",
      "tb",
      "alpha-x",
      "-n",
      first,
      "--type",
      "merge",
      "-p",
      '{"spec":{"killSwitch":{"engaged":true,"reason":"own"}}}',
    ]);
    await applyObjects(access, [killSwitch(true)]);
    await view.waitForBot(
      second,
      "beta-x",
      (b) => b.status?.halt?.source === `KillSwitch/${switchName}`,
      "halted by the KillSwitch",
    );
    const both = await view.waitForBot(first, "alpha-x", (b) => b.status?.halt?.engaged === true, "halted");
    expect(both.status?.halt?.source).toBe("Spec");
    expect(both.status?.halt?.message).toBe(`Also halted by KillSwitch/${switchName}.`);
    await kubectl(["delete", "killswitch", switchName]);
    await view.waitForBot(second, "beta-x", isReady, "Ready after the KillSwitch is deleted");
    const stillHalted = await view.waitForBot(
      first,
      "alpha-x",
      (b) => b.status?.halt?.message === undefined,
      "only its own halt left",
    );
    expect(stillHalted.status?.halt).toMatchObject({ engaged: true, source: "Spec", reason: "own" });
    expect(await view.pod(first, "alpha-x-runtime")).toBeUndefined();
  });
});
