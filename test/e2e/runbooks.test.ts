import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeyId } from "../../exchange-sim/index.ts";
import {
  type AgeKeys,
  ageKeys,
  type BackupRole,
  BUNDLE_ENTRY,
  CliRecorder,
  createBackupRole,
  logLine,
} from "../bot-runtime/backup-harness.ts";
import { type BotDatabase, createBotDatabase } from "../bot-runtime/fixtures.ts";
import { REPO_ROOT } from "../operator/harness.ts";
import { postgresConnectionString } from "../postgres/connection-string.ts";
import { clusterContext, postgresContext } from "../support/context.ts";
import { waitFor } from "../support/wait-for.ts";
import { SAMPLE_GRID_BOT, type TradingEnvironment } from "./environment.ts";
import { isReady, startSuiteEnvironment } from "./suite-environment.ts";

// The incident runbooks of docs/operations.md, run from the page itself: each `sh` block is found by its
// runbook's heading and the comment on its first line, its placeholders are filled in, and it runs under
// /bin/sh with the real kubectl and the bot-runtime bundle on PATH. The effects are checked where they
// happen: bot status in the API server, orders at the exchange simulator, processes, rows in PostgreSQL.
// One environment and three bots serve all five runbooks, one after another.

const BOT = "grid-btc-paper";
const POD = `${BOT}-runtime`;
/** The names the samples give the Secrets. */
const EXCHANGE_SECRET = "paper-exchange-credentials";
const DATABASE_SECRET = "trading-database";

// ---- the runbooks, read from the page ----

type Runbooks = Map<string, Map<string, string>>;

