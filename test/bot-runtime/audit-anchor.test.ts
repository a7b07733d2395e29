// The audit chain anchored outside the database: a real runtime trades on the node agent, reports its
// chain head on /status, the real operator copies it into status.audit and AuditAnchor Events, and
// `bot-runtime audit verify --anchors` (the bundle the image runs) reads them back with a least-privilege
// token. Someone with the database owner's rights who edits a row and recomputes every hash after it
// passes the plain chain check, and fails this one at the first anchored sequence the rewrite changed; a
// chain cut short fails it too.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditHead, readAuditAnchorNote } from "../../api/v1alpha1/index.ts";
import { SAMPLE_GRID_BOT, type TradingEnvironment } from "../e2e/environment.ts";
import { isReady, patchKillSwitch, startSuiteEnvironment } from "../e2e/suite-environment.ts";
import { serviceAccountKubeconfig } from "../support/kube.ts";
import { waitFor } from "../support/wait-for.ts";
import { rewriteAuditChainFrom } from "./harness.ts";

const BOT = "grid-btc-paper";
const POD = `${BOT}-runtime`;
const READER = "audit-anchor-reader";
/** What the image runs (`npm run build`): the command must work without @kubernetes/client-node. */
const BUNDLE = fileURLToPath(new URL("../../dist/bot-runtime/main.js", import.meta.url));

let env: TradingEnvironment;
let ns: string;
let uid: string;
let readerKubeconfig: string;
let readerToken: string;
/** Everything the commands printed, for the secret check. */
const printed: string[] = [];
const workDir = mkdtempSync(join(tmpdir(), "audit-anchor-"));

beforeAll(async () => {
  // An Event every 5 rows, so a few minutes of trading anchor several heads.
  const suite = await startSuiteEnvironment("e2e-anchor", ["desk"], {
    operatorArgs: ["--audit-anchor-rows=5"],
  });
  env = suite.env;
  ns = suite.namespaces[0] as string;
  // The least-privilege reader of docs/operations.md ("Audit anchoring"): get TradingBots and list
  // Events in the bot's namespace, nothing else.
  await env.apply([
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: READER, namespace: ns } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: READER, namespace: ns },
      rules: [
        { apiGroups: ["trading.botops.dev"], resources: ["tradingbots"], verbs: ["get"] },
        { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["list"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: READER, namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: READER },
      subjects: [{ kind: "ServiceAccount", name: READER, namespace: ns }],
    },
  ]);
  readerKubeconfig = join(workDir, "reader.kubeconfig");
  readerToken = (
    await serviceAccountKubeconfig(env.adminKubeConfig, ns, READER, { writeTo: readerKubeconfig })
  ).token;
});

