// The image's application layout (image/recipe.ts: package.json and dist/ as built, each program bundled
// with what it imports, the SQL migrations beside the runtime's bundle; no node_modules), built here from
// the checkout, read-only, with no node_modules in any folder above it, run as the image's uid 65532
// through the same program names on PATH. The programs start from it and do their real work against the
// cluster and PostgreSQL, so nothing from node_modules is needed at run time. The image itself is built
// and run in oci-image.test.ts.
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { dump, load } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUNTIME_EXIT_CODES } from "../../api/v1alpha1/runtime-config.ts";
import type { ExchangeSim } from "../../exchange-sim/index.ts";
import { leftOutOfImage } from "../../image/recipe.ts";
import {
  type BotDatabase,
  type SimAccount,
  smallGrid,
  startSimulator,
  writeBot,
} from "../bot-runtime/fixtures.ts";
import { createSuiteDatabase } from "../bot-runtime/harness.ts";
import { clusterContext } from "../support/context.ts";
import { freePorts } from "../support/free-port.ts";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { type ManagedProcess, startProcess } from "../support/processes.ts";
import { waitFor } from "../support/wait-for.ts";
import { readRuntimeLayout } from "./runtime-layout.ts";

const REPO_ROOT = join(import.meta.dirname, "..", "..");
/** The image's user. Root runs the programs as that user; anyone else runs them as themselves. */
const IMAGE_USER = { uid: 65532, gid: 65532 };
const runAs = process.getuid?.() === 0 ? IMAGE_USER : undefined;

const layout = readRuntimeLayout(REPO_ROOT);
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
  version: string;
  bin: Record<string, string>;
};

let root: string;
let app: string;
let bin: string;
let tmp: string;

/** Owned by the image user, as a volume with fsGroup (or the container's own /tmp) would be. */
function giveToImageUser(path: string) {
  if (!runAs) return;
  chownSync(path, runAs.uid, runAs.gid);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) giveToImageUser(join(path, entry));
}

/** Everything under `path` read-only, as in an image run with a read-only root filesystem. */
function makeReadOnly(path: string) {
  const stats = statSync(path);
  if (stats.isDirectory()) {
    for (const entry of readdirSync(path)) makeReadOnly(join(path, entry));
    chmodSync(path, 0o555);
  } else {
    chmodSync(path, stats.mode & 0o111 ? 0o555 : 0o444);
  }
}

function programEnv(): NodeJS.ProcessEnv {
  return {
    PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`,
    NODE_ENV: "production",
    HOME: "/nonexistent",
    TMPDIR: tmp,
  };
}

function run(program: string, args: string[], input?: string): SpawnSyncReturns<string> {
  return spawnSync(program, args, {
    env: programEnv(),
    cwd: app,
    encoding: "utf8",
    timeout: 60_000,
    ...(input === undefined ? {} : { input }),
    ...(runAs ?? {}),
  });
}

function start(name: string, program: string, args: string[]): ManagedProcess {
  return startProcess({
    name,
    command: join(bin, program),
    args,
    env: programEnv(),
    cwd: app,
    logPath: join(root, `${name}.log`),
    ...(runAs ? { user: runAs } : {}),
  });
}

beforeAll(async () => {
  const missing = Object.values(pkg.bin).filter((path) => !existsSync(join(REPO_ROOT, path)));
  if (missing.length > 0) throw new Error(`${missing.join(", ")} missing: run \`make build\` first`);
  root = mkdtempSync(join(tmpdir(), "tbo-image-"));
  chmodSync(root, 0o755);
  app = join(root, "app");
  bin = join(root, "bin");
  tmp = join(root, "tmp");
  for (const dir of [app, bin, tmp]) mkdirSync(dir);
  giveToImageUser(tmp);

  // Node looks for packages in every node_modules from the importing file's folder up to the root.
  const above: string[] = [];
  for (let dir = root; dirname(dir) !== dir; dir = dirname(dir)) above.push(dir);
  const found = [...above, "/"].map((dir) => join(dir, "node_modules")).filter((path) => existsSync(path));
  if (found.length > 0) throw new Error(`${found.join(", ")} exists: the layout must find no node_modules`);

  // What the recipe puts under /app.
  const sources: Record<string, string> = {
    "package.json": join(REPO_ROOT, "package.json"),
    "dist/": join(REPO_ROOT, "dist"),
  };
  const unknown = layout.copied.filter((path) => !(path in sources));
  if (unknown.length > 0)
    throw new Error(`image/recipe.ts puts ${unknown.join(", ")} under /app: teach this test where from`);
  const dist = join(REPO_ROOT, "dist");
  for (const path of layout.copied) {
    cpSync(sources[path] as string, join(app, path), {
      recursive: true,
      filter: (source) => !source.startsWith(`${dist}/`) || !leftOutOfImage(relative(dist, source)),
    });
  }
  for (const path of Object.values(layout.programs)) chmodSync(join(app, path), 0o755);
  makeReadOnly(app);
  for (const [program, path] of Object.entries(layout.programs))
    symlinkSync(join(app, path), join(bin, program));
  // Beside the programs, as in the image.
  symlinkSync(process.execPath, join(bin, "node"));
}, 300_000);

