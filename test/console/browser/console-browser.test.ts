import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessObjects } from "../../../api/access/policies.ts";
import { KILL_SWITCH_CHANGED_BY_ANNOTATION } from "../../../api/v1alpha1/index.ts";
import { SAMPLE_GRID_BOT, type TradingEnvironment } from "../../e2e/environment.ts";
import { isReady, patchKillSwitch, startSuiteEnvironment } from "../../e2e/suite-environment.ts";
import { REPO_ROOT } from "../../operator/harness.ts";
import { waitFor } from "../../support/wait-for.ts";
import { type LocalConsole, type Person, startLocalConsole } from "../local-console.ts";
import { launchChromium } from "./chromium.ts";

// The console in a real browser: Debian's Chromium driven by playwright-core, the page served by the
// console as it is built (dist/console/web), the console running as its own ServiceAccount with its real
// RBAC, in front of the whole loop (operator, bot runtime on the node agent, simulator, PostgreSQL). What
// is asserted is what the browser shows, the TradingBot in the API server, and orders at the simulator.

const BOT = "grid-btc-paper";
const tag = randomBytes(3).toString("hex");
const prefix = `console-ui-${tag}`;
const halters = `halters-${tag}`;
const leads = `leads-${tag}`;
const people = {
  halter: { name: `hal-${tag}`, groups: [halters], password: `hal-pw-${randomBytes(6).toString("hex")}` },
  lead: {
    name: `lea-${tag}`,
    groups: [leads, halters],
    password: `lea-pw-${randomBytes(6).toString("hex")}`,
  },
  viewer: { name: `vera-${tag}`, groups: [], password: `vera-pw-${randomBytes(6).toString("hex")}` },
} satisfies Record<string, Person>;

let env: TradingEnvironment;
let ns: string;
let botUid: string;
let console_: LocalConsole;
let browser: Browser;
let clock = { offsetMs: 0 };
const contexts: BrowserContext[] = [];
const workDir = join(REPO_ROOT, ".local", `test-console-ui-${tag}`);

/** A browser of its own (cookies, and the client address it comes from through the trusted proxy). */
async function newPage(clientIp: string): Promise<Page> {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true, // the console's certificate is signed by the test's own authority
    extraHTTPHeaders: { "x-forwarded-for": clientIp },
  });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(console_.running.url);
  return page;
}

async function logIn(page: Page, person: Person): Promise<void> {
  await page.getByLabel("Username").fill(person.name);
  await page.getByLabel("Password").fill(person.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.locator("#who").getByText(person.name).waitFor();
}

/** The TradingBot as the API server stores it. */
async function storedBot() {
  return JSON.parse(await env.kubectl(["get", "tradingbot", BOT, "-n", ns, "-o", "json"])) as {
    metadata: { annotations?: Record<string, string> };
    spec: { killSwitch: { engaged: boolean; reason?: string } };
  };
}

/** The console's access-log lines. */
const accessLines = () =>
  console_.logs
    .map((line) => JSON.parse(line) as { access?: { method: string; route: string; status: number } })
    .flatMap((line) => (line.access ? [line.access] : []));

/**
 * The pictures of docs/console.md, taken here so they show the page as it is:
 * `CONSOLE_SCREENSHOTS=docs/images npx vitest run test/console/browser` writes them.
 */
async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.CONSOLE_SCREENSHOTS;
  if (dir) await page.screenshot({ path: join(REPO_ROOT, dir, `console-${name}.png`), fullPage: true });
}

const fleetRow = (page: Page) => page.locator(`tr[data-bot="${ns}/${BOT}"]`);

async function tradingAgain(): Promise<void> {
  await env.waitForBot(ns, BOT, isReady, "Ready", 120_000);
  await waitFor(() => env.openOrdersAtExchange(botUid).length >= 2, {
    what: "the bot's orders at the simulator",
    timeoutMs: 60_000,
  });
}

