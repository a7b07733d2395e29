// The console of the demo: served on loopback (plain HTTP, which the console allows only there) as its
// own ServiceAccount with exactly its RBAC (console/rbac.ts), with one person, `demo`, whose random
// password is printed once and kept only as an argon2id hash. `demo` may halt and release bots and
// KillSwitches (the people's halter role) and create KillSwitches; the kill-switch stamp names them.

import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { accessObjects } from "../api/access/policies.ts";
import { GROUP, KILL_SWITCH } from "../api/v1alpha1/index.ts";
import { startLocalConsole } from "../test/console/local-console.ts";
import { SAMPLE_GRID_BOT, type TradingEnvironment } from "../test/e2e/environment.ts";
import { REPO_ROOT } from "../test/operator/harness.ts";
import { waitFor } from "../test/support/wait-for.ts";

export const DEMO_USER = "demo";

export interface DemoConsole {
  url: string;
  user: string;
  password: string;
  stop(): Promise<void>;
}

export async function startDemoConsole(options: {
  env: TradingEnvironment;
  /** Names the console's namespace and cluster objects. */
  name: string;
  workDir: string;
  /** A namespace of the demo's bots: where the stamp policy is seen to act before the demo goes on. */
  botNamespace: string;
  log: (line: string) => void;
}): Promise<DemoConsole> {
  const { env, name } = options;
  const group = `${name}-halters`;
  const rbac = "rbac.authorization.k8s.io";
  const operatorUser = `system:serviceaccount:${env.operatorNamespace}:tradingbot-operator`;
  // The people's roles and the kill-switch stamp, as the chart installs them; the bots of the demo need no
  // TradingPolicy, so its admission is left out.
  const people = accessObjects(name, operatorUser).filter(
    (object) => object.kind === "ClusterRole" || object.kind.startsWith("MutatingAdmissionPolicy"),
  );
  const grants = [
    ...people,
    {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: `${name}-console-halters` },
      roleRef: { apiGroup: rbac, kind: "ClusterRole", name: `${name}-halter` },
      subjects: [{ apiGroup: rbac, kind: "Group", name: group }],
    },
    {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRole",
      metadata: { name: `${name}-console-fleet-halt` },
      rules: [{ apiGroups: [GROUP], resources: [KILL_SWITCH.plural], verbs: ["create"] }],
    },
    {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: `${name}-console-fleet-halt` },
      roleRef: { apiGroup: rbac, kind: "ClusterRole", name: `${name}-console-fleet-halt` },
      subjects: [{ apiGroup: rbac, kind: "Group", name: group }],
    },
  ];
  await env.apply(grants);
  // A new admission policy can refuse writes of its kinds for a moment (503, its kind not yet resolved):
  // the demo goes on once a TradingBot passes it.
  const probe = env.botFromSample(SAMPLE_GRID_BOT, options.botNamespace, { name: "admission-probe" });
  await waitFor(
    () =>
      env
        .kubectl(["apply", "--server-side", "--dry-run=server", "-f", "-"], JSON.stringify(probe))
        .then(() => true),
    { what: "the kill-switch stamp policy to admit TradingBots", timeoutMs: 60_000 },
  );

  const workDir = join(options.workDir, "console");
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const logFile = join(workDir, "console.log");
  writeFileSync(logFile, "");
  const password = randomBytes(12).toString("base64url");
  const started = await startLocalConsole({
    access: env.cluster,
    adminKubeConfig: env.adminKubeConfig,
    prefix: `${name}-console`,
    people: [{ name: DEMO_USER, groups: [group], password }],
    groups: [group],
    workDir,
    plainHttp: true,
    extra: {
      webDir: join(REPO_ROOT, "dist", "console", "web"),
      databaseCredentials: env.database.consoleCredentials,
      logger: pino({ level: "info" }, pino.destination({ dest: logFile, sync: true })),
    },
  });
  options.log(`console serving ${started.running.url}, logging to ${logFile}`);
  return {
    url: started.running.url,
    user: DEMO_USER,
    password,
    async stop() {
      await started.close();
      for (const object of [...grants].reverse()) {
        await env.kubectl([
          "delete",
          object.kind,
          object.metadata.name,
          "--ignore-not-found",
          "--wait=false",
        ]);
      }
    },
  };
}

/** A person's session with the console's HTTP API: the cookie of its login and its CSRF token. */
export class ConsoleSession {
  readonly #url: string;
  #cookie = "";
  #csrfToken = "";

  constructor(url: string) {
    this.#url = url;
  }

  async login(user: string, password: string): Promise<void> {
    const response = await fetch(`${this.#url}/api/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: user, password }),
    });
    const body = (await response.json()) as { csrfToken?: string; error?: string };
    if (response.status !== 200) throw new Error(`console login: ${response.status} ${body.error ?? ""}`);
    this.#cookie = response.headers
      .getSetCookie()
      .map((cookie) => cookie.split(";")[0])
      .join("; ");
    this.#csrfToken = body.csrfToken ?? "";
  }

  /** GETs as the logged-in person; resolves to the status and the answer. */
  async get(path: string): Promise<{ status: number; json: unknown }> {
    const response = await fetch(`${this.#url}${path}`, { headers: { cookie: this.#cookie } });
    return { status: response.status, json: await response.json() };
  }

  /** POSTs as the logged-in person; resolves to the status and the answer. */
  async post(path: string, body: unknown): Promise<{ status: number; json: unknown }> {
    const response = await fetch(`${this.#url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: this.#cookie, "x-csrf-token": this.#csrfToken },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: await response.json() };
  }
}
