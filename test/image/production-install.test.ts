// The image's application layout (image/recipe.ts: package.json, dist/ with the SQL migrations, and
// `npm ci --omit=dev --ignore-scripts` dependencies), built here from the checkout, read-only, run as the
// image's uid 65532 through the same program names on PATH. Both entrypoints start from it and do their
// real work against the cluster and PostgreSQL, so no dev dependency is needed at run time. The image
// itself is built and run in oci-image.test.ts.
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
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
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUNTIME_EXIT_CODES } from "../../api/v1alpha1/runtime-config.ts";
import type { ExchangeSim } from "../../exchange-sim/index.ts";
import { type BotDatabase, type SimAccount, startSimulator, writeBot } from "../bot-runtime/fixtures.ts";
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
  bin: Record<string, string>;
  devDependencies: Record<string, string>;
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

function run(program: string, args: string[]): SpawnSyncReturns<string> {
  return spawnSync(program, args, {
    env: programEnv(),
    cwd: app,
    encoding: "utf8",
    timeout: 60_000,
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

  // The production dependencies, as image/rootfs.ts installs them.
  const deps = join(root, "deps");
  mkdirSync(deps);
  for (const file of ["package.json", "package-lock.json"]) cpSync(join(REPO_ROOT, file), join(deps, file));
  // npm from PATH, run by this Node (npm's `#!/usr/bin/env node` finds it first).
  const npm = spawnSync(
    "npm",
    ["ci", "--omit=dev", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"],
    {
      cwd: deps,
      encoding: "utf8",
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` },
    },
  );
  if (npm.status !== 0) {
    throw new Error(
      `npm ci --omit=dev failed (${npm.error?.message ?? `exit ${npm.status}`}):\n${npm.stderr}`,
    );
  }

  // What the recipe puts under /app.
  const sources: Record<string, string> = {
    "package.json": join(REPO_ROOT, "package.json"),
    "node_modules/": join(deps, "node_modules"),
    "dist/": join(REPO_ROOT, "dist"),
  };
  const unknown = layout.copied.filter((path) => !(path in sources));
  if (unknown.length > 0)
    throw new Error(`image/recipe.ts puts ${unknown.join(", ")} under /app: teach this test where from`);
  for (const path of layout.copied) cpSync(sources[path] as string, join(app, path), { recursive: true });
  for (const path of Object.values(layout.programs)) chmodSync(join(app, path), 0o755);
  makeReadOnly(app);
  for (const [program, path] of Object.entries(layout.programs))
    symlinkSync(join(app, path), join(bin, program));
}, 300_000);

afterAll(() => {
  if (root) {
    chmodSync(app, 0o755);
    rmSync(root, { recursive: true, force: true });
  }
});

describe("the image's runtime layout", () => {
  it("is what image/recipe.ts puts under /app, with package.json's programs on PATH, as uid 65532", () => {
    expect(layout.copied).toEqual(["dist/", "node_modules/", "package.json"]);
    expect(layout.programs).toEqual(
      Object.fromEntries(Object.entries(pkg.bin).map(([name, path]) => [name, path.replace(/^\.\//, "")])),
    );
    expect(layout.user).toBe(`${IMAGE_USER.uid}:${IMAGE_USER.gid}`);
  });

  it("holds no package the lockfile marks dev-only, and every production one", () => {
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean; optional?: boolean }>;
    };
    const entries = Object.entries(lock.packages).filter(([path]) => path.startsWith("node_modules/"));
    const devOnly = entries.filter(([, entry]) => entry.dev).map(([path]) => path);
    expect(devOnly.length).toBeGreaterThan(0);
    expect(devOnly.filter((path) => existsSync(join(app, path)))).toEqual([]);
    const production = entries.filter(([, entry]) => !entry.dev && !entry.optional).map(([path]) => path);
    expect(production.filter((path) => !existsSync(join(app, path)))).toEqual([]);
    for (const name of Object.keys(pkg.devDependencies).filter((n) => !n.startsWith("@types/"))) {
      expect(existsSync(join(app, "node_modules", name)), name).toBe(false);
    }
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
      symbol: "BTC/USDT",
      strategy: {
        type: "grid",
        grid: {
          lowerPrice: (price * 0.98).toFixed(2),
          upperPrice: (price * 1.02).toFixed(2),
          levels: 5,
          quotePerOrder: "20",
        },
      },
      risk: {
        maxOrderQuote: "100",
        maxPositionQuote: "5000",
        maxDailyLossQuote: "1000",
        maxDrawdownPct: "50",
        maxOpenOrders: 20,
        maxOrdersPerMinute: 120,
        priceBandPct: "10",
      },
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

  it("syncs its watches against the cluster, reports ready, and stops cleanly on SIGTERM", async () => {
    const kubeconfig = join(root, "operator.kubeconfig");
    writeFileSync(kubeconfig, readFileSync(clusterContext().kubeconfigPath), { mode: 0o400 });
    giveToImageUser(kubeconfig);
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
  });
});

describe("exchange-sim from the production install", () => {
  it("prints its usage", () => {
    const help = run("exchange-sim", ["--help"]);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain("--accounts");
  });
});