afterAll(async () => {
  await env?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

/** `bot-runtime ...` from the bundle, with everything it printed. */
function bundle(args: readonly string[]): Promise<{ code: number; output: string }> {
  const child = spawn(process.execPath, [BUNDLE, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  return new Promise((resolve) =>
    child.on("exit", (code) => {
      printed.push(output);
      resolve({ code: code ?? -1, output });
    }),
  );
}

const verify = (...extra: string[]) =>
  bundle([
    "audit",
    "verify",
    "--database-credentials",
    env.database.tradingCredentials,
    "--bot",
    `${ns}/${BOT}`,
    ...extra,
  ]);
const verifyAnchors = () => verify("--anchors", "--kubeconfig", readerKubeconfig);

/** The AuditAnchor Events about the bot, as the API server serves them to a field selector. */
async function anchorEvents(): Promise<(AuditHead & { name: string })[]> {
  const listed = JSON.parse(
    await env.kubectl([
      "get",
      "events.events.k8s.io",
      "-n",
      ns,
      "--field-selector",
      `reason=AuditAnchor,regarding.uid=${uid}`,
      "-o",
      "json",
    ]),
  ) as { items: { metadata: { name: string }; note: string }[] };
  return listed.items
    .map((event) => ({ name: event.metadata.name, ...(readAuditAnchorNote(event.note) as AuditHead) }))
    .sort((a, b) => a.sequence - b.sequence);
}

/** The database as its owner: the migration role, whose rights an attacker of the table would have. */
async function asOwner<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const read = (key: string) => readFileSync(join(env.database.migrationCredentials, key), "utf8").trim();
  const client = new pg.Client({
    host: read("host"),
    port: Number(read("port")),
    database: read("database"),
    user: read("user"),
    password: read("password"),
    ssl: { rejectUnauthorized: false },
  });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** As the owner, with the append-only trigger switched off for one transaction, as the owner may. */
function behindTheTrigger(work: (client: pg.Client) => Promise<void>): Promise<void> {
  return asOwner(async (client) => {
    await client.query("BEGIN");
    await client.query("ALTER TABLE tradingbot.audit_log DISABLE TRIGGER audit_log_append_only_rows");
    await work(client);
    await client.query("ALTER TABLE tradingbot.audit_log ENABLE TRIGGER audit_log_append_only_rows");
    await client.query("COMMIT");
  });
}

async function storedHash(sequence: number): Promise<string | undefined> {
  const client = await env.database.admin();
  try {
    const { rows } = await client.query<{ row_hash: string }>(
      "SELECT row_hash FROM tradingbot.audit_log WHERE bot_uid = $1 AND seq = $2",
      [uid, sequence],
    );
    return rows[0]?.row_hash;
  } finally {
    await client.end();
  }
}

let anchors: AuditHead[];
let statusHead: AuditHead;

describe("the audit chain anchored in the API server", () => {
  it("puts a trading bot's chain head in its status and in AuditAnchor Events, each naming a row the database holds", async () => {
    await env.apply([env.botFromSample(SAMPLE_GRID_BOT, ns)]);
    uid = (await env.waitForBot(ns, BOT, isReady, "Ready", 120_000)).metadata.uid;
    await waitFor(async () => (await anchorEvents()).length >= 1, {
      what: "the first AuditAnchor Event about the bot",
      timeoutMs: 60_000,
    });
    // The market dips through the grid's highest buy: its fill and the orders that follow move the chain on.
    env.sim.setPrice({ symbol: "BTCUSDT", movePct: -2 });
    const events = await waitFor(
      async () => {
        const found = await anchorEvents();
        return found.length >= 2 ? found : undefined;
      },
      { what: "a second AuditAnchor Event about the bot", timeoutMs: 60_000 },
    );
    for (const event of events) expect(await storedHash(event.sequence)).toBe(event.hash);

    // Halted, the bot writes no more rows: what follows reads a database that stands still.
    await patchKillSwitch(env, ns, BOT, { engaged: true, reason: "e2e: audit anchoring" });
    const halted = await env.waitForBot(ns, BOT, (b) => b.status?.phase === "Halted", "Halted");
    await env.view.waitForPodGone(ns, POD);
    const audit = halted.status?.audit;
    expect(audit?.sequence).toBeGreaterThanOrEqual(events.at(-1)?.sequence ?? 0);
    statusHead = { sequence: audit?.sequence as number, hash: audit?.hash as string };
    expect(await storedHash(statusHead.sequence)).toBe(statusHead.hash);
    // The Event of status.audit.lastEvent is sent after the status write that records it.
    const recorded = await waitFor(
      async () => {
        const found = await anchorEvents();
        return found.at(-1)?.sequence === audit?.lastEvent?.sequence ? found : undefined;
      },
      { what: "the AuditAnchor Event of status.audit.lastEvent" },
    );
    anchors = [...recorded, statusHead];
  });

  it("passes `audit verify --anchors` on the untampered database, anchor by anchor, with only get and list rights", async () => {
    const result = await verifyAnchors();
    expect(result.output).toMatch(
      new RegExp(`^ok +${ns}/${BOT} \\(uid ${uid}\\): \\d+ rows, chain intact$`, "m"),
    );
    for (const anchor of anchors) {
      expect(result.output).toMatch(new RegExp(`anchor sequence ${anchor.sequence} \\(.*\\): hash matches`));
    }
    expect(result.output).toContain("matches the API server's anchors");
    expect(result.code).toBe(0);
  });

  it("fails --anchors at the first anchored sequence a consistent rewrite changed, while the plain check passes", async () => {
    const [first, second] = anchors as [AuditHead, AuditHead];
    const edited = first.sequence + 1;
    expect(edited).toBeLessThanOrEqual(second.sequence);
    // Edit one row, then recompute its hash and every hash after it with the chain's own function.
    await behindTheTrigger((client) => rewriteAuditChainFrom(client, uid, edited));

    const plain = await verify();
    expect(plain.output).toContain("chain intact");
    expect(plain.code).toBe(0);

    const anchored = await verifyAnchors();
    const rewritten = await storedHash(second.sequence);
    expect(rewritten).not.toBe(second.hash);
    expect(anchored.output).toMatch(new RegExp(`anchor sequence ${first.sequence} \\(.*\\): hash matches`));
    expect(anchored.output).toContain(
      `ANCHORS ${ns}/${BOT} (uid ${uid}): sequence ${second.sequence} no longer matches its anchor: ` +
        `the database has hash ${rewritten}, the API server anchored ${second.hash}`,
    );
    expect(anchored.code).toBe(1);
  });

  it("fails --anchors on a chain cut short, saying where the database ends and what was anchored", async () => {
    const [first] = anchors as [AuditHead];
    await behindTheTrigger(async (client) => {
      await client.query("DELETE FROM tradingbot.audit_log WHERE bot_uid = $1 AND seq > $2", [
        uid,
        first.sequence,
      ]);
    });
    // Rows cut off the end leave an intact chain behind: only the anchors can tell.
    const plain = await verify();
    expect(plain.output).toContain(`${first.sequence} rows, chain intact`);
    expect(plain.code).toBe(0);

    const anchored = await verifyAnchors();
    const newest = Math.max(...anchors.map((anchor) => anchor.sequence));
    expect(anchored.output).toContain(
      `ANCHORS ${ns}/${BOT} (uid ${uid}): the database ends at ${first.sequence} but the API server anchored ${newest}`,
    );
    expect(anchored.code).toBe(1);
  });

  it("never prints the reader's token", () => {
    expect(printed.length).toBeGreaterThan(0);
    for (const output of printed) expect(output).not.toContain(readerToken);
  });
});
