// Each bot's own halt path at fleet size, for scenario 2 (fleet.ts). The bot pods of the fleet are KWOK's
// and run nothing, so the runtime's halt watch (bot-runtime/halt-watch/) runs beside them: one watch per
// bot, all in one separate process (halt-watchers-process.ts), each authenticated as its bot's
// ServiceAccount with a token bound to its pod, as a real pod's projected token is. What a watch may read
// is then exactly what the operator granted that bot (its halt-watch Role and ClusterRoleBinding).
import { type ChildProcess, fork } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConnection } from "../../operator/kube/kubeconfig.ts";
import { resourcePath } from "../../operator/kube/resources.ts";
import type { KubeObject } from "../../operator/kube/types.ts";
import { podNameFor, serviceAccountNameFor } from "../../operator/names.ts";
import { RESOURCES } from "../../operator/resources.ts";
import { kubectlRun, REPO_ROOT } from "../../test/operator/harness.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import { type BenchCluster, inParallel } from "./bench-env.ts";
import type { BotHaltSeen, FromWatchers, ToWatchers, WatchersPauses } from "./halt-watchers-process.ts";

const PROCESS_ENTRY = fileURLToPath(new URL("./halt-watchers-process.ts", import.meta.url));
const TOKEN_SECONDS = 3600;

export interface HaltWatchersStart {
  watches: number;
  authenticatedAs: string;
  /** Every token minted (TokenRequest as the admin, 32 at a time). */
  tokensS: number;
  /** Then until the API server held a watch of every bot on its TradingBot and on the KillSwitches. */
  watchingS: number;
}

export interface HaltWatchersReport {
  /** One per bot whose onHalt fired, with when and for which source. */
  halts: BotHaltSeen[];
  /** Lists or watches the watches had to restart (refused, throttled, cut). */
  restarts: number;
  /** Resident memory of the watchers' process at the end. */
  rssMiB: number;
  /** The process's own pauses until every bot halted (see WatchersPauses). */
  pauses: WatchersPauses;
}

/** Watches of one resource that the API server is serving now (its long-running requests). */
async function watchesServed(cluster: BenchCluster, resource: string): Promise<number> {
  const text = await kubectlRun(cluster.access, ["get", "--raw", "/metrics"]);
  let count = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_longrunning_requests{")) continue;
    if (line.includes('verb="WATCH"') && line.includes(`resource="${resource}"`))
      count += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return count;
}

/** The Pod-bound token of each bot's ServiceAccount, as the kubelet would project it into the bot's pod. */
async function mintBotTokens(cluster: BenchCluster, namespace: string, bots: string[]) {
  const pods = await cluster.admin.list<{ items: KubeObject[] }>(RESOURCES.pods, { namespace });
  const podUids = new Map(pods.items.map((pod) => [pod.metadata.name, pod.metadata.uid]));
  const tokens: { namespace: string; name: string; token: string }[] = [];
  await inParallel(bots, 32, async (name) => {
    const pod = podNameFor(name);
    const uid = podUids.get(pod);
    if (!uid) throw new Error(`bot ${namespace}/${name} has no pod ${pod} to bind its token to`);
    const answer = await cluster.admin.client.request<{ status?: { token?: string } }>({
      method: "POST",
      verb: "create",
      path: resourcePath(RESOURCES.serviceAccounts, {
        namespace,
        name: serviceAccountNameFor(name),
        subresource: "token",
      }),
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
          expirationSeconds: TOKEN_SECONDS,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod, uid },
        },
      },
      resource: "serviceaccounts/token",
    });
    const token = answer.status?.token;
    if (!token) throw new Error(`TokenRequest for ${namespace}/${serviceAccountNameFor(name)} gave no token`);
    tokens.push({ namespace, name, token });
  });
  return tokens;
}

