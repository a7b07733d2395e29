// The end-to-end scenarios of the local suite, on kind: the operator installed by the chart, bot pods run
// by real kubelets from the real image, the exchange simulator and PostgreSQL in the cluster. Run by
// test/e2e-kind/run.sh, which creates the cluster and installs everything first (KUBECONFIG points at it).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { load } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/free-port.ts";
import { waitFor } from "../support/wait-for.ts";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const INFRA = "e2e-infra";
const DESK_A = "e2e-desk-a";
const DESK_B = "e2e-desk-b";
const FLEET = [1, 2, 3, 4, 5].map((n) => `fleet-${n}`);
/** Real kubelets pull and start containers: minutes, not seconds, on a cold node. */
const SLOW = { timeoutMs: 240_000, intervalMs: 1000 };

interface Bot {
  metadata: { name: string; namespace: string; uid: string };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    halt?: { engaged?: boolean; source?: string; reason?: string; id?: string; requiresAck?: boolean };
    runtime?: { heartbeat?: string; openOrders?: number };
  };
}
interface SimOrder {
  status: string;
}

function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile("kubectl", args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`kubectl ${args.join(" ")}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
    child.stdin?.end(input ?? "");
  });
}

const apply = (objects: object[]) =>
  kubectl(
    ["apply", "--server-side", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }),
  );

const bot = async (namespace: string, name: string): Promise<Bot> =>
  JSON.parse(await kubectl(["get", "tradingbot", name, "-n", namespace, "-o", "json"])) as Bot;

const patchKillSwitch = (namespace: string, name: string, killSwitch: object) =>
  kubectl([
    "patch",
    "tradingbot",
    name,
    "-n",
    namespace,
    "--type",
    "merge",
    "-p",
    JSON.stringify({ spec: { killSwitch } }),
  ]);

const botPods = async (namespace: string, name: string): Promise<string[]> =>
  (await kubectl(["get", "pods", "-n", namespace, "-l", `trading.botops.dev/bot=${name}`, "-o", "name"]))
    .split("\n")
    .filter((line) => line !== "");

const isReady = (b: Bot) =>
  b.status?.phase === "Running" &&
  b.status.conditions?.some((c) => c.type === "Ready" && c.status === "True");

function waitForBot(namespace: string, name: string, what: string, check: (b: Bot) => boolean): Promise<Bot> {
  return waitFor(
    async () => {
      const current = await bot(namespace, name);
      return check(current) ? current : undefined;
    },
    { what: `${namespace}/${name}: ${what}`, ...SLOW },
  );
}

/** SQL as the database superuser, in the PostgreSQL pod; rows as text lines. */
async function sql(query: string): Promise<string[]> {
  const out = await kubectl([
    "exec",
    "-n",
    INFRA,
    "deploy/postgres",
    "--",
    "psql",
    "-U",
    "postgres",
    "-d",
    "trading",
    "-tAc",
    query,
  ]);
  return out.split("\n").filter((line) => line !== "");
}

/** The simulator's admin API, reached through kubectl port-forward (it binds to the pod's loopback only). */
let portForward: ChildProcess | undefined;
let adminUrl = "";

async function admin<T>(path: string, body?: object): Promise<T> {
  const response = await fetch(`${adminUrl}${path}`, {
    method: body ? "POST" : "GET",
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`admin ${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

const openOrders = async (apiKey: string) =>
  (await admin<SimOrder[]>(`/admin/orders?apiKey=${apiKey}`)).filter(
    (o) => o.status === "NEW" || o.status === "PARTIALLY_FILLED",
  );

const sample = load(readFileSync(join(REPO_ROOT, "config/samples/tradingbot-grid-paper.yaml"), "utf8")) as {
  spec: Record<string, unknown>;
};

/** The sample grid bot, pointed at the in-cluster simulator and database, its grid around the current price. */
async function gridBot(
  namespace: string,
  name: string,
  options: { labels?: Record<string, string>; maxDailyLossQuote?: string } = {},
) {
  const { price } = await admin<{ price: string }>("/admin/price?symbol=BTCUSDT");
  const p = Number(price);
  const spec = structuredClone(sample.spec) as Record<string, Record<string, unknown>>;
  spec.exchange = {
    ...spec.exchange,
    endpoint: `http://exchange-sim.${INFRA}.svc:8080`,
    credentialsSecretRef: { name: `exchange-${name}` },
  };
  spec.strategy = {
    type: "grid",
    grid: {
      lowerPrice: (p * 0.98).toFixed(2),
      upperPrice: (p * 1.02).toFixed(2),
      levels: 5,
      quotePerOrder: "50",
    },
  };
  if (options.maxDailyLossQuote) spec.risk = { ...spec.risk, maxDailyLossQuote: options.maxDailyLossQuote };
  spec.database = { secretRef: { name: "trading-database" } };
  return {
    apiVersion: "trading.botops.dev/v1alpha1",
    kind: "TradingBot",
    metadata: { name, namespace, labels: options.labels ?? {} },
    spec,
  };
}

function exchangeSecret(namespace: string, name: string, apiKey: string) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: `exchange-${name}`,
      namespace,
      labels: { "trading.botops.dev/credentials": "exchange", "trading.botops.dev/exchange-modes": "paper" },
    },
    type: "Opaque",
    stringData: { apiKey, secret: `${apiKey}-hmac-secret` },
  };
}