beforeAll(async () => {
  const suite = await startSuiteEnvironment("console-ui", ["desk"]);
  env = suite.env;
  ns = suite.namespaces[0] as string;
  const rbac = "rbac.authorization.k8s.io";
  await env.apply([
    ...accessObjects(prefix, `system:serviceaccount:${prefix}:none`),
    {
      apiVersion: `${rbac}/v1`,
      kind: "RoleBinding",
      metadata: { name: `${people.viewer.name}-view`, namespace: ns },
      roleRef: { apiGroup: rbac, kind: "ClusterRole", name: "view" },
      subjects: [{ apiGroup: rbac, kind: "User", name: people.viewer.name }],
    },
    {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: `${halters}-halter` },
      roleRef: { apiGroup: rbac, kind: "ClusterRole", name: `${prefix}-halter` },
      subjects: [{ apiGroup: rbac, kind: "Group", name: halters }],
    },
    // Leads may also create KillSwitches: a fleet halt.
    {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRole",
      metadata: { name: `${leads}-killswitch-creator` },
      rules: [{ apiGroups: ["trading.botops.dev"], resources: ["killswitches"], verbs: ["create"] }],
    },
    {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: `${leads}-killswitch-creator` },
      roleRef: { apiGroup: rbac, kind: "ClusterRole", name: `${leads}-killswitch-creator` },
      subjects: [{ apiGroup: rbac, kind: "Group", name: leads }],
    },
  ]);
  // New admission policies (the stamp, the TradingPolicy check) refuse writes of their kinds for a moment
  // (503, the kind not yet resolved; or the policy's parameter not yet synced): apply until admitted.
  await waitFor(() => env.apply([env.botFromSample(SAMPLE_GRID_BOT, ns, { name: BOT })]).then(() => true), {
    what: "the TradingBot to be admitted",
    timeoutMs: 60_000,
  });
  botUid = (await env.waitForBot(ns, BOT, isReady, "Ready", 120_000)).metadata.uid as string;
  await tradingAgain();

  clock = { offsetMs: 0 };
  console_ = await startLocalConsole({
    access: env.cluster,
    adminKubeConfig: env.adminKubeConfig,
    prefix,
    people: Object.values(people),
    groups: [halters, leads],
    workDir,
    extra: {
      webDir: join(REPO_ROOT, "dist", "console", "web"),
      databaseCredentials: env.database.consoleCredentials,
      trustedProxies: 1,
      now: () => Date.now() + clock.offsetMs,
    },
  });
  browser = await launchChromium();
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  await console_?.close();
  rmSync(workDir, { recursive: true, force: true });
  for (const [kind, name] of [
    ["ClusterRoleBinding", `${halters}-halter`],
    ["ClusterRoleBinding", `${leads}-killswitch-creator`],
    ["ClusterRole", `${leads}-killswitch-creator`],
    ["KillSwitch", `${prefix}-desk`],
    ...accessObjects(prefix, "none").map((o) => [o.kind, o.metadata.name]),
  ] as [string, string][]) {
    await env?.kubectl(["delete", kind, name, "--ignore-not-found"]).catch(() => {});
  }
  await env?.stop();
});