/** The watchers' process, from start (every watch served) to the report of every onHalt it saw. */
export class HaltWatchers {
  readonly #child: ChildProcess;
  /** Every message so far: one may come before it is waited for. */
  readonly #messages: FromWatchers[] = [];
  #started: HaltWatchersStart | undefined;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on("message", (message: FromWatchers) => this.#messages.push(message));
  }

  get started(): HaltWatchersStart | undefined {
    return this.#started;
  }

  /** Mints the bots' tokens, starts their watches and waits until the API server serves all of them. */
  static async start(
    cluster: BenchCluster,
    namespace: string,
    bots: string[],
    timeoutMs: number,
  ): Promise<HaltWatchers> {
    const began = performance.now();
    const tokens = await mintBotTokens(cluster, namespace, bots);
    const minted = performance.now();
    const connection = await loadConnection(cluster.access.kubeconfigPath)();
    const before = {
      tradingbots: await watchesServed(cluster, "tradingbots"),
      killswitches: await watchesServed(cluster, "killswitches"),
    };
    const logDir = join(REPO_ROOT, ".local");
    mkdirSync(logDir, { recursive: true });
    const logFd = openSync(join(logDir, `bench-halt-watchers-${process.pid}.log`), "a");
    const child = fork(PROCESS_ENTRY, [], { execArgv: [], stdio: ["ignore", logFd, logFd, "ipc"] });
    closeSync(logFd);
    const watchers = new HaltWatchers(child);
    try {
      child.send({
        type: "start",
        job: {
          server: connection.server.toString(),
          caPem: connection.tls.ca?.toString("utf8"),
          bots: tokens,
          startPerTick: 50,
        },
      } satisfies ToWatchers);
      await watchers.#message("started", timeoutMs);
      await waitFor(
        async () =>
          (await watchesServed(cluster, "tradingbots")) >= before.tradingbots + bots.length &&
          (await watchesServed(cluster, "killswitches")) >= before.killswitches + bots.length,
        {
          what: `the API server to serve ${bots.length} more watches of TradingBots and of KillSwitches`,
          timeoutMs,
          intervalMs: 500,
        },
      );
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
    watchers.#started = {
      watches: bots.length,
      authenticatedAs: "each bot's ServiceAccount (TokenRequest bound to its pod)",
      tokensS: round((minted - began) / 1000),
      watchingS: round((performance.now() - minted) / 1000),
    };
    return watchers;
  }

  /** Resolves once every bot's onHalt has fired. */
  async untilEveryBotHalted(timeoutMs: number): Promise<void> {
    await this.#message("everyBotHalted", timeoutMs);
  }

  /** Stops every watch and returns what the process saw; the process then exits. */
  async stop(): Promise<HaltWatchersReport> {
    try {
      if (!this.#child.connected) throw new Error("the halt watchers' process is gone");
      this.#child.send({ type: "stop" } satisfies ToWatchers);
      const report = (await this.#message("stopped", 60_000)) as Extract<FromWatchers, { type: "stopped" }>;
      return { halts: report.halts, restarts: report.restarts, rssMiB: report.rssMiB, pauses: report.pauses };
    } finally {
      if (this.#child.connected) this.#child.disconnect();
    }
  }

  /** The first message of that type, or an error when the process ends or the time runs out first. */
  #message(type: FromWatchers["type"], timeoutMs: number): Promise<FromWatchers> {
    const arrived = this.#messages.find((message) => message.type === type);
    if (arrived) return Promise.resolve(arrived);
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) {
      return Promise.reject(new Error(`the halt watchers' process has ended, with no "${type}"`));
    }
    return new Promise((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
      };
      const onMessage = (message: FromWatchers) => {
        if (message.type !== type) return;
        settle();
        resolve(message);
      };
      const onExit = (code: number | null, signal: string | null) => {
        settle();
        reject(
          new Error(`the halt watchers' process ended (${signal ?? `exit code ${code}`}) before "${type}"`),
        );
      };
      const timer = setTimeout(() => {
        settle();
        reject(new Error(`the halt watchers' process sent no "${type}" within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      child.on("message", onMessage);
      child.once("exit", onExit);
    });
  }
}

const round = (value: number) => Math.round(value * 1000) / 1000;
