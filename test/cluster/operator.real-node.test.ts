// The operator and its bots as containers on the real node (real-node.ts): the chart installed with the
// project's image (imported into the node's containerd, never pulled), the operator on its in-cluster
// config, bot pods placed on the node through spec.pod, halts carried out by the real kubelet, and the
// NetworkPolicies enforced by kube-router.
//
// Pods cannot reach the host's loopback: the exchange simulator listens on the host side of the node's veth
// (in this process, so the orders at the exchange are read directly), and so does a relay to the test
// PostgreSQL, which listens on loopback only.
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect as netConnect, type Server } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { type KubeConfig, type V1Pod, Watch } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BOT_CONTAINER_PATHS, RUNTIME_STATUS_PORT } from "../../api/v1alpha1/index.ts";
import { botTag } from "../../bot-runtime/orders/client-order-id.ts";
import { defaultSymbolConfigs, type ExchangeSim, startExchangeSim } from "../../exchange-sim/index.ts";
import { BOT_USER_ID, TMP_SIZE_LIMIT } from "../../operator/desired-state/bot-pod.ts";
import {
  botLabelValue,
  LABELS,
  MANAGED_BY_VALUE,
  networkPolicyNameFor,
  podNameFor,
} from "../../operator/names.ts";
import { createBotDatabase } from "../bot-runtime/fixtures.ts";
import { CHART_PATH, helm, REPO_ROOT } from "../chart/helm.ts";
import { loadSample, SAMPLE_GRID_BOT } from "../e2e/environment.ts";
import { ClusterView, isReady } from "../operator/cluster-view.ts";
import { type PostgresServer, startPostgres } from "../postgres/index.ts";
import { clusterContext } from "../support/context.ts";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";
import { probeImage } from "./node-images.ts";
import { importOciArchive, realNodeLabel, realNodeTaint } from "./real-node.ts";
import { realNodeContext } from "./real-node-setup.ts";

const run = promisify(execFile);

const RESTRICTED = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/enforce-version": "latest",
};
const placement = {
  nodeSelector: { [realNodeLabel.key]: realNodeLabel.value },
  tolerations: [{ key: realNodeTaint.key, operator: "Exists", effect: realNodeTaint.effect }],
};
const account = { accountId: "real-node", apiKey: "paper-real-node-key", secret: "paper-real-node-secret" };

let kc: KubeConfig;
let view: ClusterView;
let sim: ExchangeSim;
let postgres: PostgresServer;
let relay: Server;
let closedPort: Server;
let operatorNs: TestNamespace;
let botNs: TestNamespace;
let otherNs: TestNamespace;
let terminations: TerminationRecorder;
let imageRepository: string;
/** The image archive, the database's credential files and the chart's values: removed after the run. */
const workDir = join(REPO_ROOT, ".local", `test-operator-real-node-${process.pid}`);
const release = "tbo-real-node";

/** The last terminated state of each pod's `bot` container, as the kubelet reported it through a watch. */
class TerminationRecorder {
  readonly byPod = new Map<string, { exitCode: number; message?: string | undefined }>();
  #abort: AbortController | undefined;
  #stopped = false;
  async start(namespace: string) {
    this.#abort = await new Watch(kc).watch(
      `/api/v1/namespaces/${namespace}/pods`,
      {},
      (_type, pod: V1Pod) => {
        const terminated = pod.status?.containerStatuses?.find((c) => c.name === "bot")?.state?.terminated;
        if (terminated && pod.metadata?.name) {
          this.byPod.set(pod.metadata.name, { exitCode: terminated.exitCode, message: terminated.message });
        }
      },
      // The API server ends watches after a while: watch again (its first events list the pods as they are).
      () => {
        if (!this.#stopped) void this.start(namespace).catch(() => {});
      },
    );
  }
  stop() {
    this.#stopped = true;
    this.#abort?.abort();
  }
}

/**
 * `node image/oci.ts --archive` (or the archive TRADINGBOT_OCI_ARCHIVE names, one `make image-oci` built
 * already), imported into the node's containerd under the name the archive carries
 * (`io.containerd.image.name`); resolves to its repository and tag. Pods run it with pull policy Never.
 */