describe("the console in a real browser", () => {
  it("answers a guessed password with 429 and Retry-After after five tries; the right one opens the fleet page", async () => {
    const attacker = await newPage("198.51.100.7");
    const answers: { status: number; retryAfter: string | null }[] = [];
    attacker.on("response", (response) => {
      if (response.url().endsWith("/api/login")) {
        answers.push({ status: response.status(), retryAfter: response.headers()["retry-after"] ?? null });
      }
    });
    for (let attempt = 1; attempt <= 6; attempt++) {
      await attacker.getByLabel("Username").fill(people.halter.name);
      await attacker.getByLabel("Password").fill(`guess-${attempt}`);
      await attacker.getByRole("button", { name: "Log in" }).click();
      await waitFor(() => answers.length === attempt, { what: `the answer to login attempt ${attempt}` });
    }
    expect(answers.slice(0, 5).map((a) => a.status)).toEqual([401, 401, 401, 401, 401]);
    expect(answers[5]?.status).toBe(429);
    expect(Number(answers[5]?.retryAfter)).toBeGreaterThan(0);
    await attacker
      .getByRole("alert")
      .getByText(/Too many attempts: try again in \d+ seconds/)
      .waitFor();
    expect(console_.logs.some((line) => line.includes("guess-"))).toBe(false);

    const halter = await newPage("203.0.113.20");
    await logIn(halter, people.halter);
    await fleetRow(halter).waitFor();
    expect(await fleetRow(halter).locator('[data-col="phase"]').textContent()).toBe("Running");
  });

  it("lists the bot on the fleet page and shows its halt live, without a reload", async () => {
    const page = await newPage("203.0.113.21");
    await logIn(page, people.halter);
    await fleetRow(page).locator('[data-col="phase"]', { hasText: "Running" }).waitFor();
    let reloads = 0;
    page.on("load", () => reloads++);

    await patchKillSwitch(env, ns, BOT, { engaged: true, reason: "desk check from kubectl" });
    await fleetRow(page).locator('[data-col="phase"]', { hasText: "Halted" }).waitFor({ timeout: 30_000 });
    expect(await fleetRow(page).locator('[data-col="halt"]').textContent()).toContain(
      "desk check from kubectl",
    );
    expect(reloads).toBe(0);
    await screenshot(page, "fleet");

    await patchKillSwitch(env, ns, BOT, { engaged: false });
    await fleetRow(page).locator('[data-col="phase"]', { hasText: "Running" }).waitFor({ timeout: 60_000 });
    await tradingAgain();
  });

  it("halts the bot from its page: its orders are cancelled at the simulator and the stamp names the person", async () => {
    const page = await newPage("203.0.113.22");
    await logIn(page, people.halter);
    await page.goto(`${console_.running.url}/#/bots/${ns}/${BOT}`);
    await page.getByTestId("phase").getByText("Running").waitFor();
    expect(env.openOrdersAtExchange(botUid).length).toBeGreaterThanOrEqual(2);

    await page.getByLabel("Reason").fill("halted from the console");
    await page.getByRole("button", { name: "Halt", exact: true }).click();
    await waitFor(() => env.openOrdersAtExchange(botUid).length === 0, {
      what: "no open order of the bot at the simulator",
      timeoutMs: 30_000,
    });
    await page.getByTestId("halt").getByText(`by ${people.halter.name}`).waitFor({ timeout: 30_000 });
    // The bot's record from PostgreSQL, through the console's read-only role: the cancels and the halt.
    const recheck = page.getByRole("button", { name: "Check the chain again" });
    await waitFor(
      async () => {
        await recheck.click();
        return (await page.getByTestId("audit").getByText("order_cancelled").count()) > 0;
      },
      { what: "the halt's cancels in the audit trail on the page", timeoutMs: 30_000, intervalMs: 500 },
    );
    await page
      .getByTestId("audit-chain")
      .getByText(/Hash chain intact/)
      .waitFor();
    // The operator records the chain head in status.audit with its status writes; the page holds the
    // database to it.
    await waitFor(
      async () => {
        await recheck.click();
        const verified = page
          .getByTestId("audit-anchor")
          .getByText(/Verified against the anchor in the API server at sequence \d+/);
        return (await verified.count()) > 0;
      },
      {
        what: "the audit trail verified against status.audit on the page",
        timeoutMs: 60_000,
        intervalMs: 500,
      },
    );
    // The record's tables are read again every 10 s: the orders the halt cancelled leave the open ones.
    await page.getByTestId("orders-empty").waitFor({ timeout: 30_000 });
    expect(await page.getByTestId("pnl-chart").locator("canvas").count()).toBeGreaterThan(0);
    await screenshot(page, "bot");
    // No secret of the bot's in the page or in the console's log: the exchange key and secret, the
    // database passwords (its trading and read-only roles).
    const secrets = [
      env.account(ns).apiKey,
      env.account(ns).secret,
      readFileSync(join(env.database.tradingCredentials, "password"), "utf8").trim(),
      readFileSync(join(env.database.consoleCredentials, "password"), "utf8").trim(),
    ];
    const shown = await page.content();
    for (const secret of secrets) {
      expect(shown).not.toContain(secret);
      expect(console_.logs.join("\n")).not.toContain(secret);
    }
    const bot = await storedBot();
    expect(bot.spec.killSwitch).toMatchObject({ engaged: true, reason: "halted from the console" });
    expect(bot.metadata.annotations?.[KILL_SWITCH_CHANGED_BY_ANNOTATION]).toBe(people.halter.name);

    await page.getByRole("button", { name: "Resume" }).click();
    await tradingAgain();
  });

  it("shows a viewer the halt button disabled, and the API server refuses the viewer's forged halt", async () => {
    const page = await newPage("203.0.113.23");
    await logIn(page, people.viewer);
    const permissions = page.waitForResponse((r) => r.url().endsWith(`/api/bots/${ns}/${BOT}/permissions`));
    await page.goto(`${console_.running.url}/#/bots/${ns}/${BOT}`);
    await page.getByTestId("phase").getByText("Running").waitFor();
    expect(await (await permissions).json()).toMatchObject({ halt: false });
    expect(await page.getByRole("button", { name: "Halt", exact: true }).isDisabled()).toBe(true);

    const forged = await page.evaluate(
      async ({ ns, bot }) => {
        const { csrfToken } = (await (await fetch("/api/session")).json()) as { csrfToken: string };
        const response = await fetch(`/api/bots/${ns}/${bot}/halt`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-csrf-token": csrfToken },
          body: JSON.stringify({ reason: "forged" }),
        });
        return { status: response.status, body: await response.text() };
      },
      { ns, bot: BOT },
    );
    expect(forged.status).toBe(403);
    expect(forged.body).toContain("forbidden");
    expect(forged.body).toContain(people.viewer.name);
    expect((await storedBot()).spec.killSwitch.engaged).toBe(false);
  });

  it("refuses a POST without the CSRF token, and a cross-origin page's request never gets past the preflight", async () => {
    const page = await newPage("203.0.113.24");
    await logIn(page, people.halter);
    const withoutToken = await page.evaluate(
      async ({ ns, bot }) => {
        const response = await fetch(`/api/bots/${ns}/${bot}/halt`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ reason: "no token" }),
        });
        return response.status;
      },
      { ns, bot: BOT },
    );
    expect(withoutToken).toBe(403);

    // Another origin on loopback whose page tries the same halt with the person's cookies.
    const target = `${console_.running.url}/api/bots/${ns}/${BOT}/halt`;
    const hostile = await listenHostilePage(target);
    const haltRoute = "/api/bots/:namespace/:name/halt";
    const relevant = () =>
      accessLines().filter((line) => line.route === haltRoute || line.method === "OPTIONS");
    const before = relevant().length;
    try {
      await page.goto(hostile.url);
      await waitFor(async () => (await page.title()) !== "", { what: "the hostile page's attempt" });
      expect(await page.title()).toBe("refused: TypeError");
      // The console saw the browser's preflight, and no POST followed it.
      const after = relevant().slice(before);
      expect(after.map((line) => line.method)).toContain("OPTIONS");
      expect(after.filter((line) => line.method === "POST")).toEqual([]);
    } finally {
      await hostile.close();
    }
    expect((await storedBot()).spec.killSwitch.engaged).toBe(false);
  });

  it("halts the fleet with a KillSwitch typed back to confirm its scope, and releases it from the KillSwitches page", async () => {
    const page = await newPage("203.0.113.26");
    await logIn(page, people.lead);
    const fleetHalt = page.getByRole("form", { name: "Fleet halt" });
    const create = fleetHalt.getByRole("button", { name: "Halt the fleet" });
    await waitFor(async () => !(await create.isDisabled()), { what: "the lead's permission to create one" });
    const name = `${prefix}-desk`;
    await fleetHalt.getByLabel("KillSwitch name").fill(name);
    await fleetHalt.getByLabel("Namespaces").fill(ns);
    await fleetHalt.getByLabel("Reason").fill("desk-wide stop");
    await fleetHalt.getByLabel("Confirm scope").fill("every namespace");
    await create.click();
    await page.getByText(/confirmScope/).waitFor();
    expect(await env.kubectl(["get", "killswitches", "-o", "name"])).not.toContain(name);

    await fleetHalt.getByLabel("Confirm scope").fill(ns);
    await create.click();
    await page.getByText(`KillSwitch ${name} engaged.`).waitFor();
    await waitFor(() => env.openOrdersAtExchange(botUid).length === 0, {
      what: "the fleet halt to cancel the bot's orders at the simulator",
      timeoutMs: 30_000,
    });
    await fleetRow(page)
      .locator('[data-col="halt"]', { hasText: `KillSwitch/${name}` })
      .waitFor({ timeout: 30_000 });

    await page.getByRole("link", { name: "KillSwitches" }).click();
    const row = page.locator(`tr[data-killswitch="${name}"]`);
    await row.getByText("engaged", { exact: true }).waitFor();
    await row.getByRole("button", { name: "Release" }).click();
    await row.getByText("released", { exact: true }).waitFor();
    await tradingAgain();
  });

  it("ends the session on logout, and after 30 minutes idle", async () => {
    const page = await newPage("203.0.113.25");
    await logIn(page, people.halter);
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("button", { name: "Log in" }).waitFor();
    expect(await page.evaluate(async () => (await fetch("/api/bots")).status)).toBe(401);

    await logIn(page, people.halter);
    clock.offsetMs += 31 * 60_000;
    try {
      expect(await page.evaluate(async () => (await fetch("/api/session")).status)).toBe(401);
      await page.reload();
      await page.getByRole("button", { name: "Log in" }).waitFor();
    } finally {
      clock.offsetMs = 0;
    }
  });
});

/** A page on another loopback origin that tries a halt on the console with the browser's cookies. */
async function listenHostilePage(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const page = `<!doctype html><title></title><script>
fetch(${JSON.stringify(target)}, {
  method: "POST",
  credentials: "include",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ reason: "cross-origin" }),
}).then((r) => { document.title = "answered: " + r.status; }, (e) => { document.title = "refused: " + e.name; });
</script>`;
  const server: Server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/html" });
    response.end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.2", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.2:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
