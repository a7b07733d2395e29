import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessObjects } from "../../../api/access/policies.ts";
import { KILL_SWITCH_CHANGED_BY_ANNOTATION } from "../../../api/v1alpha1/index.ts";
import { CONTENT_SECURITY_POLICY } from "../../../console/server/app.ts";
import { botManifest } from "../../operator/fixtures.ts";
import { applyObjects, type ClusterAccess, installCrds, REPO_ROOT } from "../../operator/harness.ts";
import { clusterContext } from "../../support/context.ts";
import { freePort } from "../../support/free-port.ts";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../../support/kube.ts";
import { kubectl } from "../../support/kubectl.ts";
import { waitFor } from "../../support/wait-for.ts";
import { type LocalConsole, type Person, startLocalConsole } from "../local-console.ts";
import { type IssuerAccount, startTestIssuer, type TestIssuer } from "../oidc-issuer.ts";
import { launchChromium } from "./chromium.ts";

// Sign-in through an OpenID Connect issuer, in a real browser: panva's oidc-provider serving HTTPS on
// 127.0.0.2 (so its redirect back to the console on 127.0.0.1 is a cross-site navigation) with the test's
// own authority, which the console trusts through --oidc-ca-file; the console as its ServiceAccount with
// the RBAC of console/rbac.ts, impersonating only the allowlisted OIDC user and group; Debian's Chromium
// driven by playwright-core. What is asserted: what the browser shows, the TradingBot in the API server,
// the console's log lines and metrics, and that neither logs nor pages ever carry the client secret.

const tag = randomBytes(3).toString("hex");
const prefix = `console-oidc-${tag}`;
const halters = `halters-${tag}`;
const payroll = `payroll-${tag}`;
const CLIENT_SECRET = `canary-oidc-secret-${randomBytes(12).toString("hex")}`;
const accounts = {
  alice: { login: `alice-${tag}`, email: `alice-${tag}@example.test`, groups: [halters, payroll] },
  bob: { login: `bob-${tag}`, email: `bob-${tag}@example.test`, groups: [halters] },
  carol: { login: `carol-${tag}`, email: `carol-${tag}@example.test`, groups: [payroll] },
} satisfies Record<string, IssuerAccount>;
const asConsoleUser = (account: IssuerAccount) => `oidc:${account.email}`;
const viewer: Person = {
  name: `vera-${tag}`,
  groups: [],
  password: `vera-pw-${randomBytes(6).toString("hex")}`,
};
const policies = accessObjects(prefix, `system:serviceaccount:${prefix}:none`);
const workDir = join(REPO_ROOT, ".local", `test-console-oidc-${tag}`);
const CSP = Object.entries(CONTENT_SECURITY_POLICY)
  .map(([name, values]) => `${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${values.join(" ")}`)
  .join(";");

let access: ClusterAccess;
let ns: TestNamespace;
let issuer: TestIssuer;
let console_: LocalConsole;
let consoleUrl: string;
let redirectUrl: string;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** Every page of the console's that the browser showed, for the secret scan at the end. */
const shownPages: string[] = [];
/** Every authorization code the issuer sent back, none of which may be logged. */
const codes: string[] = [];

async function newContext(clientIp: string): Promise<BrowserContext> {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true, // the console's and the issuer's certificates come from the tests' authorities
    extraHTTPHeaders: { "x-forwarded-for": clientIp },
  });
  contexts.push(context);
  return context;
}

async function newPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.on("request", (request) => {
    if (!request.url().startsWith(redirectUrl)) return;
    const code = new URL(request.url()).searchParams.get("code");
    if (code) codes.push(code);
  });
  return page;
}

/** The provider's own development login form: the login names the account, any password passes. */
async function signInAtIssuer(page: Page, account: IssuerAccount): Promise<void> {
  await page.locator('input[name="login"]').fill(account.login);
  await page.locator('input[name="password"]').fill("any password at all");
  await page.getByRole("button", { name: "Sign-in" }).click();
}

/** The console's start route's answer, read without following it: the issuer's URL, the flow cookie set. */
async function startFlow(context: BrowserContext): Promise<URL> {
  const started = await context.request.get(`${consoleUrl}/auth/oidc/start`, { maxRedirects: 0 });
  expect(started.status()).toBe(303);
  return new URL(started.headers().location as string);
}

async function expectRefusal(page: Page, says: string): Promise<void> {
  await page.getByRole("heading", { name: "Sign-in refused" }).waitFor();
  expect(await page.getByRole("alert").textContent()).toContain(says);
  shownPages.push(await page.content());
}