async function importProjectImage(dir: string): Promise<{ repository: string; tag: string }> {
  const archive = process.env.TRADINGBOT_OCI_ARCHIVE || join(dir, "tradingbot-operator-oci.tar");
  if (!process.env.TRADINGBOT_OCI_ARCHIVE) {
    await run(process.execPath, [join(REPO_ROOT, "image", "oci.ts"), "--archive", archive], {
      cwd: REPO_ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
  }
  const index = JSON.parse((await run("tar", ["-xOf", archive, "index.json"])).stdout) as {
    manifests: { annotations?: Record<string, string> }[];
  };
  const name = index.manifests[0]?.annotations?.["io.containerd.image.name"];
  const match = name ? /^(.+):([^:/]+)$/.exec(name) : null;
  if (!match?.[1] || !match[2]) throw new Error(`${archive} names no image (io.containerd.image.name)`);
  const { ctrPath, containerdSocket } = realNodeContext();
  await importOciArchive(ctrPath, containerdSocket, archive, match[1]);
  return { repository: match[1], tag: match[2] };
}

/** A TCP relay on `host` to PostgreSQL on loopback: pods reach the host only through the veth. */
function startRelay(host: string, targetPort: number): Promise<Server> {
  const server = createServer((socket) => {
    const upstream = netConnect({ host: "127.0.0.1", port: targetPort });
    socket.pipe(upstream).pipe(socket);
    const close = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on("error", close);
    upstream.on("error", close);
  });
  return new Promise((resolve) => server.listen(0, host, () => resolve(server)));
}

const portOf = (server: Server) => (server.address() as { port: number }).port;

/** Tries a TCP connection from the network namespace of a process on the host: `connected` or why not. */
async function connectFrom(pid: number, host: string, port: number): Promise<string> {
  const script = `const s = require("node:net").connect({ host: ${JSON.stringify(host)}, port: ${port} });
s.setTimeout(3000);
s.on("connect", () => { console.log("connected"); process.exit(0); });
s.on("timeout", () => { console.log("timeout"); process.exit(0); });
s.on("error", (e) => { console.log(e.code); process.exit(0); });`;
  const { stdout } = await run("nsenter", [
    `--net=/proc/${pid}/ns/net`,
    "--",
    process.execPath,
    "-e",
    script,
  ]);
  return stdout.trim();
}

/** The host pid of a pod's container, through the node's CRI. */
async function containerPid(pod: V1Pod, container: string): Promise<number> {
  const { crictlPath, containerdSocket } = realNodeContext();
  const crictl = async (args: string[]) =>
    (await run(crictlPath, [`--runtime-endpoint=unix://${containerdSocket}`, ...args])).stdout;
  const listed = JSON.parse(
    await crictl([
      "ps",
      "--label",
      `io.kubernetes.pod.uid=${pod.metadata?.uid}`,
      "--name",
      container,
      "-o",
      "json",
    ]),
  ) as { containers: { id: string }[] };
  const id = listed.containers[0]?.id;
  if (!id) throw new Error(`no running container ${container} in pod ${pod.metadata?.name}`);
  return (JSON.parse(await crictl(["inspect", id])) as { info: { pid: number } }).info.pid;
}

function botManifest(name: string, spec: (spec: Record<string, unknown>) => void = () => {}) {
  const { hostAddress } = realNodeContext();
  const bot = loadSample(SAMPLE_GRID_BOT) as {
    metadata: Record<string, unknown>;
    spec: Record<string, unknown> & { exchange: Record<string, unknown> };
  };
  bot.metadata = { name, namespace: botNs.name };
  bot.spec.exchange = { ...bot.spec.exchange, endpoint: sim.url };
  bot.spec.pod = { ...placement };
  // Egress to exactly the two servers on the host side of the veth.
  bot.spec.network = {
    exchangeEgress: [{ cidr: `${hostAddress}/32` }],
    databaseEgress: [{ cidr: `${hostAddress}/32` }],
  };
  spec(bot.spec);
  return bot;
}

/**
 * Server-side apply. For a while after helm installs the CRDs, the API server may refuse a new kind's
 * apply with ServiceUnavailable ("There can be a delay ..."), even once reads of it and a dry run of the
 * apply work: only that refusal is repeated, for up to a minute.
 */
async function apply(object: object) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await kubectl(["apply", "--server-side", "-f", "-"], { input: JSON.stringify(object) });
    } catch (error) {
      const kindNotReady = /There can be a delay between when CustomResourceDefinitions are created/;
      if (attempt >= 120 || !kindNotReady.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

const openOrders = (botUid: string) =>
  sim
    .orders({ accountId: account.accountId })
    .filter((o) => o.clientOrderId.startsWith(`tb${botTag(botUid)}-`))
    .filter((o) => o.status === "NEW" || o.status === "PARTIALLY_FILLED");

async function startBot(name: string, spec?: (spec: Record<string, unknown>) => void) {
  await apply(botManifest(name, spec));
  const bot = await view.waitForBot(botNs.name, name, isReady, "Ready on the real node", 120_000);
  await waitFor(() => openOrders(bot.metadata.uid).length >= 2, {
    what: `${name}'s grid orders at the simulator`,
    timeoutMs: 60_000,
  });
  const pod = await view.pod(botNs.name, podNameFor(name));
  if (!pod) throw new Error(`pod of ${name} is gone`);
  return { uid: bot.metadata.uid, pod };
}

const engageKillSwitch = (name: string) =>
  kubectl([
    "patch",
    "tradingbot",
    name,
    `--namespace=${botNs.name}`,
    "--type=merge",
    "--patch",
    JSON.stringify({ spec: { killSwitch: { engaged: true, reason: "real-node test" } } }),
  ]);

/** A probe pod (node-images.ts) on the real node; `labels` may make a NetworkPolicy select it. */
function probePod(name: string, labels: Record<string, string> = {}): V1Pod {
  return {
    metadata: { name, labels: { app: name, ...labels } },
    spec: {
      ...placement,
      terminationGracePeriodSeconds: 1,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: BOT_USER_ID,
        seccompProfile: { type: "RuntimeDefault" },
      },
      containers: [
        {
          name: "probe",
          image: probeImage,
          imagePullPolicy: "Never",
          args: ["serve", ":8080"],
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          },
        },
      ],
    },
  };
}

async function runProbe(namespace: string, pod: V1Pod): Promise<V1Pod> {
  await view.core.createNamespacedPod({ namespace, body: pod });
  const name = pod.metadata?.name as string;
  return waitFor(
    async () => {
      const running = await view.core.readNamespacedPod({ namespace, name });
      return running.status?.phase === "Running" && running;
    },
    { what: `probe pod ${namespace}/${name} to run`, timeoutMs: 60_000 },
  );
}

/** `/probe get <url>` in a probe pod: resolves whether it got an HTTP answer. */
const probeReaches = (namespace: string, pod: string, url: string) =>
  kubectl(["exec", `--namespace=${namespace}`, pod, "--", "/probe", "get", url]).then(
    () => true,
    () => false,
  );

beforeAll(async () => {
  const { hostAddress } = realNodeContext();
  kc = adminKubeConfig();
  view = new ClusterView(kc);
  mkdirSync(workDir, { recursive: true });

  const [image] = await Promise.all([
    importProjectImage(workDir),
    (async () => {
      postgres = await startPostgres();
      relay = await startRelay(hostAddress, postgres.port);
    })(),
    (async () => {
      sim = await startExchangeSim({
        host: hostAddress,
        accounts: [{ ...account, balances: { USDT: "100000", BTC: "2" } }],
        symbols: defaultSymbolConfigs.map((s) =>
          s.symbol === "BTCUSDT" ? { ...s, initialPrice: "65000" } : s,
        ),
      });
    })(),
  ]);
  // A port on the same host that no policy opens.
  closedPort = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => closedPort.listen(0, hostAddress, resolve));
  const database = await createBotDatabase("real_node", postgres, join(workDir, "database-credentials"));

  [operatorNs, botNs, otherNs] = await Promise.all([
    createTestNamespace(kc, "rn-operator", RESTRICTED),
    createTestNamespace(kc, "rn-bots", RESTRICTED),
    createTestNamespace(kc, "rn-other", RESTRICTED),
  ]);
  terminations = new TerminationRecorder();
  await terminations.start(botNs.name);

  imageRepository = image.repository;
  const apiServerPort = Number(new URL(clusterContext().server).port);
  const values = {
    image: { ...image, pullPolicy: "Never" },
    replicaCount: 1,
    ...placement,
    watch: { namespaces: [botNs.name] },
    operator: { runtimePollInterval: "1s", runtimeMirrorInterval: "5s", deletionMargin: "5s" },
    podDisruptionBudget: { enabled: false },
    console: { enabled: false },
    // The API server as pods reach it: the bots' NetworkPolicies open exactly this for their halt watch.
    networkPolicy: { apiServer: { ports: [apiServerPort], cidrs: [`${hostAddress}/32`] } },
    tradingPolicy: {
      spec: {
        paperEndpoints: { hosts: [hostAddress] },
        scheduling: { nodeSelectorKeys: [realNodeLabel.key], tolerations: [{ key: realNodeTaint.key }] },
      },
    },
  };
  const valuesFile = join(workDir, "values.json");
  writeFileSync(valuesFile, JSON.stringify(values));
  await helm(["install", release, CHART_PATH, `--namespace=${operatorNs.name}`, `--values=${valuesFile}`]);
  const credentials = (file: string) => readFileSync(join(database.tradingCredentials, file), "utf8").trim();
  for (const secret of [
    {
      ...loadSample("secret-paper-exchange-credentials.yaml"),
      stringData: { apiKey: account.apiKey, secret: account.secret },
    },
    {
      ...loadSample("secret-database.yaml"),
      stringData: {
        host: hostAddress,
        port: String(portOf(relay)),
        database: credentials("database"),
        user: credentials("user"),
        password: credentials("password"),
        sslmode: "require",
      },
    },
  ]) {
    const metadata = (secret as { metadata?: object }).metadata;
    await apply({ ...secret, metadata: { ...metadata, namespace: botNs.name } });
  }
}, 600_000);

