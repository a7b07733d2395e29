// Scenario 8 of `make bench` (bench/run.ts): the console at fleet scale, in Debian's Chromium.
// - The fleet list at N bots: the console's GET /api/bots (as the person, through impersonation) beside the
//   API server's own list of the same TradingBots as the same person, side by side in one run.
// - The fleet page's first render at N bots: navigation start -> the table shows every bot.
// - A status change reaching B open browsers: a bot's status patched by the admin -> each page's table
//   shows it (a MutationObserver in each page stamps the moment; same machine, same clock).
// The bots are TradingBot objects with a status written here: no operator runs, nothing else loads the API
// server, so what is measured is the console's path (watch -> stream -> page).
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import type { Browser, Page } from "playwright-core";
import { GROUP, KILL_SWITCH, TRADING_BOT } from "../../api/v1alpha1/index.ts";
import { KubeClient } from "../../console/kube/client.ts";
import { ConsoleSession } from "../../demo/console.ts";
import { RESOURCES } from "../../operator/resources.ts";
import { launchChromium } from "../../test/console/browser/chromium.ts";
import { startLocalConsole } from "../../test/console/local-console.ts";
import { botManifest } from "../../test/operator/fixtures.ts";
import { applyObjects, installCrds, kubectlRun, REPO_ROOT } from "../../test/operator/harness.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import { type BenchCluster, percentile } from "../operator/bench-env.ts";

export interface ConsoleBenchResult {
  bots: number;
  browsers: number;
  /** GET /api/bots through the console, and the API server's own list as the same person (ms). */
  listMs: { console: { p50: number; p99: number }; apiServer: { p50: number; p99: number }; samples: number };
  /** Navigation start -> the fleet table shows every bot, in Chromium (ms). */
  firstRenderMs: { p50: number; max: number; samples: number[] };
  /** Status patch answered -> the change is in each open page's table (ms), over every page and change. */
  changeSeenMs: { p50: number; p99: number; max: number; changes: number; samples: number };
}

const summary = (samples: number[]) => ({
  p50: Math.round(percentile(samples, 50) * 10) / 10,
  p99: Math.round(percentile(samples, 99) * 10) / 10,
});