function databaseSecret(namespace: string) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: "trading-database",
      namespace,
      labels: { "trading.botops.dev/credentials": "database" },
    },
    type: "Opaque",
    // The trading role `bot-runtime migrate` created (test/e2e-kind/manifests/infra.yaml).
    stringData: {
      host: `postgres.${INFRA}.svc`,
      port: "5432",
      database: "trading",
      user: "tradingbot",
      password: "e2e-tradingbot-password",
      sslmode: "disable",
    },
  };
}

beforeAll(async () => {
  const port = await freePort();
  portForward = spawn("kubectl", ["port-forward", "-n", INFRA, "deploy/exchange-sim", `${port}:8081`], {
    stdio: "ignore",
  });
  adminUrl = `http://127.0.0.1:${port}`;
  await waitFor(() => admin("/admin/status").then(() => true), {
    what: "the simulator's admin API through port-forward",
  });
  const restricted = { "pod-security.kubernetes.io/enforce": "restricted" };
  await apply([
    { apiVersion: "v1", kind: "Namespace", metadata: { name: DESK_A, labels: restricted } },
    { apiVersion: "v1", kind: "Namespace", metadata: { name: DESK_B, labels: restricted } },
  ]);
  await apply([
    databaseSecret(DESK_A),
    databaseSecret(DESK_B),
    exchangeSecret(DESK_A, "grid", "e2e-grid"),
    exchangeSecret(DESK_A, "risky", "e2e-risk"),
    ...FLEET.map((name) => exchangeSecret(DESK_B, name, `e2e-${name}`)),
  ]);
});

afterAll(() => {
  portForward?.kill();
});

