import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANNOTATIONS } from "../../operator/names.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";
import { type BotObject, ClusterView, condition } from "./cluster-view.ts";
import { botManifest, EXCHANGE_SECRET } from "./fixtures.ts";
import { applyObjects } from "./harness.ts";
import { type OperatorSuite, startOperatorSuite } from "./suite.ts";

// Key rotation on a schedule (spec.exchange.rotateCredentialsEvery), with the operator as its own
// ServiceAccount against the real API server: the schedule is validated at admission, the bot reports
// CredentialsRotationDue once its exchange Secret's data is older than the schedule, on time and with no
// event to wake it, a change of the Secret's data clears it, and the operator's credentials gauges follow.

let suite: OperatorSuite;
let view: ClusterView;
let ns: string;

beforeAll(async () => {
  suite = await startOperatorSuite("rot", { extraArgs: ["--runtime-poll-interval=2s"] });
  ns = suite.namespace;
  view = new ClusterView(suite.adminKc);
});

afterAll(() => suite?.stop());

const HOUR_MS = 3_600_000;

function scheduledBot(name: string, every: string) {
  return botManifest(ns, name, {
    spec: (spec) => {
      (spec.exchange as Record<string, unknown>).rotateCredentialsEvery = every;
    },
  });
}

const rotationDue = (bot: BotObject | undefined) => condition(bot, "CredentialsRotationDue");

function gauge(metric: string, bot: string) {
  return suite.operator.metric(metric, `{bot_namespace="${ns}",bot="${bot}"}`);
}

async function waitForBot(name: string, what: string, holds: (bot: BotObject) => boolean) {
  return waitFor(
    async () => {
      const bot = await view.bot(ns, name);
      return bot && holds(bot) ? bot : undefined;
    },
    { what: `${name}: ${what}`, timeoutMs: 60_000 },
  );
}

async function eventsFor(bot: string, reason: string) {
  const list = await view.core.listNamespacedEvent({ namespace: ns });
  return list.items.filter((e) => e.reason === reason && e.involvedObject.name === bot);
}

async function exchangeSecretVersion(): Promise<string> {
  const secret = await view.core.readNamespacedSecret({ namespace: ns, name: EXCHANGE_SECRET });
  return secret.metadata?.resourceVersion as string;
}