export async function measureConsole(
  cluster: BenchCluster,
  options: { bots: number; browsers: number; changes: number },
  log: (line: string) => void,
): Promise<ConsoleBenchResult> {
  const tag = randomBytes(3).toString("hex");
  const namespace = `bench-console-${tag}`;
  const person = {
    name: `bench-${tag}`,
    groups: [`bench-readers-${tag}`],
    password: randomBytes(12).toString("hex"),
  };
  const rbac = "rbac.authorization.k8s.io";
  const readerRole = {
    apiVersion: `${rbac}/v1`,
    kind: "ClusterRole",
    metadata: { name: `bench-console-reader-${tag}` },
    rules: [
      {
        apiGroups: [GROUP],
        resources: [TRADING_BOT.plural, KILL_SWITCH.plural],
        verbs: ["get", "list", "watch"],
      },
    ],
  };
  const readerBinding = {
    apiVersion: `${rbac}/v1`,
    kind: "ClusterRoleBinding",
    metadata: { name: `bench-console-reader-${tag}` },
    roleRef: { apiGroup: rbac, kind: "ClusterRole", name: readerRole.metadata.name },
    subjects: [{ apiGroup: rbac, kind: "Group", name: person.groups[0] }],
  };
  await installCrds(cluster.access);
  await applyObjects(cluster.access, [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    readerRole,
    readerBinding,
  ]);

  log(`console: creating ${options.bots} TradingBots with a status`);
  const names = Array.from({ length: options.bots }, (_, i) => `bot-${String(i).padStart(5, "0")}`);
  for (let i = 0; i < names.length; i += 250) {
    await applyObjects(
      cluster.access,
      names.slice(i, i + 250).map((name) => botManifest(namespace, name)),
    );
  }
  const statusOf = (phase: "Running" | "Halted", i: number) => ({
    status: {
      phase,
      runtime: {
        openOrders: i % 7,
        position: "0.01",
        realizedPnl: "1.25",
        heartbeat: new Date().toISOString(),
      },
    },
  });
  await inBatches(names, 50, (name, i) =>
    cluster.admin.mergePatch(RESOURCES.tradingBots, namespace, name, statusOf("Running", i), "status"),
  );

  const adminKubeConfig = new KubeConfig();
  adminKubeConfig.loadFromFile(cluster.access.kubeconfigPath);
  const workDir = join(REPO_ROOT, ".local", `bench-console-${tag}`);
  const served = await startLocalConsole({
    access: cluster.access,
    adminKubeConfig,
    prefix: `bench-console-${tag}`,
    people: [person],
    groups: person.groups,
    workDir,
    plainHttp: true,
    extra: {
      webDir: join(REPO_ROOT, "dist", "console", "web"),
      limits: { perMinute: 100_000, loginPerMinute: 1000 },
    },
  });
  const url = served.running.url;
  let browser: Browser | undefined;
  try {
    // The list: the console's answer beside the API server's own, as the same person, alternating.
    const session = new ConsoleSession(url);
    await session.login(person.name, person.password);
    // The same request the console makes for the person, straight to the API server (admin credentials,
    // impersonating the person), as the baseline.
    const direct = KubeClient.load(cluster.access.kubeconfigPath);
    const asPerson = { user: person.name, groups: person.groups };
    const botsPath = `/apis/${GROUP}/v1alpha1/namespaces/${namespace}/${TRADING_BOT.plural}`;
    const consoleMs: number[] = [];
    const apiServerMs: number[] = [];
    const listSamples = 20;
    for (let i = 0; i < listSamples; i++) {
      let started = performance.now();
      const answer = await session.get(`/api/bots?namespace=${namespace}`);
      consoleMs.push(performance.now() - started);
      if ((answer.json as { items: unknown[] }).items.length !== options.bots) {
        throw new Error(`the console listed ${(answer.json as { items: unknown[] }).items.length} bots`);
      }
      started = performance.now();
      await direct.request(botsPath, { as: asPerson });
      apiServerMs.push(performance.now() - started);
    }

    browser = await launchChromium();
    const openFleetPage = async (): Promise<Page> => {
      const context = await browser?.newContext();
      if (!context) throw new Error("no browser");
      const page = await context.newPage();
      await page.goto(url);
      await page.getByLabel("Username").fill(person.name);
      await page.getByLabel("Password").fill(person.password);
      await page.getByRole("button", { name: "Log in" }).click();
      await page
        .getByTestId("fleet-count")
        .getByText(`${options.bots} of ${options.bots} bots`)
        .waitFor({ timeout: 120_000 });
      return page;
    };

    // First render: a logged-in page loaded again, from navigation start until every bot is in the table.
    const firstRender: number[] = [];
    const probe = await openFleetPage();
    for (let i = 0; i < 5; i++) {
      await probe.reload();
      await probe
        .getByTestId("fleet-count")
        .getByText(`${options.bots} of ${options.bots} bots`)
        .waitFor({ timeout: 120_000 });
      firstRender.push(await probe.evaluate(() => performance.now()));
    }
    await probe.context().close();

    log(`console: ${options.browsers} browsers on the fleet page`);
    const pages: Page[] = [];
    for (let i = 0; i < options.browsers; i++) pages.push(await openFleetPage());
    const target = names[0] as string;
    // In each page, the moment the bot's phase cell changes (page code, run by the browser).
    const observe = `(() => {
      const row = ${JSON.stringify(`${namespace}/${target}`)};
      const phaseOf = () => document.querySelector('tr[data-bot="' + row + '"] [data-col="phase"]')?.textContent ?? "";
      const seen = (window.seen = []);
      let last = phaseOf();
      new MutationObserver(() => {
        const now = phaseOf();
        if (now !== last) {
          seen.push({ phase: now, at: Date.now() });
          last = now;
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    })()`;
    for (const page of pages) await page.evaluate(observe);

    const latencies: number[] = [];
    for (let change = 0; change < options.changes; change++) {
      const phase = change % 2 === 0 ? "Halted" : "Running";
      await cluster.admin.mergePatch(RESOURCES.tradingBots, namespace, target, statusOf(phase, 0), "status");
      const answered = Date.now();
      for (const page of pages) {
        const seenAt = await waitFor(
          async () => {
            const seen = (await page.evaluate(`window.seen[${change}] ?? null`)) as {
              phase: string;
              at: number;
            } | null;
            return seen?.phase === phase ? seen.at : undefined;
          },
          { what: `change ${change} in every page`, timeoutMs: 30_000, intervalMs: 20 },
        );
        latencies.push((seenAt as number) - answered);
      }
      // Changes one at a time, as people make them.
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return {
      bots: options.bots,
      browsers: options.browsers,
      listMs: { console: summary(consoleMs), apiServer: summary(apiServerMs), samples: listSamples },
      firstRenderMs: {
        p50: Math.round(percentile(firstRender, 50)),
        max: Math.round(Math.max(...firstRender)),
        samples: firstRender.map(Math.round),
      },
      changeSeenMs: {
        ...summary(latencies),
        max: Math.max(...latencies),
        changes: options.changes,
        samples: latencies.length,
      },
    };
  } finally {
    await browser?.close();
    await served.close();
    rmSync(workDir, { recursive: true, force: true });
    await kubectlRun(cluster.access, ["delete", "namespace", namespace, "--wait=false"]).catch(() => {});
    for (const object of [readerBinding, readerRole]) {
      await kubectlRun(cluster.access, [
        "delete",
        object.kind,
        object.metadata.name,
        "--ignore-not-found",
      ]).catch(() => {});
    }
  }
}

async function inBatches<T>(items: T[], size: number, each: (item: T, index: number) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) {
    await Promise.all(items.slice(i, i + size).map((item, j) => each(item, i + j)));
  }
}