describe("on kind, with real kubelets", () => {
  it("a paper grid bot becomes Ready in a restricted namespace, places orders, and its fills reach PostgreSQL", async () => {
    await apply([await gridBot(DESK_A, "grid")]);
    const ready = await waitForBot(DESK_A, "grid", "Ready with a runtime heartbeat", (b) =>
      Boolean(isReady(b) && b.status?.runtime?.heartbeat),
    );
    await waitFor(async () => (await openOrders("e2e-grid")).length > 0, {
      what: "the grid's orders at the exchange",
      ...SLOW,
    });
    // Move the market through the grid's lower levels: its resting buys fill.
    await admin("/admin/price", { symbol: "BTCUSDT", movePct: -1.5 });
    await waitFor(
      async () =>
        Number(
          (await sql(`SELECT count(*) FROM tradingbot.fills WHERE bot_uid = '${ready.metadata.uid}'`))[0],
        ) > 0,
      { what: "the grid's fills in PostgreSQL", ...SLOW },
    );
  });

  it("halts on kubectl patch: status Halted, pod gone, orders cancelled at the exchange, the stop audited; then resumes", async () => {
    const before = await bot(DESK_A, "grid");
    await patchKillSwitch(DESK_A, "grid", { engaged: true, reason: "e2e halt" });
    await waitForBot(
      DESK_A,
      "grid",
      "Halted",
      (b) => b.status?.phase === "Halted" && b.status.halt?.engaged === true,
    );
    await waitFor(async () => (await botPods(DESK_A, "grid")).length === 0, {
      what: "the grid's pod to be gone",
      ...SLOW,
    });
    expect(await openOrders("e2e-grid")).toEqual([]);
    expect(
      await sql(
        `SELECT event FROM tradingbot.audit_log WHERE bot_uid = '${before.metadata.uid}' AND event = 'stopped'`,
      ),
    ).not.toEqual([]);

    await patchKillSwitch(DESK_A, "grid", { engaged: false });
    await waitForBot(DESK_A, "grid", "Ready again", (b) =>
      Boolean(isReady(b) && b.status?.halt?.engaged !== true),
    );
    await waitFor(async () => (await openOrders("e2e-grid")).length > 0, {
      what: "the grid's orders again",
      ...SLOW,
    });
  });

  it("a KillSwitch over one namespace halts its 5 bots and leaves the other namespace trading", async () => {
    await apply(await Promise.all(FLEET.map((name) => gridBot(DESK_B, name, { labels: { desk: "b" } }))));
    for (const name of FLEET) await waitForBot(DESK_B, name, "Ready", (b) => Boolean(isReady(b)));

    await apply([
      {
        apiVersion: "trading.botops.dev/v1alpha1",
        kind: "KillSwitch",
        metadata: { name: "e2e-halt-desk-b" },
        spec: { engaged: true, reason: "e2e fleet halt", namespaces: [DESK_B] },
      },
    ]);
    for (const name of FLEET) {
      await waitForBot(
        DESK_B,
        name,
        "Halted by the KillSwitch",
        (b) => b.status?.halt?.source === "KillSwitch/e2e-halt-desk-b",
      );
      await waitFor(async () => (await botPods(DESK_B, name)).length === 0, {
        what: `${name}'s pod to be gone`,
        ...SLOW,
      });
      expect(await openOrders(`e2e-${name}`), name).toEqual([]);
    }
    const grid = await bot(DESK_A, "grid");
    expect(isReady(grid)).toBe(true);
    expect(grid.status?.halt?.engaged).not.toBe(true);
    expect((await openOrders("e2e-grid")).length).toBeGreaterThan(0);

    await kubectl(["delete", "killswitch", "e2e-halt-desk-b"]);
    for (const name of FLEET) await waitForBot(DESK_B, name, "Ready again", (b) => Boolean(isReady(b)));
  });

  it("a price crash trips the daily-loss limit: the halt latches until acknowledged with its id", async () => {
    await apply([await gridBot(DESK_A, "risky", { maxDailyLossQuote: "5" })]);
    await waitForBot(DESK_A, "risky", "Ready", (b) => Boolean(isReady(b)));
    await waitFor(async () => (await openOrders("e2e-risk")).length > 0, {
      what: "the risky bot's orders",
      ...SLOW,
    });

    await admin("/admin/price", { symbol: "BTCUSDT", movePct: -20 });
    const latched = await waitForBot(
      DESK_A,
      "risky",
      "a latched risk halt",
      (b) => b.status?.halt?.source === "Risk",
    );
    expect(latched.status?.halt).toMatchObject({ engaged: true, requiresAck: true });
    expect(latched.status?.halt?.id).toBeTruthy();
    await waitFor(async () => (await botPods(DESK_A, "risky")).length === 0, {
      what: "the risky bot's pod to be gone",
      ...SLOW,
    });
    expect(await openOrders("e2e-risk")).toEqual([]);

    await patchKillSwitch(DESK_A, "risky", { acknowledgeHalt: "not-the-halt-id" });
    await waitFor(
      async () =>
        (
          await kubectl([
            "get",
            "events",
            "-n",
            DESK_A,
            "--field-selector",
            "reason=AcknowledgementRefused",
            "-o",
            "name",
          ])
        ).trim() !== "",
      { what: "the refused acknowledgement's Event", ...SLOW },
    );
    expect(await botPods(DESK_A, "risky")).toEqual([]);

    await patchKillSwitch(DESK_A, "risky", { acknowledgeHalt: latched.status?.halt?.id });
    // Acknowledged: the operator starts the bot again (which may halt anew while the loss stands).
    await waitFor(async () => (await botPods(DESK_A, "risky")).length > 0, {
      what: "a new pod for the risky bot",
      ...SLOW,
    });
  });
});