interface LogLine {
  msg: string;
  user?: string | null;
  ip?: string;
  reason?: string;
  detail?: string;
  droppedGroups?: string[];
  access?: { user: string | null; method: string; route: string; status: number };
}
const logLines = () => console_.logs.map((line) => JSON.parse(line) as LogLine);
const failures = () => logLines().filter((line) => line.msg === "authentication failed");
const lastFailure = () => failures().at(-1);

async function botJson(name: string) {
  return JSON.parse((await kubectl(["get", "tradingbot", name, "-n", ns.name, "-o", "json"])).stdout) as {
    metadata: { annotations?: Record<string, string> };
    spec: { killSwitch: { engaged: boolean; reason?: string } };
  };
}

async function loginFailuresMetric(reason: string): Promise<number> {
  const text = await (await fetch(console_.running.metricsUrl)).text();
  const match = new RegExp(
    `^tradingbot_console_login_failures_total\\{reason="${reason}"\\} (\\d+)$`,
    "m",
  ).exec(text);
  return Number(match?.[1] ?? 0);
}

beforeAll(async () => {
  const cluster = clusterContext();
  access = { kubectlPath: cluster.kubectlPath, kubeconfigPath: cluster.kubeconfigPath };
  const adminKc = adminKubeConfig();
  await installCrds(access);
  await applyObjects(access, policies);
  ns = await createTestNamespace(adminKc, "conoidc");
  // The issuer's halters group, prefixed as the console sends it, may halt bots.
  const rbac = "rbac.authorization.k8s.io";
  await applyObjects(access, [
    {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: `${prefix}-oidc-halters` },
      roleRef: { apiGroup: rbac, kind: "ClusterRole", name: `${prefix}-halter` },
      subjects: [{ apiGroup: rbac, kind: "Group", name: `oidc:${halters}` }],
    },
  ]);
  await waitFor(
    () =>
      applyObjects(access, [botManifest(ns.name, "alpha"), botManifest(ns.name, "probe")]).then(() => true),
    { what: "the TradingBots to be admitted", timeoutMs: 60_000 },
  );
  // The stamp policy acts a moment after it is created: wait until it names whoever patches.
  let probes = 0;
  await waitFor(
    async () => {
      probes++;
      await kubectl([
        "patch",
        "tradingbot",
        "probe",
        "-n",
        ns.name,
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { killSwitch: { reason: `probe ${probes}` } } }),
      ]);
      return (await botJson("probe")).metadata.annotations?.[KILL_SWITCH_CHANGED_BY_ANNOTATION] !== undefined;
    },
    { what: "the kill-switch-changed-by stamp policy to act", timeoutMs: 60_000 },
  );

  // The console's port first: the issuer registers its callback before either serves.
  const port = await freePort();
  consoleUrl = `https://127.0.0.1:${port}`;
  redirectUrl = `${consoleUrl}/auth/oidc/callback`;
  issuer = await startTestIssuer({
    host: "127.0.0.2",
    workDir,
    redirectUrl,
    accounts: Object.values(accounts),
    clientSecret: CLIENT_SECRET,
  });
  const clientSecretFile = join(workDir, "oidc-client-secret");
  writeFileSync(clientSecretFile, `${CLIENT_SECRET}\n`, { mode: 0o600 });
  console_ = await startLocalConsole({
    access,
    adminKubeConfig: adminKc,
    prefix,
    people: [viewer],
    groups: [`oidc:${halters}`],
    workDir,
    extra: {
      listen: `127.0.0.1:${port}`,
      webDir: join(REPO_ROOT, "dist", "console", "web"),
      trustedProxies: 1,
      // Bob is not on the list; Carol is, but none of her groups is.
      impersonateUsers: [asConsoleUser(accounts.alice), asConsoleUser(accounts.carol)],
      oidc: {
        issuerUrl: issuer.url,
        clientId: issuer.clientId,
        clientSecretFile,
        redirectUrl,
        usernameClaim: "email",
        groupsClaim: "groups",
        usernamePrefix: "oidc:",
        groupsPrefix: "oidc:",
        scopes: ["openid", "email", "groups"],
        caFile: issuer.caFile,
        displayName: "Test IdP",
      },
    },
  });
  // RBAC acts a moment after it is created: the console's right to impersonate Alice, and her group's to halt.
  const consoleSa = `system:serviceaccount:${console_.identityNamespace}:tradingbot-console`;
  await waitFor(
    async () => {
      const checks = await Promise.all([
        kubectl(
          ["auth", "can-i", "impersonate", `users/${asConsoleUser(accounts.alice)}`, `--as=${consoleSa}`],
          {
            allowFailure: true,
          },
        ),
        kubectl(
          [
            "auth",
            "can-i",
            "patch",
            "tradingbots",
            "-n",
            ns.name,
            `--as=${asConsoleUser(accounts.alice)}`,
            `--as-group=oidc:${halters}`,
          ],
          { allowFailure: true },
        ),
      ]);
      return checks.every((check) => check.stdout.trim() === "yes");
    },
    { what: "the console's impersonation rights and the OIDC halters' binding to act" },
  );
  browser = await launchChromium();
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close();
  await console_?.close();
  await issuer?.close();
  rmSync(workDir, { recursive: true, force: true });
  await ns?.cleanup();
  for (const object of [
    { kind: "ClusterRoleBinding", metadata: { name: `${prefix}-oidc-halters` } },
    ...policies,
  ].reverse()) {
    await kubectl(["delete", object.kind, object.metadata.name, "--ignore-not-found"], {
      allowFailure: true,
    });
  }
});