describe("key rotation on a schedule", () => {
  it("refuses a schedule that is not a duration of at least an hour, naming the field and what is allowed", async () => {
    const refusals: [string, RegExp][] = [
      ["30m", /spec\.exchange\.rotateCredentialsEvery must be at least 1h \(60m\), such as 12h, 30d or 90d/],
      ["59m", /spec\.exchange\.rotateCredentialsEvery must be at least 1h/],
      ["1w", /spec\.exchange\.rotateCredentialsEvery.*should match '\^\[1-9\]\[0-9\]\{0,4\}\(m\|h\|d\)\$'/],
      ["90", /spec\.exchange\.rotateCredentialsEvery.*should match/],
      ["0d", /spec\.exchange\.rotateCredentialsEvery.*should match/],
    ];
    for (const [every, message] of refusals) {
      const result = await kubectl(["apply", "--server-side", "--dry-run=server", "-f", "-"], {
        input: JSON.stringify(scheduledBot("refused", every)),
        allowFailure: true,
      });
      expect(result.exitCode, every).not.toBe(0);
      expect(result.stderr, every).toMatch(message);
    }
    for (const every of ["60m", "1h", "90d"]) {
      const result = await kubectl(["apply", "--server-side", "--dry-run=server", "-f", "-"], {
        input: JSON.stringify(scheduledBot("accepted", every)),
        allowFailure: true,
      });
      expect(result.exitCode, `${every}: ${result.stderr}`).toBe(0);
    }
  });

  it("says CredentialsRotationDue once the Secret's data is older than the schedule, on time, and clears it when the data changes", async () => {
    await applyObjects(suite.access, [scheduledBot("hourly", "1h")]);
    const versionBefore = await exchangeSecretVersion();
    const fresh = await waitForBot("hourly", "CredentialsRotationDue=False", (bot) => {
      return rotationDue(bot)?.status === "False";
    });
    expect(rotationDue(fresh)).toMatchObject({
      reason: "WithinSchedule",
      observedGeneration: fresh.metadata.generation,
    });
    expect(fresh.status?.credentials).toMatchObject({
      secretName: EXCHANGE_SECRET,
      secretResourceVersion: versionBefore,
    });
    expect(await gauge("tradingbot_credentials_rotation_period_seconds", "hourly")).toBe(3600);
    expect(await gauge("tradingbot_credentials_age_seconds", "hourly")).toBeLessThan(3600);

    // The API server sets creationTimestamp and a test cannot wait an hour: the operator's own record of
    // when it first saw this version is moved back instead, to an hour ago less a few seconds. The bot
    // must then turn due by the clock alone, a few seconds later.
    const dueAt = Math.floor((Date.now() + 8_000) / 1000) * 1000;
    const since = new Date(dueAt - HOUR_MS).toISOString().replace(/\.000Z$/, "Z");
    await kubectl([
      "patch",
      "tb",
      "hourly",
      "-n",
      ns,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { credentials: { since } } }),
    ]);
    const moved = await waitForBot("hourly", "the moved record within its schedule", (bot) => {
      return rotationDue(bot)?.message.includes(since) === true;
    });
    if (Date.now() < dueAt) expect(rotationDue(moved)?.status).toBe("False");
    const due = await waitForBot("hourly", "CredentialsRotationDue=True", (bot) => {
      return rotationDue(bot)?.status === "True";
    });
    const dueCondition = rotationDue(due);
    expect(dueCondition).toMatchObject({ reason: "SecretOlderThanSchedule" });
    expect(Date.parse(dueCondition?.lastTransitionTime as string)).toBeGreaterThanOrEqual(dueAt);
    expect(dueCondition?.message).toContain(
      `Secret ${ns}/${EXCHANGE_SECRET} has held its data since ${since}`,
    );
    expect(dueCondition?.message).toContain("spec.exchange.rotateCredentialsEvery is 1h");
    expect(await gauge("tradingbot_credentials_age_seconds", "hourly")).toBeGreaterThan(3600);
    await waitFor(async () => (await eventsFor("hourly", "CredentialsRotationDue")).length > 0, {
      what: "a CredentialsRotationDue Event",
    });
    expect(await eventsFor("hourly", "CredentialsRotationDue")).toHaveLength(1);

    // The rotation, with the commands of docs/operations.md: new data in the same Secret, its labels
    // left as they are. The bot restarts on it and the clock starts again.
    const rotated = {
      apiKey: `${suite.planted.apiKey}-ROTATED`,
      secret: `${suite.planted.secret}-ROTATED`,
    };
    const keyDir = mkdtempSync(join(tmpdir(), "rotation-"));
    try {
      writeFileSync(join(keyDir, "api-key"), rotated.apiKey, { mode: 0o600 });
      writeFileSync(join(keyDir, "secret"), rotated.secret, { mode: 0o600 });
      const manifest = await kubectl([
        "create",
        "secret",
        "generic",
        EXCHANGE_SECRET,
        "-n",
        ns,
        `--from-file=apiKey=${join(keyDir, "api-key")}`,
        `--from-file=secret=${join(keyDir, "secret")}`,
        "--dry-run=client",
        "-o",
        "yaml",
      ]);
      await kubectl(
        ["apply", "--server-side", "--force-conflicts", "--field-manager=key-rotation", "-f", "-"],
        { input: manifest.stdout },
      );
    } finally {
      rmSync(keyDir, { recursive: true, force: true });
    }
    const versionAfter = await exchangeSecretVersion();
    expect(versionAfter).not.toBe(versionBefore);
    const cleared = await waitForBot("hourly", "CredentialsRotationDue=False after the rotation", (bot) => {
      return (
        rotationDue(bot)?.status === "False" &&
        bot.status?.credentials?.secretResourceVersion === versionAfter
      );
    });
    expect(rotationDue(cleared)).toMatchObject({ reason: "WithinSchedule" });
    expect(condition(cleared, "CredentialsAvailable")?.status).toBe("True");
    expect(Date.parse(cleared.status?.credentials?.since as string)).toBeGreaterThan(dueAt);
    expect(await gauge("tradingbot_credentials_age_seconds", "hourly")).toBeLessThan(120);
    await waitFor(
      async () =>
        (await view.pod(ns, "hourly-runtime"))?.metadata?.annotations?.[ANNOTATIONS.exchangeSecretVersion] ===
        versionAfter,
      { what: "the bot's pod on the rotated Secret", timeoutMs: 60_000 },
    );
    await kubectl(["wait", "-n", ns, "--for=condition=Ready", "tb/hourly", "--timeout=60s"]);
    await waitFor(async () => (await eventsFor("hourly", "CredentialsRotated")).length > 0, {
      what: "a CredentialsRotated Event",
    });

    // Neither the old values nor the new ones reach status, Events, metrics or the operator's log.
    const written = [
      (await kubectl(["get", "tradingbots", "-n", ns, "-o", "json"])).stdout,
      (await kubectl(["get", "events.events.k8s.io", "-n", ns, "-o", "json"])).stdout,
      await suite.operator.metrics(),
      suite.operator.logs(),
    ].join("\n");
    for (const value of [suite.planted.apiKey, suite.planted.secret, rotated.apiKey, rotated.secret]) {
      expect(written).not.toContain(value);
      expect(written).not.toContain(Buffer.from(value).toString("base64"));
    }
  });

  it("exports no credentials series for a bot once it is deleted", async () => {
    await applyObjects(suite.access, [scheduledBot("brief", "30d")]);
    await waitFor(
      async () => (await gauge("tradingbot_credentials_rotation_period_seconds", "brief")) === 2_592_000,
      {
        what: "the credentials gauges of a new bot",
      },
    );
    await kubectl(["delete", "tb", "brief", "-n", ns, "--wait=true", "--timeout=60s"]);
    await waitFor(
      async () =>
        (await gauge("tradingbot_credentials_age_seconds", "brief")) === undefined &&
        (await gauge("tradingbot_credentials_rotation_period_seconds", "brief")) === undefined,
      { what: "the deleted bot's credentials gauges to go" },
    );
  });
});
