import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { RECOMMENDED_HALT_WATCH_AUDIENCE } from "../../api/v1alpha1/runtime-config.ts";
import { freePorts } from "../support/free-port.ts";
import {
  createCertificateAuthority,
  createSigningKey,
  issueCertificate,
  type KeyPair,
} from "../support/pki.ts";
import { failOnExit, type ManagedProcess, startProcess } from "../support/processes.ts";
import { type TlsClientOptions, tlsRequest } from "../support/tls-request.ts";
import { waitFor } from "../support/wait-for.ts";
import { type ControlPlaneBinaries, locateBinaries } from "./binaries.ts";
import {
  auditPolicy,
  clientCertKubeconfig,
  encryptionConfig,
  type FakeNode,
  fakeNodeManifest,
  kwokNodeAnnotation,
  schedulerConfig,
} from "./config-files.ts";

export interface EtcdConnection {
  /** https://127.0.0.1:<port>; the client must present the certificate below. */
  endpoint: string;
  caCertPath: string;
  certPath: string;
  keyPath: string;
}

export interface ControlPlane {
  stateDir: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** Admin (system:masters) kubeconfig with embedded certificates. */
  kubeconfigPath: string;
  /** CA of every certificate of this control plane (API server, etcd, clients). */
  caCertPath: string;
  /** Its key: a real node's kubelet gets its certificates from it. */
  caKeyPath: string;
  etcd: EtcdConnection;
  /** JSON lines, one Metadata event per write (create/update/patch/delete/deletecollection). */
  auditLogPath: string;
  /** kubectl, helm, kwok, etcd, kube-* (symlinks into the binary cache). */
  binDir: string;
  /** One log file per component. */
  logDir: string;
  fakeNodes: string[];
  /** Component name to process id. */
  pids: Record<string, number>;
  /** Stops kube-apiserver (SIGTERM, or SIGKILL) and leaves it stopped until startApiServer(). */
  stopApiServer(options?: { kill?: boolean }): Promise<void>;
  /** Starts the stopped kube-apiserver again (same flags, port and etcd) and waits until it is ready. */
  startApiServer(): Promise<void>;
  /** Stops kube-apiserver (SIGTERM, or SIGKILL), starts it again and waits until it is ready. */
  restartApiServer(options?: { kill?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

/** The ControlPlane without its methods: what control-plane.json holds. */
type ControlPlaneDescription = Omit<
  ControlPlane,
  "stop" | "stopApiServer" | "startApiServer" | "restartApiServer"
>;

export interface StartOptions {
  /** Holds certificates, configs, etcd data and logs; those subfolders are emptied first. */
  stateDir: string;
  log?: (line: string) => void;
  /** Number of KWOK-managed Nodes, at least two. */
  fakeNodeCount?: number;
  /**
   * Where kube-apiserver listens and what it advertises as the `kubernetes` Service's endpoint: 127.0.0.1
   * unless a real node's pods must reach it, which they cannot on the host's loopback (see real-node.ts).
   */
  address?: string;
}

/** Inside the state dir: the processes started so far (read by `cli.ts down` to leave nothing behind). */
export const processFileName = "processes.json";
/** Inside the state dir: the ControlPlane description (without `stop`), written once it is ready. */
export const controlPlaneFileName = "control-plane.json";

export interface RecordedProcess {
  name: string;
  pid: number;
  /** The executable, so that a stale pid reused by another program is never signalled. */
  command: string;
}

const serviceClusterIPRange = "10.96.0.0/16";
const podCIDR = "10.244.0.1/16";

/**
 * Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and KWOK on 127.0.0.1 and returns
 * once /readyz is ok, the fake Nodes are Ready and the `default` ServiceAccount exists. On failure,
 * everything started so far is stopped and the error quotes the failing component's log.
 */
export async function startControlPlane(options: StartOptions): Promise<ControlPlane> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const binaries = locateBinaries();
  const stateDir = resolve(options.stateDir);
  const dirs = {
    pki: join(stateDir, "pki"),
    config: join(stateDir, "config"),
    etcdData: join(stateDir, "etcd"),
    logs: join(stateDir, "logs"),
    bin: join(stateDir, "bin"),
  };
  // Only what this function owns is emptied: a caller may keep its own files in the state dir.
  for (const dir of Object.values(dirs)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  linkBinaries(binaries, dirs.bin);

  const [etcdPort, etcdPeerPort, apiserverPort] = (await freePorts(3)) as [number, number, number];
  const address = options.address ?? "127.0.0.1";
  const server = `https://${address}:${apiserverPort}`;
  const pki = await generatePki(dirs.pki, address);
  const caPem = readFileSync(pki.ca.certPath, "utf8");
  const writeKubeconfig = (path: string, user: string, pair: KeyPair) => {
    const credentials = {
      user,
      certPem: readFileSync(pair.certPath, "utf8"),
      keyPem: readFileSync(pair.keyPath, "utf8"),
    };
    writeFileSync(path, clientCertKubeconfig(server, caPem, credentials), { mode: 0o600 });
    return path;
  };
  const kubeconfigPath = writeKubeconfig(join(stateDir, "kubeconfig"), "admin", pki.admin);
  const controllerManagerKubeconfig = writeKubeconfig(
    join(dirs.config, "kube-controller-manager.kubeconfig"),
    "system:kube-controller-manager",
    pki.controllerManager,
  );
  const schedulerKubeconfig = writeKubeconfig(
    join(dirs.config, "kube-scheduler.kubeconfig"),
    "system:kube-scheduler",
    pki.scheduler,
  );
  const kwokKubeconfig = writeKubeconfig(
    join(dirs.config, "kwok.kubeconfig"),
    "system:kwok-controller",
    pki.kwok,
  );
  const files = {
    encryption: join(dirs.config, "encryption-config.yaml"),
    auditPolicy: join(dirs.config, "audit-policy.yaml"),
    scheduler: join(dirs.config, "kube-scheduler.yaml"),
    kwok: join(dirs.config, "kwok.yaml"),
  };
  writeFileSync(files.encryption, encryptionConfig(randomBytes(32)), { mode: 0o600 });
  writeFileSync(files.auditPolicy, auditPolicy());
  writeFileSync(files.scheduler, schedulerConfig(schedulerKubeconfig));
  writeFileSync(files.kwok, kwokStages(binaries.kwokStagesDir));
  const auditLogPath = join(dirs.logs, "audit.log");
  const etcd: EtcdConnection = {
    endpoint: `https://127.0.0.1:${etcdPort}`,
    caCertPath: pki.ca.certPath,
    certPath: pki.etcdClient.certPath,
    keyPath: pki.etcdClient.keyPath,
  };

  const processes: ManagedProcess[] = [];
  const recorded: RecordedProcess[] = [];
  const start = (name: string, command: string, args: string[]) => {
    const p = startProcess({ name, command, args, logPath: join(dirs.logs, `${name}.log`) });
    processes.push(p);
    recorded.push({ name, pid: p.pid, command });
    writeFileSync(join(stateDir, processFileName), `${JSON.stringify({ processes: recorded }, null, 2)}\n`);
    return p;
  };
  const stopAll = () => stopProcesses(processes);
  // Every wait also ends, with the component's log, as soon as any started component exits.
  const whileRunning = async <T>(step: Promise<T>): Promise<T> => {
    const watch = failOnExit(processes);
    try {
      return await Promise.race([step, watch.promise]);
    } finally {
      watch.cancel();
    }
  };

  try {
    const etcdTls = readTls(pki.ca, pki.etcdClient);
    start("etcd", binaries.etcd, [
      "--name=local",
      `--data-dir=${dirs.etcdData}`,
      `--listen-client-urls=${etcd.endpoint}`,
      `--advertise-client-urls=${etcd.endpoint}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=local=http://127.0.0.1:${etcdPeerPort}`,
      `--cert-file=${pki.etcdServer.certPath}`,
      `--key-file=${pki.etcdServer.keyPath}`,
      `--trusted-ca-file=${pki.ca.certPath}`,
      "--client-cert-auth",
      // A throwaway test store: durability across power loss buys nothing here and fsync dominates write latency.
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);
    await whileRunning(
      waitFor(async () => (await tlsRequest(`${etcd.endpoint}/health`, etcdTls)).status === 200, {
        what: `etcd to answer /health on ${etcd.endpoint}`,
        timeoutMs: 30_000,
        intervalMs: 100,
      }),
    );
    log(`etcd is up on ${etcd.endpoint} (${elapsed(started)})`);

    const apiserverArgs = [
      `--bind-address=${address}`,
      `--advertise-address=${address}`,
      `--secure-port=${apiserverPort}`,
      `--etcd-servers=${etcd.endpoint}`,
      `--etcd-cafile=${etcd.caCertPath}`,
      `--etcd-certfile=${etcd.certPath}`,
      `--etcd-keyfile=${etcd.keyPath}`,
      `--tls-cert-file=${pki.apiserver.certPath}`,
      `--tls-private-key-file=${pki.apiserver.keyPath}`,
      `--client-ca-file=${pki.ca.certPath}`,
      "--authorization-mode=Node,RBAC",
      // For logs, exec and port-forward through a real node's kubelet: its serving certificate is checked
      // against this CA, at the Node's InternalIP (no DNS names here), and kube-apiserver authenticates with
      // its own client certificate.
      `--kubelet-certificate-authority=${pki.ca.certPath}`,
      `--kubelet-client-certificate=${pki.kubeletClient.certPath}`,
      `--kubelet-client-key=${pki.kubeletClient.keyPath}`,
      "--kubelet-preferred-address-types=InternalIP",
      // PodSecurity is on by default; naming it keeps it on whatever the defaults become.
      "--enable-admission-plugins=NodeRestriction,PodSecurity",
      // Privileged pods pass this gate so that Pod Security admission is what rejects them.
      "--allow-privileged=true",
      `--encryption-provider-config=${files.encryption}`,
      `--audit-policy-file=${files.auditPolicy}`,
      `--audit-log-path=${auditLogPath}`,
      "--audit-log-format=json",
      "--audit-log-maxsize=0",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      // The issuer (the default audience) and the audience of the bots' halt-watch tokens.
      `--api-audiences=https://kubernetes.default.svc.cluster.local,${RECOMMENDED_HALT_WATCH_AUDIENCE}`,
      `--service-account-key-file=${pki.serviceAccount.publicKeyPath}`,
      `--service-account-signing-key-file=${pki.serviceAccount.privateKeyPath}`,
      `--service-cluster-ip-range=${serviceClusterIPRange}`,
      // The `kubernetes` Service's Endpoints may not point at loopback: without a real node, nothing needs them.
      `--endpoint-reconciler-type=${address === "127.0.0.1" ? "none" : "lease"}`,
      "--profiling=false",
    ];
    const startApiServerProcess = () => start("kube-apiserver", binaries.kubeApiserver, apiserverArgs);
    let apiserver: ManagedProcess | undefined = startApiServerProcess();
    const adminTls = readTls(pki.ca, pki.admin);
    const apiserverReady = () =>
      whileRunning(
        waitFor(async () => (await tlsRequest(`${server}/readyz`, adminTls)).status === 200, {
          what: `kube-apiserver /readyz on ${server}`,
          timeoutMs: 90_000,
          intervalMs: 250,
        }),
      );
    await apiserverReady();
    log(`kube-apiserver is ready on ${server} (${elapsed(started)})`);

    start("kube-controller-manager", binaries.kubeControllerManager, [
      `--kubeconfig=${controllerManagerKubeconfig}`,
      "--bind-address=127.0.0.1",
      "--secure-port=0",
      "--leader-elect=false",
      "--use-service-account-credentials=true",
      `--service-account-private-key-file=${pki.serviceAccount.privateKeyPath}`,
      `--root-ca-file=${pki.ca.certPath}`,
      `--cluster-signing-cert-file=${pki.ca.certPath}`,
      `--cluster-signing-key-file=${pki.ca.keyPath}`,
      `--service-cluster-ip-range=${serviceClusterIPRange}`,
      "--kube-api-qps=100",
      "--kube-api-burst=200",
    ]);
    start("kube-scheduler", binaries.kubeScheduler, [
      `--config=${files.scheduler}`,
      "--bind-address=127.0.0.1",
      "--secure-port=0",
    ]);
    start("kwok", binaries.kwok, [
      `--config=${files.kwok}`,
      `--kubeconfig=${kwokKubeconfig}`,
      "--manage-all-nodes=false",
      `--manage-nodes-with-annotation-selector=${kwokNodeAnnotation.key}=${kwokNodeAnnotation.value}`,
      `--cidr=${podCIDR}`,
      "--node-lease-duration-seconds=40",
    ]);

    const fakeNodes: FakeNode[] = Array.from({ length: Math.max(2, options.fakeNodeCount ?? 2) }, (_, i) => ({
      name: `kwok-node-${i}`,
      internalIP: `10.240.0.${i + 1}`,
    }));
    for (const node of fakeNodes) {
      const res = await tlsRequest(`${server}/api/v1/nodes`, adminTls, {
        method: "POST",
        body: fakeNodeManifest(node),
      });
      if (res.status !== 201)
        throw new Error(`creating Node ${node.name} failed: HTTP ${res.status} ${res.body}`);
    }
    await whileRunning(
      waitFor(
        async () => {
          for (const node of fakeNodes) {
            if (!(await nodeIsReady(server, adminTls, node.name))) return false;
          }
          return true;
        },
        { what: `KWOK to mark Nodes ${fakeNodes.map((n) => n.name).join(", ")} Ready`, timeoutMs: 60_000 },
      ),
    );
    log(`fake nodes ${fakeNodes.map((n) => n.name).join(", ")} are Ready (${elapsed(started)})`);
    await whileRunning(
      waitFor(
        async () =>
          (await tlsRequest(`${server}/api/v1/namespaces/default/serviceaccounts/default`, adminTls))
            .status === 200,
        { what: "kube-controller-manager to create the default ServiceAccount", timeoutMs: 60_000 },
      ),
    );
    log(`control plane ready in ${elapsed(started)}; state in ${stateDir}`);

    const description: ControlPlaneDescription = {
      stateDir,
      server,
      kubeconfigPath,
      caCertPath: pki.ca.certPath,
      caKeyPath: pki.ca.keyPath,
      etcd,
      auditLogPath,
      binDir: dirs.bin,
      logDir: dirs.logs,
      fakeNodes: fakeNodes.map((n) => n.name),
      pids: Object.fromEntries(processes.map((p) => [p.name, p.pid])),
    };
    writeFileSync(join(stateDir, controlPlaneFileName), `${JSON.stringify(description, null, 2)}\n`);
    const stopApiServer = async ({ kill = false } = {}) => {
      if (!apiserver) throw new Error("kube-apiserver is already stopped");
      await apiserver.stop(kill ? 0 : 15_000, kill ? "SIGKILL" : "SIGTERM");
      // Out of the processes every wait watches: its exit is wanted.
      processes.splice(processes.indexOf(apiserver), 1);
      apiserver = undefined;
      log(`kube-apiserver stopped (${kill ? "SIGKILL" : "SIGTERM"})`);
    };
    const startApiServer = async () => {
      if (apiserver) throw new Error("kube-apiserver is already running");
      apiserver = startApiServerProcess();
      await apiserverReady();
      log("kube-apiserver started again");
    };
    return {
      ...description,
      stopApiServer,
      startApiServer,
      async restartApiServer(restart = {}) {
        await stopApiServer(restart);
        await startApiServer();
      },
      async stop() {
        await stopAll();
        for (const file of [controlPlaneFileName, processFileName])
          rmSync(join(stateDir, file), { force: true });
        log("control plane stopped");
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Stops in dependency order: clients first, then the API server, then its store. */
async function stopProcesses(processes: ManagedProcess[]): Promise<void> {
  const byName = (names: string[]) => processes.filter((p) => names.includes(p.name));
  await Promise.all(byName(["kwok", "kube-scheduler", "kube-controller-manager"]).map((p) => p.stop(5_000)));
  await Promise.all(byName(["kube-apiserver"]).map((p) => p.stop(15_000)));
  await Promise.all(byName(["etcd"]).map((p) => p.stop(10_000)));
}

async function generatePki(dir: string, address: string) {
  const ca = await createCertificateAuthority(dir, "tradingbot-local-ca");
  const loopback = { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] };
  const [
    etcdServer,
    etcdClient,
    apiserver,
    admin,
    controllerManager,
    scheduler,
    kwok,
    kubeletClient,
    serviceAccount,
  ] = await Promise.all([
    // etcd's JSON gateway dials etcd's own gRPC port with this certificate, so it is a client one too.
    issueCertificate(ca, dir, {
      name: "etcd-server",
      commonName: "etcd",
      usage: "server-and-client",
      ...loopback,
    }),
    issueCertificate(ca, dir, {
      name: "etcd-client",
      commonName: "kube-apiserver-etcd-client",
      usage: "client",
    }),
    issueCertificate(ca, dir, {
      name: "kube-apiserver",
      commonName: "kube-apiserver",
      usage: "server",
      dnsNames: [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
      ],
      ipAddresses: [...new Set(["127.0.0.1", "10.96.0.1", address])],
    }),
    issueCertificate(ca, dir, {
      name: "admin",
      commonName: "kubernetes-admin",
      organizations: ["system:masters"],
      usage: "client",
    }),
    issueCertificate(ca, dir, {
      name: "kube-controller-manager",
      commonName: "system:kube-controller-manager",
      usage: "client",
    }),
    issueCertificate(ca, dir, {
      name: "kube-scheduler",
      commonName: "system:kube-scheduler",
      usage: "client",
    }),
    // KWOK plays every kubelet of the fake nodes (status, leases, pod IPs) across all namespaces.
    issueCertificate(ca, dir, {
      name: "kwok",
      commonName: "system:kwok-controller",
      organizations: ["system:masters"],
      usage: "client",
    }),
    // kubelets authorize what kube-apiserver asks of them (logs, exec) by this certificate's groups.
    issueCertificate(ca, dir, {
      name: "kube-apiserver-kubelet-client",
      commonName: "kube-apiserver-kubelet-client",
      organizations: ["system:masters"],
      usage: "client",
    }),
    createSigningKey(dir, "service-account"),
  ]);
  return {
    ca,
    etcdServer,
    etcdClient,
    apiserver,
    admin,
    controllerManager,
    scheduler,
    kwok,
    kubeletClient,
    serviceAccount,
  };
}

function readTls(ca: KeyPair, client: KeyPair): TlsClientOptions {
  return {
    ca: readFileSync(ca.certPath, "utf8"),
    cert: readFileSync(client.certPath, "utf8"),
    key: readFileSync(client.keyPath, "utf8"),
  };
}

async function nodeIsReady(server: string, tls: TlsClientOptions, name: string): Promise<boolean> {
  const res = await tlsRequest(`${server}/api/v1/nodes/${name}`, tls);
  if (res.status !== 200) return false;
  const node = JSON.parse(res.body) as { status?: { conditions?: { type: string; status: string }[] } };
  return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** KWOK's default node and pod stages, as one multi-document config file. */
function kwokStages(stagesDir: string): string {
  return readdirSync(stagesDir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => readFileSync(join(stagesDir, f), "utf8").trimEnd())
    .join("\n---\n");
}

function linkBinaries(binaries: ControlPlaneBinaries, binDir: string): void {
  const links: Record<string, string> = {
    etcd: binaries.etcd,
    "kube-apiserver": binaries.kubeApiserver,
    "kube-controller-manager": binaries.kubeControllerManager,
    "kube-scheduler": binaries.kubeScheduler,
    kubectl: binaries.kubectl,
    kwok: binaries.kwok,
    helm: binaries.helm,
  };
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(binDir, name));
}

const elapsed = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