describe("signing in to the console through an OIDC issuer", () => {
  it("signs in with PKCE, lands on the fleet page as oidc:<email>, and halts a bot as that person", async () => {
    const context = await newContext("203.0.113.40");
    const page = await newPage(context);
    const startAnswer = page.waitForResponse((r) => r.url() === `${consoleUrl}/auth/oidc/start`);
    const authorization = page.waitForRequest((r) => r.url().startsWith(issuer.url));
    await page.goto(consoleUrl);
    // Both ways in: the issuer, and the local users' password form.
    const signIn = page.getByRole("link", { name: "Sign in with Test IdP" });
    await signIn.waitFor();
    await page.getByLabel("Username").waitFor();
    shownPages.push(await page.content());
    await signIn.click();

    // A redirect, no page: the flow's cookie is sealed, HttpOnly, Lax and only for the callback.
    const start = await startAnswer;
    expect(start.status()).toBe(303);
    const startHeaders = await start.allHeaders();
    expect(startHeaders["content-security-policy"]).toBe(CSP);
    const flowCookie = startHeaders["set-cookie"] ?? "";
    expect(flowCookie).toMatch(/^tbc_oidc=v1\./);
    for (const attribute of ["Max-Age=600", "Path=/auth/oidc/callback", "HttpOnly", "Secure", "SameSite=Lax"])
      expect(flowCookie).toContain(attribute);
    const asked = new URL((await authorization).url());
    expect(Object.fromEntries(asked.searchParams)).toMatchObject({
      client_id: issuer.clientId,
      redirect_uri: redirectUrl,
      response_type: "code",
      scope: "openid email groups",
      code_challenge_method: "S256",
      code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      state: expect.stringMatching(/^[A-Za-z0-9_-]{20,}$/),
      nonce: expect.stringMatching(/^[A-Za-z0-9_-]{20,}$/),
    });
    expect(asked.href).not.toContain(CLIENT_SECRET);

    await signInAtIssuer(page, accounts.alice);
    const alice = asConsoleUser(accounts.alice);
    await page.locator("#who").getByText(alice).waitFor();
    // Payroll is not a group the console may impersonate: dropped, not sent.
    expect(await page.locator("#who").textContent()).toBe(`${alice} (oidc:${halters})`);
    await page.locator(`tr[data-bot="${ns.name}/alpha"]`).waitFor();
    shownPages.push(await page.content());
    expect(logLines()).toContainEqual(
      expect.objectContaining({ user: alice, droppedGroups: [`oidc:${payroll}`] }),
    );
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === "tbc_oidc")).toBeUndefined();
    expect(cookies.find((c) => c.name === "tbc_session")).toMatchObject({
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
    });

    await page.goto(`${consoleUrl}/#/bots/${ns.name}/alpha`);
    const halt = page.getByRole("button", { name: "Halt", exact: true });
    await waitFor(async () => !(await halt.isDisabled()), { what: "the halt button, from Alice's review" });
    await page.getByLabel("Reason").fill("halted through the issuer's sign-in");
    await halt.click();
    const halted = await waitFor(
      async () => {
        const bot = await botJson("alpha");
        return bot.spec.killSwitch.engaged ? bot : undefined;
      },
      { what: "the halt in the API server" },
    );
    expect(halted.spec.killSwitch.reason).toBe("halted through the issuer's sign-in");
    expect(halted.metadata.annotations?.[KILL_SWITCH_CHANGED_BY_ANNOTATION]).toBe(alice);
    expect(logLines().map((line) => line.access)).toContainEqual(
      expect.objectContaining({
        user: alice,
        method: "POST",
        route: "/api/bots/:namespace/:name/halt",
        status: 200,
      }),
    );

    // The same session as a password login: logout ends it.
    await page.getByRole("button", { name: "Log out" }).click();
    await signIn.waitFor();
    expect(await page.evaluate(async () => (await fetch("/api/bots")).status)).toBe(401);
  });

  it("still logs a local user in with a password beside the issuer", async () => {
    const page = await newPage(await newContext("203.0.113.52"));
    await page.goto(consoleUrl);
    await page.getByRole("link", { name: "Sign in with Test IdP" }).waitFor();
    await page.getByLabel("Username").fill(viewer.name);
    await page.getByLabel("Password").fill(viewer.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.locator("#who").getByText(viewer.name).waitFor();
    shownPages.push(await page.content());
  });

  it("refuses a person the console may not impersonate, with a page, a log line and a count", async () => {
    const before = await loginFailuresMetric("oidc_user_not_allowed");
    const context = await newContext("203.0.113.41");
    const page = await newPage(context);
    await page.goto(`${consoleUrl}/auth/oidc/start`);
    const callback = page.waitForResponse((r) => r.url().startsWith(redirectUrl));
    await signInAtIssuer(page, accounts.bob);
    const answer = await callback;
    expect(answer.status()).toBe(403);
    expect((await answer.allHeaders())["content-security-policy"]).toBe(CSP);
    expect(await answer.text()).not.toContain("<script");
    await expectRefusal(
      page,
      `as ${asConsoleUser(accounts.bob)}, but this console is not set up to act for that account`,
    );
    expect(lastFailure()).toMatchObject({
      user: asConsoleUser(accounts.bob),
      ip: "203.0.113.41",
      reason: "oidc_user_not_allowed",
    });
    expect(await loginFailuresMetric("oidc_user_not_allowed")).toBe(before + 1);
    expect((await context.cookies()).find((c) => c.name === "tbc_session")).toBeUndefined();
  });

  it("refuses a person on the list none of whose groups the console may impersonate", async () => {
    const page = await newPage(await newContext("203.0.113.42"));
    await page.goto(`${consoleUrl}/auth/oidc/start`);
    await signInAtIssuer(page, accounts.carol);
    await expectRefusal(page, "none of your groups may use this console");
    expect(lastFailure()).toMatchObject({
      user: asConsoleUser(accounts.carol),
      reason: "oidc_no_allowed_group",
    });
    expect(await loginFailuresMetric("oidc_no_allowed_group")).toBe(1);
  });

  it("refuses a callback whose state was changed, whose flow cookie was tampered with, or that reaches a browser that never started it", async () => {
    // The state the issuer sends back is not the one this browser's flow holds.
    const changed = await newContext("203.0.113.43");
    const changedUrl = await startFlow(changed);
    changedUrl.searchParams.set("state", "state-of-another-sign-in");
    const changedPage = await newPage(changed);
    await changedPage.goto(changedUrl.href);
    await signInAtIssuer(changedPage, accounts.alice);
    await expectRefusal(changedPage, "it must be completed in the browser that started it");
    expect(lastFailure()).toMatchObject({ reason: "oidc_bad_state", detail: "state_mismatch" });

    // One byte of the sealed flow cookie changed.
    const tampered = await newContext("203.0.113.44");
    const tamperedUrl = await startFlow(tampered);
    const flow = (await tampered.cookies()).find((c) => c.name === "tbc_oidc");
    if (!flow) throw new Error("no flow cookie after /auth/oidc/start");
    const at = Math.floor(flow.value.length / 2);
    const flipped = flow.value[at] === "A" ? "B" : "A";
    await tampered.addCookies([
      { ...flow, value: `${flow.value.slice(0, at)}${flipped}${flow.value.slice(at + 1)}` },
    ]);
    const tamperedPage = await newPage(tampered);
    await tamperedPage.goto(tamperedUrl.href);
    await signInAtIssuer(tamperedPage, accounts.alice);
    await expectRefusal(tamperedPage, "it must be completed in the browser that started it");
    expect(lastFailure()).toMatchObject({ reason: "oidc_bad_state", detail: "flow_cookie_tampered" });

    // A genuine answer of the issuer, carried to another browser (a login forced on someone else).
    const victimOf = await newContext("203.0.113.45");
    const sourcePage = await newPage(await newContext("203.0.113.46"));
    let carried: string | undefined;
    sourcePage.on("request", (request) => {
      if (request.url().startsWith(redirectUrl)) carried = request.url();
    });
    await sourcePage.goto(`${consoleUrl}/auth/oidc/start`);
    await signInAtIssuer(sourcePage, accounts.alice);
    const stolen = await waitFor(() => carried, { what: "the issuer's redirect back" });
    const victim = await newPage(victimOf);
    await victim.goto(stolen);
    await expectRefusal(victim, "it must be completed in the browser that started it");
    expect(lastFailure()).toMatchObject({ reason: "oidc_bad_state", detail: "no_flow_cookie" });
    expect((await victimOf.cookies()).find((c) => c.name === "tbc_session")).toBeUndefined();
  });

  it("refuses a code issued without this flow's PKCE challenge, and an ID token without this flow's nonce", async () => {
    // The authorization request without code_challenge: the issuer refuses the console's code_verifier.
    const withoutPkce = await newContext("203.0.113.47");
    const noChallenge = await startFlow(withoutPkce);
    noChallenge.searchParams.delete("code_challenge");
    noChallenge.searchParams.delete("code_challenge_method");
    const noChallengePage = await newPage(withoutPkce);
    await noChallengePage.goto(noChallenge.href);
    await signInAtIssuer(noChallengePage, accounts.alice);
    await expectRefusal(noChallengePage, "did not accept this sign-in's code");
    expect(lastFailure()).toMatchObject({ reason: "oidc_code_rejected", detail: "invalid_grant" });

    // The same challenge and state, another nonce: the code is exchanged, and its ID token refused.
    const otherNonce = await newContext("203.0.113.48");
    const renonced = await startFlow(otherNonce);
    renonced.searchParams.set("nonce", "nonce-of-another-sign-in");
    const renoncedPage = await newPage(otherNonce);
    await renoncedPage.goto(renonced.href);
    await signInAtIssuer(renoncedPage, accounts.alice);
    await expectRefusal(renoncedPage, "could not be verified");
    expect(lastFailure()).toMatchObject({
      reason: "oidc_token_invalid",
      detail: "OAUTH_JWT_CLAIM_COMPARISON_FAILED",
    });
    for (const context of [withoutPkce, otherNonce])
      expect((await context.cookies()).find((c) => c.name === "tbc_session")).toBeUndefined();
  });

  it("refuses a completed callback replayed with its flow cookie", async () => {
    const original = await newContext("203.0.113.49");
    const page = await newPage(original);
    let callback: string | undefined;
    page.on("request", (request) => {
      if (request.url().startsWith(redirectUrl)) callback = request.url();
    });
    await page.goto(`${consoleUrl}/auth/oidc/start`);
    const flow = (await original.cookies()).find((c) => c.name === "tbc_oidc");
    if (!flow) throw new Error("no flow cookie after /auth/oidc/start");
    await signInAtIssuer(page, accounts.alice);
    await page.locator("#who").getByText(asConsoleUser(accounts.alice)).waitFor();

    const replayer = await newContext("203.0.113.50");
    await replayer.addCookies([flow]);
    const replay = await newPage(replayer);
    await replay.goto(await waitFor(() => callback, { what: "the callback's URL" }));
    await expectRefusal(replay, "was completed already");
    expect(lastFailure()).toMatchObject({ reason: "oidc_replayed", ip: "203.0.113.50" });
    expect((await replayer.cookies()).find((c) => c.name === "tbc_session")).toBeUndefined();
  });

  it("limits the sign-in routes per client address as tightly as the password login", async () => {
    const context = await newContext("203.0.113.51");
    for (const [route, answered] of [
      ["/auth/oidc/start", 303],
      ["/auth/oidc/callback?state=guessed&code=guessed", 400],
    ] as const) {
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) {
        statuses.push((await context.request.get(`${consoleUrl}${route}`, { maxRedirects: 0 })).status());
      }
      expect(statuses, route).toEqual(Array(20).fill(answered));
      const refused = await context.request.get(`${consoleUrl}${route}`, { maxRedirects: 0 });
      expect(refused.status(), route).toBe(429);
      expect(Number(refused.headers()["retry-after"]), route).toBeGreaterThan(0);
    }
  });

  it("never logs or shows the client secret, an authorization code or a token", () => {
    expect(codes.length).toBeGreaterThanOrEqual(6);
    expect(shownPages.length).toBeGreaterThanOrEqual(8);
    const logged = console_.logs.join("\n");
    expect(logged).not.toContain(CLIENT_SECRET);
    // A JWT's header ({"alg"...) as base64url: no ID token in any line.
    expect(logged).not.toContain("eyJhbGci");
    for (const code of codes) expect(logged).not.toContain(code);
    for (const page of shownPages) {
      expect(page).not.toContain(CLIENT_SECRET);
      expect(page).not.toContain("eyJhbGci");
    }
  });
});