afterAll(async () => {
  terminations?.stop();
  await botNs?.cleanup();
  await helm(["uninstall", release, `--namespace=${operatorNs?.name}`, "--ignore-not-found"], {
    allowFailure: true,
  });
  await Promise.all([operatorNs, otherNs].map((ns) => ns?.cleanup()));
  await sim?.close();
  relay?.close();
  closedPort?.close();
  await postgres?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe("the operator installed by its chart on a real node", () => {
  let grid: { uid: string; pod: V1Pod };

  it("runs as a container of its Deployment on the node, on its in-cluster config, and places a bot there", async () => {
    const operatorPod = await waitFor(
      async () => {
        const pods = await view.core.listNamespacedPod({
          namespace: operatorNs.name,
          labelSelector: `app.kubernetes.io/instance=${release},app.kubernetes.io/component=operator`,
        });
        const pod = pods.items[0];
        return pod?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") && pod;
      },
      { what: "the operator's pod to be Ready", timeoutMs: 120_000 },
    );
    expect(operatorPod.spec?.nodeName).toBe(realNodeContext().name);
    expect(operatorPod.spec?.containers[0]?.imagePullPolicy).toBe("Never");

    grid = await startBot("grid");
    expect(grid.pod.spec?.nodeName).toBe(realNodeContext().name);
    expect(grid.pod.spec?.containers[0]?.image).toMatch(new RegExp(`^${imageRepository}:`));
  });

  it("runs the bot locked down: uid 65532, no new privileges, no capabilities, a seccomp filter, read-only root, a tmpfs /tmp", async () => {
    const pid = await containerPid(grid.pod, "bot");
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "m").exec(status)?.[1]?.trim();
    expect(field("Uid")?.split(/\s+/)).toEqual(Array(4).fill(String(BOT_USER_ID)));
    expect(field("NoNewPrivs")).toBe("1");
    expect(field("CapEff")).toBe("0000000000000000");
    expect(field("Seccomp")).toBe("2");

    // mountinfo: id parent major:minor root mountpoint options ... - fstype source superoptions
    const mounts = readFileSync(`/proc/${pid}/mountinfo`, "utf8")
      .trim()
      .split("\n")
      .map((line) => {
        const [before, after] = line.split(" - ");
        const fields = (before ?? "").split(" ");
        const [fstype, , superOptions] = (after ?? "").split(" ");
        return { mountPoint: fields[4], options: fields[5]?.split(","), fstype, superOptions };
      });
    const root = mounts.filter((m) => m.mountPoint === "/").at(-1);
    expect(root?.options).toContain("ro");
    const tmp = mounts.filter((m) => m.mountPoint === "/tmp").at(-1);
    expect(tmp?.fstype).toBe("tmpfs");
    const sizeKiB = Number(/(?:^|,)size=(\d+)k/.exec(tmp?.superOptions ?? "")?.[1]);
    expect(sizeKiB * 1024).toBe(Number.parseInt(TMP_SIZE_LIMIT, 10) * 1024 * 1024);
  });

  it("lets the runtime read its Secret files, and no other uid", async () => {
    const pid = await containerPid(grid.pod, "bot");
    // The runtime's own executable (node), by its path inside the container: run in its mount namespace.
    const node = readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, "");
    const apiKeyFile = `${BOT_CONTAINER_PATHS.exchangeCredentialsDir}/apiKey`;
    const readAs = (uid: number) =>
      run("nsenter", [
        `--target=${pid}`,
        "--mount",
        `--setuid=${uid}`,
        `--setgid=${uid}`,
        "--",
        node,
        "-e",
        `try { require("node:fs").readFileSync(${JSON.stringify(apiKeyFile)}); console.log("read") } catch (e) { console.log(e.code) }`,
      ]).then((r) => r.stdout.trim());
    expect(await readAs(BOT_USER_ID)).toBe("read");
    expect(await readAs(1000)).toBe("EACCES");
  });

  it("reaches the exchange and PostgreSQL, and nothing else (kube-router enforces its NetworkPolicy)", async () => {
    const { hostAddress } = realNodeContext();
    const pid = await containerPid(grid.pod, "bot");
    const server = await runProbe(otherNs.name, probePod("elsewhere"));
    expect(await connectFrom(pid, hostAddress, Number(new URL(sim.url).port))).toBe("connected");
    expect(await connectFrom(pid, hostAddress, portOf(relay))).toBe("connected");
    expect(await connectFrom(pid, hostAddress, portOf(closedPort))).not.toBe("connected");
    expect(await connectFrom(pid, server.status?.podIP as string, 8080)).not.toBe("connected");
  });

  it("answers on its status port to the operator only, not to a pod of another namespace", async () => {
    await view.waitForBot(
      botNs.name,
      "grid",
      (bot) =>
        bot.status?.conditions?.some((c) => c.type === "RuntimeReachable" && c.status === "True") ?? false,
      "RuntimeReachable (the operator polls the status port)",
    );
    const url = `http://${grid.pod.status?.podIP}:${RUNTIME_STATUS_PORT}/healthz`;
    expect(await probeReaches(otherNs.name, "elsewhere", url)).toBe(false);
  });

  it("halts through the bot's own watch of the API server while the operator is down, through its enforced NetworkPolicy", async () => {
    const watcher = await startBot("watcher");
    const operator = [
      "deployment",
      `--namespace=${operatorNs.name}`,
      "--selector=app.kubernetes.io/component=operator",
    ];
    await kubectl(["scale", ...operator, "--replicas=0"]);
    await kubectl([
      "wait",
      "pod",
      `--namespace=${operatorNs.name}`,
      "--selector=app.kubernetes.io/component=operator",
      "--for=delete",
      "--timeout=120s",
    ]);
    try {
      await engageKillSwitch("watcher");
      const stopped = await waitFor(() => terminations.byPod.get(podNameFor("watcher")), {
        what: "the watcher's container to stop with no operator running",
        timeoutMs: 60_000,
      });
      expect(stopped.exitCode).toBe(0);
      expect(JSON.parse(stopped.message ?? "{}")).toMatchObject({
        reason: "Halted",
        source: "Spec",
        noticedBy: "watch",
      });
      expect(openOrders(watcher.uid)).toEqual([]);
    } finally {
      await kubectl(["scale", ...operator, "--replicas=1"]);
    }
    const halted = await view.waitForBot(
      botNs.name,
      "watcher",
      (b) => b.status?.phase === "Halted" && b.status.halt?.stoppedBy !== undefined,
      "Halted, recorded by the operator back up",
      120_000,
    );
    expect(halted.status?.halt).toMatchObject({ engaged: true, source: "Spec", stoppedBy: "Runtime" });
  });

  it("halts on spec.killSwitch: the kubelet stops the container, its orders are cancelled, it exits 0, the pod goes", async () => {
    expect(openOrders(grid.uid).length).toBeGreaterThan(0);
    await engageKillSwitch("grid");
    await view.waitForPodGone(botNs.name, podNameFor("grid"), 90_000);
    const stopped = await waitFor(() => terminations.byPod.get(podNameFor("grid")), {
      what: "the grid bot's container termination",
    });
    expect(stopped.exitCode).toBe(0);
    expect(openOrders(grid.uid)).toEqual([]);
    const halted = await view.waitForBot(botNs.name, "grid", (b) => b.status?.phase === "Halted", "Halted");
    expect(halted.status?.halt).toMatchObject({ engaged: true, source: "Spec" });
  });

  it("closes the halted bot's egress: a pod its NetworkPolicy selects reaches nothing, an unselected one the exchange", async () => {
    await waitFor(
      async () => {
        // An empty egress list (with policy type Egress) denies all; the API server leaves it out.
        const policy = await view.networkPolicy(botNs.name, networkPolicyNameFor("grid"));
        return policy.spec?.policyTypes?.includes("Egress") && (policy.spec.egress ?? []).length === 0;
      },
      { what: "the halted bot's NetworkPolicy to deny all egress", timeoutMs: 60_000 },
    );
    const selected = { [LABELS.bot]: botLabelValue("grid"), [LABELS.managedBy]: MANAGED_BY_VALUE };
    await Promise.all([
      runProbe(botNs.name, probePod("selected", selected)),
      runProbe(botNs.name, probePod("unselected")),
    ]);
    const ping = `${sim.url}/api/v3/ping`;
    await waitFor(async () => probeReaches(botNs.name, "unselected", ping), {
      what: "a pod no policy selects to reach the exchange",
      timeoutMs: 30_000,
    });
    expect(await probeReaches(botNs.name, "selected", ping)).toBe(false);
  });

  it("reads a risk halt's termination message from the real kubelet's pod status", async () => {
    // A 5 USDT daily-loss limit and a 20 % crash: the resting buys fill on the way down and the loss trips it.
    const risky = await startBot("risky", (spec) => {
      spec.risk = { ...(spec.risk as object), maxDailyLossQuote: "5" };
    });
    const priceBefore = sim.price("BTCUSDT");
    sim.setPrice({ symbol: "BTCUSDT", movePct: -20 });
    try {
      const latched = await view.waitForBot(
        botNs.name,
        "risky",
        (b) => b.status?.halt?.source === "Risk" && b.status.phase === "Halted",
        "a latched risk halt",
        60_000,
      );
      expect(latched.status?.halt).toMatchObject({ engaged: true, requiresAck: true });
      expect(latched.status?.halt?.reason).toMatch(/^RiskLimitBreached: maxDailyLossQuote reached /);
      const haltId = latched.status?.halt?.id ?? "";
      expect(haltId).toMatch(/^risk-/);

      await view.waitForPodGone(botNs.name, podNameFor("risky"), 60_000);
      // What the kubelet reported for the container: the runtime's exit code for a risk halt and its message.
      const ended = await waitFor(() => terminations.byPod.get(podNameFor("risky")), {
        what: "the risky bot's container termination",
      });
      expect(ended.exitCode).toBe(3);
      expect(JSON.parse(ended.message ?? "{}")).toMatchObject({
        reason: "RiskLimitBreached",
        haltId,
        limit: "maxDailyLossQuote",
        threshold: "5",
      });
      expect(openOrders(risky.uid)).toEqual([]);
    } finally {
      // Back to where the market was, for the bots that follow.
      sim.setPrice({ symbol: "BTCUSDT", price: priceBefore });
    }
  });

  it("gives up a stop the exchange slows past its grace period just before the SIGKILL: exit 1, not 137", async () => {
    // 10 s is the least the CRD allows; the runtime is told it and retries its cancels until 2 s before.
    const slow = await startBot("slow", (spec) => {
      spec.pod = { ...(spec.pod as object), terminationGracePeriodSeconds: 10 };
    });
    expect(slow.pod.spec?.terminationGracePeriodSeconds).toBe(10);
    // Each exchange call of the stop (open orders, cancel, open orders again) waits 3.5 s: within the
    // runtime's 5 s request timeout, so no call fails, but together they take well over the 10 s.
    sim.setFaults({ latencyMs: 3_500, paths: ["/api/v3/openOrders", "/api/v3/order", "/api/v3/myTrades"] });
    try {
      await engageKillSwitch("slow");
      await view.waitForPodGone(botNs.name, podNameFor("slow"), 60_000);
    } finally {
      sim.clearFaults();
    }
    const ended = await waitFor(() => terminations.byPod.get(podNameFor("slow")), {
      what: "the slow bot's container termination",
    });
    expect(ended.exitCode).toBe(1);
    const halted = await view.waitForBot(botNs.name, "slow", (b) => b.status?.phase === "Halted", "Halted");
    expect(halted.status?.halt).toMatchObject({ engaged: true, source: "Spec" });
  });

  it("ends in SIGKILL a runtime that cannot act on its SIGTERM, and closes the bot's egress", async () => {
    const frozen = await startBot("frozen", (spec) => {
      spec.pod = { ...(spec.pod as object), terminationGracePeriodSeconds: 10 };
    });
    // Frozen from the host: the SIGTERM stays pending, and only the kubelet's SIGKILL can end it.
    process.kill(await containerPid(frozen.pod, "bot"), "SIGSTOP");
    await engageKillSwitch("frozen");
    await view.waitForPodGone(botNs.name, podNameFor("frozen"), 60_000);
    const killed = await waitFor(() => terminations.byPod.get(podNameFor("frozen")), {
      what: "the frozen bot's container termination",
    });
    expect(killed.exitCode).toBe(137);
    const halted = await view.waitForBot(botNs.name, "frozen", (b) => b.status?.phase === "Halted", "Halted");
    expect(halted.status?.halt).toMatchObject({ engaged: true, source: "Spec" });

    await waitFor(
      async () => {
        const policy = await view.networkPolicy(botNs.name, networkPolicyNameFor("frozen"));
        return policy.spec?.policyTypes?.includes("Egress") && (policy.spec.egress ?? []).length === 0;
      },
      { what: "the killed bot's NetworkPolicy to deny all egress", timeoutMs: 30_000 },
    );
    const selected = { [LABELS.bot]: botLabelValue("frozen"), [LABELS.managedBy]: MANAGED_BY_VALUE };
    await Promise.all([
      runProbe(botNs.name, probePod("selected-frozen", selected)),
      runProbe(botNs.name, probePod("unselected-frozen")),
    ]);
    const ping = `${sim.url}/api/v3/ping`;
    await waitFor(async () => probeReaches(botNs.name, "unselected-frozen", ping), {
      what: "a pod no policy selects to reach the exchange",
      timeoutMs: 30_000,
    });
    expect(await probeReaches(botNs.name, "selected-frozen", ping)).toBe(false);
  });
});