/** `### heading` under `## Incident runbooks` to (first-line comment of each `sh` block to the block). */
function readRunbooks(markdown: string): Runbooks {
  const section = markdown.split(/^## Incident runbooks$/m)[1];
  if (section === undefined) throw new Error("docs/operations.md has no '## Incident runbooks'");
  const runbooks: Runbooks = new Map();
  for (const part of section.split(/^### /m).slice(1)) {
    const heading = part.slice(0, part.indexOf("\n")).trim();
    const blocks = new Map<string, string>();
    // Blocks inside a numbered step are indented: the indentation is the step's, not the command's.
    for (const match of part.matchAll(/^( *)```sh\n([\s\S]*?)^\1```$/gm)) {
      const indent = (match[1] ?? "").length;
      const lines = (match[2] ?? "").split("\n").map((line) => line.slice(indent));
      const step = /^# (.+)$/.exec(lines[0] ?? "")?.[1];
      if (step === undefined) throw new Error(`a block of "${heading}" has no first-line comment`);
      blocks.set(step, lines.join("\n"));
    }
    runbooks.set(heading, blocks);
  }
  return runbooks;
}

const RUNBOOKS = readRunbooks(readFileSync(join(REPO_ROOT, "docs", "operations.md"), "utf8"));

/** Blocks that need what a test machine has not got, as `<runbook>/<step>`. */
const NOT_RUN = new Set([
  // The install's Secret folders; the fresh database here is migrated by the same `bot-runtime migrate`.
  "The database lost/migrate the fresh database",
  // An operator Deployment: here the operator is a process, stopped and started by the test.
  "The operator down/see that the operator is down",
  "The operator down/bring the operator back",
]);
/** Blocks run so far, as `<runbook>/<step>`. */
const ran = new Set<string>();

/** The block of a runbook whose first line is `# <step>`, placeholders filled in. */
function block(runbook: string, step: string, values: Record<string, string>): string {
  const text = RUNBOOKS.get(runbook)?.get(step);
  if (text === undefined)
    throw new Error(`no block "# ${step}" under "### ${runbook}" in docs/operations.md`);
  let script = text;
  for (const [placeholder, value] of Object.entries(values)) script = script.replaceAll(placeholder, value);
  const left = /<[a-z][a-z-]*>/.exec(script);
  if (left) throw new Error(`"# ${step}" still has the placeholder ${left[0]}`);
  ran.add(`${runbook}/${step}`);
  return script;
}

// ---- running them ----

let env: TradingEnvironment;
let workDir: string;
let shellPath: string;
const cli = new CliRecorder();

type ShellResult = { code: number; stdout: string; stderr: string };

/** A block under /bin/sh -e, as an operator would paste it, in the work folder. */
function sh(script: string): Promise<ShellResult> {
  const child = spawn("/bin/sh", ["-e", "-c", script], {
    cwd: workDir,
    env: { ...process.env, PATH: shellPath, KUBECONFIG: clusterContext().kubeconfigPath },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

/** A block that must succeed; resolves to what it printed. */
async function run(runbook: string, step: string, values: Record<string, string>): Promise<string> {
  const result = await sh(block(runbook, step, values));
  if (result.code !== 0) {
    throw new Error(`"# ${step}" exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/** Runs a check block until none of the lines it prints is about one of `namespaces`. */
function untilNoLineOf(runbook: string, step: string, namespaces: string[], what: string) {
  return waitFor(
    async () => {
      const lines = (await run(runbook, step, {})).split("\n");
      return !lines.some((line) =>
        namespaces.some((ns) => line.startsWith(`${ns}/`) || line.startsWith(`${ns} `)),
      );
    },
    { what, timeoutMs: 90_000, intervalMs: 250 },
  );
}

// ---- the environment ----

const bots: Record<"alpha" | "beta" | "gamma", { ns: string; uid: string }> = {
  alpha: { ns: "", uid: "" },
  beta: { ns: "", uid: "" },
  gamma: { ns: "", uid: "" },
};
/** gamma's own database, the one runbook 4 loses, with its backup role and keys. */
let lostDatabase: BotDatabase;
let backupRole: BackupRole;
let keys: AgeKeys;
const startedAt = new Date();

const openOrders = (uid: string) => env.openOrdersAtExchange(uid);

async function tradingAgain(uid: string, since: number, what: string) {
  await waitFor(() => openOrders(uid).some((order) => order.time >= since), {
    what: `new orders of ${what} at the simulator`,
    timeoutMs: 60_000,
  });
}

beforeAll(async () => {
  const suite = await startSuiteEnvironment("e2e-runbooks", ["alpha", "beta", "gamma"]);
  env = suite.env;
  [bots.alpha.ns, bots.beta.ns, bots.gamma.ns] = suite.namespaces as [string, string, string];
  // Beside the environment's own work folder (named after the environment, as its operator namespace is).
  workDir = join(
    REPO_ROOT,
    ".local",
    `e2e-${process.ppid}-${env.operatorNamespace.replace(/-operator$/, "")}`,
    "runbooks",
  );
  const bin = join(workDir, "bin");
  mkdirSync(bin, { recursive: true });
  // `bot-runtime` is the bundle the image runs, as the image's PATH has it.
  writeFileSync(join(bin, "bot-runtime"), `#!/bin/sh\nexec "${process.execPath}" "${BUNDLE_ENTRY}" "$@"\n`);
  chmodSync(join(bin, "bot-runtime"), 0o755);
  shellPath = [bin, dirname(clusterContext().kubectlPath), process.env.PATH].join(":");

  // gamma's bots use a database of their own, so that losing it leaves the others' alone.
  lostDatabase = await createBotDatabase("e2e_runbooks_lost", postgresContext(), join(workDir, "lost-db"));
  backupRole = await createBackupRole(lostDatabase, join(workDir, "lost-db"), cli);
  keys = await ageKeys(join(workDir, "keys"), "runbooks");
  await env.apply([databaseSecret(bots.gamma.ns, lostDatabase.tradingCredentials)]);

  await env.apply(Object.values(bots).map((bot) => env.botFromSample(SAMPLE_GRID_BOT, bot.ns)));
  for (const bot of Object.values(bots)) {
    bot.uid = (await env.waitForBot(bot.ns, BOT, isReady, "Ready", 120_000)).metadata.uid;
    await waitFor(() => openOrders(bot.uid).length > 0, {
      what: `${bot.ns}/${BOT}'s orders at the simulator`,
      timeoutMs: 60_000,
    });
  }
});

afterAll(async () => {
  await env?.stop();
});

/** The sample's database Secret, holding a credentials folder's values. */
function databaseSecret(namespace: string, folder: string) {
  const values = Object.fromEntries(
    readdirSync(folder).map((key) => [key, readFileSync(join(folder, key), "utf8").trim()]),
  );
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: DATABASE_SECRET, namespace, labels: { "trading.botops.dev/credentials": "database" } },
    stringData: values,
  };
}

// ---- the runbooks ----

describe("incident runbooks (docs/operations.md), run as written", () => {
  it("emergency shutdown: one KillSwitch halts every bot, cancels their orders and removes their pods; released, they trade again", async () => {
    const RUNBOOK = "Emergency shutdown of everything";
    const namespaces = Object.values(bots).map((bot) => bot.ns);
    const switchName = `emergency-stop-${randomBytes(3).toString("hex")}`;
    const named = (script: string) => script.replaceAll("emergency-stop", switchName);
    // The one change to the page's switch: the control plane is shared with suites running beside this one,
    // so the switch names this suite's namespaces instead of every namespace.
    const halt = named(
      block(RUNBOOK, "halt every bot in every namespace", { "<reason>": "runbook: emergency shutdown" }),
    );
    expect(halt).toContain("namespaces: [] #");
    const scoped = halt.replace("namespaces: []", `namespaces: [${namespaces.join(", ")}]`);
    try {
      const applied = await sh(scoped);
      expect(applied.code, applied.stderr).toBe(0);

      await untilNoLineOf(RUNBOOK, "check: bots not halted yet", namespaces, "every bot Halted");
      for (const bot of Object.values(bots)) {
        await env.view.waitForPodGone(bot.ns, POD);
        const halted = await env.bot(bot.ns, BOT);
        expect(halted.status?.halt).toMatchObject({
          engaged: true,
          source: `KillSwitch/${switchName}`,
          reason: "runbook: emergency shutdown",
        });
        expect(openOrders(bot.uid), bot.ns).toEqual([]);
        expect(env.ordersAtExchange(bot.uid).some((order) => order.status === "CANCELED")).toBe(true);
        expect(env.runtimeProcesses(bot.ns, POD), bot.ns).toEqual([]);
      }

      const released = Date.now();
      await sh(named(block(RUNBOOK, "release every bot", {})));
      await untilNoLineOf(RUNBOOK, "check: bots not running yet", namespaces, "every bot Running again");
      for (const bot of Object.values(bots)) await tradingAgain(bot.uid, released, bot.ns);
      const removed = await sh(named(block(RUNBOOK, "remove the switch", {})));
      expect(removed.code, removed.stderr).toBe(0);
    } finally {
      await env.kubectl(["delete", "killswitch", switchName, "--ignore-not-found"]);
    }
  });

  it("a bot trading wildly: halted with CancelOrders, its orders cancelled and its record read back; resumed", async () => {
    const RUNBOOK = "A bot trading wildly";
    const { ns, uid } = bots.alpha;
    const values = {
      "<namespace>": ns,
      "<bot>": BOT,
      "<reason>": "runbook: trading wildly",
      "<database-credentials>": env.database.tradingCredentials,
    };
    const open = openOrders(uid);
    expect(open.length).toBeGreaterThan(0);
    const patched = Date.now();
    await run(RUNBOOK, "halt the bot and cancel its orders", values);

    const checked = await run(RUNBOOK, "check: halted, pod gone", values);
    expect(JSON.parse(checked.trim().split("\n").at(-1) ?? "")).toMatchObject({
      engaged: true,
      source: "Spec",
      reason: "runbook: trading wildly",
    });
    await waitFor(() => openOrders(uid).length === 0, { what: "no open order at the simulator" });
    const atExchange = new Map(env.ordersAtExchange(uid).map((order) => [order.clientOrderId, order]));
    for (const order of open) expect(atExchange.get(order.clientOrderId)?.status).toBe("CANCELED");
    expect(env.runtimeProcesses(ns, POD)).toEqual([]);

    const record = await run(RUNBOOK, "its Events and its record", values);
    const audit = await env.auditRows(uid);
    const stopped = audit.filter((row) => row.event === "stopped").at(-1);
    expect(stopped?.payload).toMatchObject({ onStop: "CancelOrders" });
    expect(stopped?.at.getTime()).toBeGreaterThanOrEqual(patched - 1_000);
    // The audit rows the page's query printed are the bot's newest, the stop among them.
    expect(record).toContain("Halted");
    expect(record).toMatch(new RegExp(`^\\s*${stopped?.seq} \\|.*\\| stopped `, "m"));
    for (const order of open) expect(record).toContain(order.clientOrderId);
    // The sample's grid reaches beyond its priceBandPct: the risk gate refused its outer levels.
    expect(record).toMatch(/\|\s*priceBandPct\s*\|/);

    const resumed = Date.now();
    await run(RUNBOOK, "resume the bot", values);
    await tradingAgain(uid, resumed, `${ns}/${BOT}`);
  });

  it("a compromised key: its bots found and halted, the key revoked and replaced, what it did read from the audit log; released on the new key", async () => {
    const RUNBOOK = "A compromised exchange key";
    const { ns, uid } = bots.beta;
    const values = {
      "<namespace>": ns,
      "<secret>": EXCHANGE_SECRET,
      "<reason>": "runbook: key compromised",
      "<bot>": BOT,
      "<database-credentials>": env.database.tradingCredentials,
      "<kubeconfig>": clusterContext().kubeconfigPath,
      "<since>": startedAt.toISOString(),
    };
    expect((await run(RUNBOOK, "the bots using the Secret", values)).trim()).toBe(BOT);

    await run(RUNBOOK, "halt them", values);
    await waitFor(
      async () =>
        /^grid-btc-paper\s+paper-exchange-credentials\s+Halted\s+Spec$/m.test(
          await run(RUNBOOK, "check: each of them Halted", values),
        ),
      { what: "the check to show the bot Halted", timeoutMs: 60_000, intervalMs: 250 },
    );
    await env.view.waitForPodGone(ns, POD);
    expect(openOrders(uid)).toEqual([]);

    // At the exchange: the old key revoked, a new one made.
    const oldKey = env.account(ns);
    const oldKeyOrders = env.ordersAtExchange(uid).filter((order) => order.keyId === apiKeyId(oldKey.apiKey));
    expect(oldKeyOrders.length).toBeGreaterThan(0);
    expect(env.sim.revokeKey(oldKey.apiKey)).toBe(true);
    const newKey = {
      apiKey: `paper-${randomBytes(12).toString("hex")}`,
      secret: randomBytes(24).toString("hex"),
    };
    env.sim.addAccount({ accountId: oldKey.accountId, ...newKey });
    writeFileSync(join(workDir, "new-api-key"), newKey.apiKey, { mode: 0o600 });
    writeFileSync(join(workDir, "new-secret"), newKey.secret, { mode: 0o600 });
    await run(RUNBOOK, "put the new key in the Secret", values);
    expect(readdirSync(workDir)).not.toContain("new-api-key");

    const verified = await run(RUNBOOK, "the audit chain, checked against its anchors", values);
    expect(verified).toMatch(
      new RegExp(`^ok\\s+${ns}/${BOT} \\(uid ${uid}\\): \\d+ rows, chain intact`, "m"),
    );
    expect(verified).toMatch(/matches the API server's anchors/);
    // Everything the old key placed for the bot is in what the page's query printed.
    const did = await run(RUNBOOK, `what the bots of the namespace did since <since>`, values);
    for (const order of oldKeyOrders) expect(did).toContain(order.clientOrderId);
    expect(did).toMatch(/\|\s*order_placed\s*\|/);

    const released = Date.now();
    await run(RUNBOOK, "release them", values);
    await env.waitForBot(ns, BOT, isReady, "Ready on the new key", 90_000);
    await waitFor(
      () =>
        openOrders(uid).some((order) => order.time >= released && order.keyId === apiKeyId(newKey.apiKey)),
      { what: "orders placed with the new key", timeoutMs: 60_000 },
    );
    expect(
      env.sim.requests({ apiKey: oldKey.apiKey, sinceMs: released }).filter((r) => r.status === 200),
    ).toEqual([]);
  });

  it("the database lost: its bot stops being Ready and is halted; restored from a backup into a fresh database, verified against the anchors and released", async () => {
    const RUNBOOK = "The database lost";
    const { ns, uid } = bots.gamma;
    const backupDir = join(workDir, "backups");
    mkdirSync(backupDir, { recursive: true });
    // The scheduled backup, taken while the bot trades.
    const backup = await cli.run(
      [
        "backup",
        "--database-credentials",
        backupRole.credentials,
        "--out-dir",
        backupDir,
        "--recipient",
        keys.recipient,
      ],
      "bundle",
    );
    expect(backup.code, backup.output).toBe(0);
    const backedUp = (logLine(backup.output, "backup_written")?.rows as Record<string, number> | undefined)
      ?.audit_log;
    expect(backedUp).toBeGreaterThan(0);
    // The bot goes on trading after it: a dip fills its highest buy, and the API server anchors a head
    // past the backup's.
    env.sim.setPrice({ symbol: "BTCUSDT", movePct: -2 });
    await env.waitForBot(
      ns,
      BOT,
      (b) => (b.status?.audit?.sequence ?? 0) > (backedUp ?? 0),
      "an anchored audit head past the backup",
    );

    // The incident: the database is gone, under the bot.
    const superuser = new pg.Client({
      connectionString: postgresConnectionString(postgresContext(), "postgres"),
    });
    await superuser.connect();
    try {
      await superuser.query(`DROP DATABASE "${lostDatabase.name}" WITH (FORCE)`);
    } finally {
      await superuser.end();
    }
    await waitFor(
      async () => {
        const line = (await run(RUNBOOK, "check: the bots of the database are not Ready", {}))
          .split("\n")
          .find((l) => l.startsWith(`${ns} `));
        return line !== undefined && /\sFalse\s+trading-database$/.test(line);
      },
      { what: "the check to show the bot not Ready", timeoutMs: 90_000, intervalMs: 250 },
    );
    expect(openOrders(uid).length).toBeGreaterThan(0);

    const values = {
      "<namespace>": ns,
      "<database-secret>": DATABASE_SECRET,
      "<reason>": "runbook: database lost",
      "<backup-dir>": backupDir,
      "<identity-file>": keys.identityFile,
      "<kubeconfig>": clusterContext().kubeconfigPath,
    };
    const halted = await run(RUNBOOK, "halt the bots using the database Secret", values);
    expect(halted).toContain(BOT);
    await env.waitForBot(ns, BOT, (b) => b.status?.phase === "Halted", "Halted");
    await env.view.waitForPodGone(ns, POD);
    // A dropped database ends the runtime (it does not fail closed, as for a server it cannot reach), so
    // nothing cancelled its orders: the page says so, and the bot takes them up again on the restored one.
    const leftOpen = openOrders(uid).map((order) => order.clientOrderId);

    // The fresh database, migrated by the same `bot-runtime migrate` as the page's step 2 (whose Secret
    // folders are the install's).
    const restored = await createBotDatabase(
      "e2e_runbooks_restored",
      postgresContext(),
      join(workDir, "restored-db"),
    );
    const restoring = { ...values, "<migration-credentials>": restored.migrationCredentials };
    const restoredOut = await sh(block(RUNBOOK, "restore the newest backup", restoring));
    expect(restoredOut.code, restoredOut.stderr).toBe(0);
    expect(logLine(restoredOut.stdout + restoredOut.stderr, "restored")).toBeDefined();

    const verifying = { ...values, "<database-credentials>": restored.tradingCredentials };
    const verified = await sh(block(RUNBOOK, "verify the restored chains against their anchors", verifying));
    const said = verified.stdout + verified.stderr;
    // The chain is intact; the anchor past the backup is reported as what the restore lost, and nothing
    // as rewritten.
    expect(said).toMatch(
      new RegExp(`^ok\\s+${ns}/${BOT} \\(uid ${uid}\\): ${backedUp} rows, chain intact`, "m"),
    );
    expect(said).toMatch(/^ANCHORS .*: the database ends at \d+ but the API server anchored \d+/m);
    expect(said).not.toMatch(/no longer matches its anchor/);
    expect(verified.code).toBe(1);

    await run(RUNBOOK, "point the bots at the restored database", verifying);
    const released = Date.now();
    await run(RUNBOOK, "release the bots of the database", values);
    await tradingAgain(uid, released, `${ns}/${BOT} on the restored database`);
    const client = await restored.admin();
    try {
      const { rows } = await client.query<{ event: string }>(
        "SELECT event FROM tradingbot.audit_log WHERE bot_uid = $1 AND seq > $2 ORDER BY seq",
        [uid, backedUp],
      );
      expect(rows.map((row) => row.event)).toContain("order_placed");
      const known = await client.query<{ client_order_id: string }>(
        "SELECT client_order_id FROM tradingbot.orders WHERE bot_uid = $1",
        [uid],
      );
      const ids = known.rows.map((row) => row.client_order_id);
      for (const id of leftOpen) expect(ids).toContain(id);
    } finally {
      await client.end();
    }
  });

  it("the operator down: a kubectl patch still halts the bot through its own watch; back, the operator records it", async () => {
    const RUNBOOK = "The operator down";
    const { ns, uid } = bots.alpha;
    const values = { "<namespace>": ns, "<bot>": BOT, "<reason>": "runbook: operator down" };
    await waitFor(() => openOrders(uid).length > 0, { what: "the bot's orders before the halt" });
    // The operator goes away ("see that the operator is down" needs its Deployment, which a test
    // machine's operator process has not got).
    await env.operator.stop();

    await run(RUNBOOK, "halt the bot", values);
    const checked = await run(RUNBOOK, "check: the bot container ended, stopped by its own watch", values);
    expect(JSON.parse(checked.trim().split("\n").at(-1) ?? "")).toMatchObject({
      reason: "Halted",
      source: "Spec",
      noticedBy: "watch",
    });
    expect(openOrders(uid)).toEqual([]);
    // Nothing reconciled meanwhile: the pod is still there, and the status never moved.
    expect(await env.view.pod(ns, POD)).toBeDefined();
    expect((await env.bot(ns, BOT)).status?.phase).toBe("Running");

    // Back ("bring the operator back" restarts its Deployment; here, its process).
    await env.startOperator("back");
    const recorded = await run(RUNBOOK, "check: the halt recorded by the operator", values);
    expect(recorded.trim().split("\n").at(-1)).toBe("Runtime");

    const resumed = Date.now();
    await run(RUNBOOK, "resume the bot", values);
    await tradingAgain(uid, resumed, `${ns}/${BOT}`);
  });

  it("runs every block of the page but those a test machine cannot run", () => {
    const blocks = [...RUNBOOKS].flatMap(([runbook, steps]) =>
      [...steps.keys()].map((step) => `${runbook}/${step}`),
    );
    expect(blocks.filter((name) => !ran.has(name) && !NOT_RUN.has(name))).toEqual([]);
  });
});