afterAll(() => {
  if (root) {
    chmodSync(app, 0o755);
    rmSync(root, { recursive: true, force: true });
  }
});

describe("the image's runtime layout", () => {
  it("is what image/recipe.ts puts under /app, with package.json's programs on PATH, as uid 65532", () => {
    expect(layout.copied).toEqual(["dist/", "package.json"]);
    expect(layout.programs).toEqual(
      Object.fromEntries(Object.entries(pkg.bin).map(([name, path]) => [name, path.replace(/^\.\//, "")])),
    );
    expect(layout.user).toBe(`${IMAGE_USER.uid}:${IMAGE_USER.gid}`);
  });

  it("holds no node_modules, the licences of what the programs bundle, and no source map", () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(join(dir, entry.name));
        else files.push(relative(app, join(dir, entry.name)));
      }
    };
    walk(app);
    expect(files.filter((path) => path.split("/").includes("node_modules"))).toEqual([]);
    expect(files.filter((path) => path.endsWith(".map"))).toEqual([]);
    const licences = readFileSync(join(app, "dist", "THIRD_PARTY_LICENSES"), "utf8");
    for (const bundled of ["ccxt", "@kubernetes/client-node", "fastify", "pg", "zod", "uplot"])
      expect(licences, bundled).toMatch(new RegExp(`^${bundled} \\d+\\.\\d+\\.\\d+, licence: `, "m"));
  });
});

describe("bot-runtime from the production install", () => {
  let db: BotDatabase;
  let sim: ExchangeSim;
  let account: SimAccount;

  beforeAll(async () => {
    db = await createSuiteDatabase("image");
    ({ sim, account } = await startSimulator());
    giveToImageUser(dirname(db.migrationCredentials));
  });
  afterAll(() => sim?.close());

  it("prints its usage, and exits 2 on a bad flag naming it", () => {
    const help = run("bot-runtime", ["--help"]);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain("bot-runtime run");
    const bad = run("bot-runtime", ["run", "--listen", "nowhere"]);
    expect(bad.status).toBe(RUNTIME_EXIT_CODES.invalidConfig);
    expect(bad.stderr).toContain("--listen");
  });

  it("migrates a database with the SQL files the image carries", () => {
    const migrate = run("bot-runtime", [
      "migrate",
      "--database-credentials",
      db.migrationCredentials,
      "--trading-credentials",
      db.tradingCredentials,
    ]);
    expect(migrate.status, `${migrate.stdout}${migrate.stderr}`).toBe(0);
    expect(migrate.stdout).toContain("applied 0 migration(s)");
  });

  it("trades on the exchange and cancels its orders on SIGTERM", async () => {
    const price = Number(sim.price("BTCUSDT"));
    const setup = writeBot(join(root, "bot"), sim, account, {
      ...smallGrid(price),
      onStop: "CancelOrders",
    });
    giveToImageUser(setup.dir);
    const runtime = start("bot-runtime", "bot-runtime", [
      "run",
      "--config",
      setup.configPath,
      "--exchange-credentials",
      setup.exchangeCredentials,
      "--database-credentials",
      db.tradingCredentials,
      "--termination-log",
      setup.terminationLog,
      "--listen",
      "127.0.0.1:0",
      "--tick-interval-ms",
      "200",
    ]);
    try {
      await waitFor(
        () => {
          if (!runtime.isRunning()) throw new Error(`bot-runtime exited: ${runtime.logTail()}`);
          return sim.orders({ apiKey: account.apiKey }).some((order) => order.status === "NEW");
        },
        { what: "the bot's first open order at the simulator", timeoutMs: 60_000 },
      );
    } finally {
      await runtime.stop(20_000, "SIGTERM");
    }
    expect(await runtime.exited, runtime.logTail()).toBe(`exit code ${RUNTIME_EXIT_CODES.stopped}`);
    expect(sim.orders({ apiKey: account.apiKey }).filter((order) => order.status === "NEW")).toEqual([]);
    // The version it reports is package.json's, found above its bundle.
    const client = await db.admin();
    try {
      const { rows } = await client.query(
        "SELECT payload->>'version' AS version FROM tradingbot.audit_log WHERE event = 'started'",
      );
      expect(rows).toEqual([{ version: pkg.version }]);
    } finally {
      await client.end();
    }
  });
});

describe("tradingbot-operator from the production install", () => {
  let namespace: TestNamespace;

  beforeAll(async () => {
    namespace = await createTestNamespace(adminKubeConfig(), "image-operator");
    await kubectl(["apply", "--server-side", "--force-conflicts", `--filename=${join(REPO_ROOT, "crds")}`]);
    await kubectl([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/tradingbots.trading.botops.dev",
      "crd/killswitches.trading.botops.dev",
      "crd/tradingpolicies.trading.botops.dev",
    ]);
  });
  afterAll(() => namespace?.cleanup());

  it("lists its flags, and exits 2 on an invalid value naming the flag", () => {
    const help = run("tradingbot-operator", ["--help"]);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain("--namespaces");
    const bad = run("tradingbot-operator", ["--log-level=loud"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--log-level");
  });

  /** The admin kubeconfig, or the same credentials through an exec plugin (read by client-node, loaded then). */
  function operatorKubeconfig(credentials: "client certificate" | "exec plugin"): string {
    const path = join(root, `operator-${credentials.replace(" ", "-")}.kubeconfig`);
    const config = load(readFileSync(clusterContext().kubeconfigPath, "utf8")) as {
      users: { name: string; user: Record<string, unknown> }[];
    };
    if (credentials === "exec plugin") {
      const credential = join(root, "exec-credential.json");
      const pem = (field: string) => {
        const value = config.users[0]?.user[field];
        if (typeof value !== "string") throw new Error(`the admin kubeconfig has no ${field}`);
        return Buffer.from(value, "base64").toString("utf8");
      };
      writeFileSync(
        credential,
        JSON.stringify({
          apiVersion: "client.authentication.k8s.io/v1",
          kind: "ExecCredential",
          status: {
            clientCertificateData: pem("client-certificate-data"),
            clientKeyData: pem("client-key-data"),
          },
        }),
        { mode: 0o400 },
      );
      giveToImageUser(credential);
      for (const entry of config.users) {
        entry.user = {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1",
            command: "node",
            args: [
              "-e",
              "process.stdout.write(require('node:fs').readFileSync(process.argv[1]))",
              credential,
            ],
            interactiveMode: "Never",
          },
        };
      }
    }
    writeFileSync(path, dump(config), { mode: 0o400 });
    giveToImageUser(path);
    return path;
  }

  it.each(["client certificate", "exec plugin"] as const)(
    "syncs its watches against the cluster (credentials: %s), reports ready, and stops cleanly on SIGTERM",
    async (credentials) => {
      const kubeconfig = operatorKubeconfig(credentials);
      const [metricsPort, healthPort] = await freePorts(2);
      const operator = start("tradingbot-operator", "tradingbot-operator", [
        `--kubeconfig=${kubeconfig}`,
        `--namespaces=${namespace.name}`,
        `--operator-namespace=${namespace.name}`,
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        `--metrics-port=${metricsPort}`,
        `--health-port=${healthPort}`,
      ]);
      try {
        await waitFor(
          async () => {
            if (!operator.isRunning()) throw new Error(`the operator exited: ${operator.logTail()}`);
            return (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200;
          },
          { what: "the operator to be ready", timeoutMs: 60_000 },
        );
        expect(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()).toContain(
          "tradingbot_operator_leader 1",
        );
      } finally {
        await operator.stop(25_000, "SIGTERM");
      }
      expect(await operator.exited, operator.logTail()).toBe("exit code 0");
    },
  );
});

describe("the console from the production install (node dist/console/main.js, as the chart runs it)", () => {
  it("hashes a password read on stdin", () => {
    const hash = run("node", ["dist/console/main.js", "hash-password"], "correct horse battery staple\n");
    expect(hash.status, hash.stderr).toBe(0);
    expect(hash.stdout).toMatch(/^\$argon2id\$/);
  });

  it("serves its page, signs a user in and asks the API server as that user", async () => {
    const dir = join(root, "console");
    mkdirSync(dir);
    const password = "correct horse battery staple";
    writeFileSync(join(dir, "session-keys"), `${randomBytes(32).toString("base64")}\n`, { mode: 0o400 });
    writeFileSync(join(dir, "password"), password, { mode: 0o400 });
    writeFileSync(join(dir, "kubeconfig"), readFileSync(clusterContext().kubeconfigPath), { mode: 0o400 });
    giveToImageUser(dir);
    const [port, metricsPort] = await freePorts(2);
    const consoleProcess = start("console", "node", [
      "dist/console/main.js",
      `--listen=127.0.0.1:${port}`,
      `--metrics-listen=127.0.0.1:${metricsPort}`,
      `--session-keys-file=${join(dir, "session-keys")}`,
      `--kubeconfig=${join(dir, "kubeconfig")}`,
      "--first-user=alice",
      `--first-password-file=${join(dir, "password")}`,
    ]);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitFor(
        async () => {
          if (!consoleProcess.isRunning()) throw new Error(`the console exited: ${consoleProcess.logTail()}`);
          return (await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200;
        },
        { what: "the console to listen", timeoutMs: 60_000 },
      );
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(await page.text()).toContain("app.js");
      for (const asset of ["app.js", "console.css", "uplot.css"])
        expect((await fetch(`${url}/${asset}`)).status, asset).toBe(200);

      const login = await fetch(`${url}/api/login`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: url },
        body: JSON.stringify({ username: "alice", password }),
      });
      expect(login.status, await login.clone().text()).toBe(200);
      const cookie = login.headers
        .getSetCookie()
        .map((header) => header.split(";")[0])
        .join("; ");
      const permissions = await fetch(`${url}/api/killswitches/permissions`, { headers: { cookie } });
      expect(permissions.status, await permissions.clone().text()).toBe(200);
      expect(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()).toContain(
        "tradingbot_console_",
      );
    } finally {
      await consoleProcess.stop(20_000, "SIGTERM");
    }
    expect(await consoleProcess.exited, consoleProcess.logTail()).toBe("exit code 0");
  });
});

describe("exchange-sim from the production install", () => {
  it("prints its usage", () => {
    const help = run("exchange-sim", ["--help"]);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain("--accounts");
  });
});
