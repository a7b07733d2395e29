// A real node for the local control plane: containerd (runc, CNI) and kubelet run the pods bound to it as
// containers, kube-proxy (iptables) makes Services work. Everything a node is made of is in this file:
//
//   node network   a network namespace of its own, joined to the host by one veth pair with a private /30
//                  (10.250.<n>.0/30: host side .1, node side .2) and no default route, so nothing the node or
//                  its pods send can leave the machine; kube-proxy's and CNI's iptables rules live in that
//                  namespace and vanish with it. kube-apiserver listens on the host side of the veth (pods
//                  cannot reach the host's loopback), and advertises it as the `kubernetes` Service endpoint.
//   containerd     overlayfs snapshotter, runc with the cgroupfs driver, root/state/runc dirs under the state
//                  dir, the sandbox image built by node-images.ts.
//   CNI            bridge (gateway, masquerade) + host-local on a private pod CIDR, loopback, portmap.
//   kubelet        cgroup v1 + cgroupfs under a cgroup root of its own, x509 + webhook authn/authz, client and
//                  serving certificates from the control plane's CA, a taint and a label so that only pods
//                  meant for it land here (the KWOK nodes keep everything else).
//   kube-proxy     iptables mode inside the node namespace.
//   kube-router    its firewall controller only (--run-firewall; no routing, no service proxy): enforces
//                  NetworkPolicy with iptables and ipset inside the node namespace. Known to have security
//                  flaws: it serves these local tests only, and never leaves the node namespace.
//
// The processes run in the host's mount namespace (kubelet's volume mounts must be visible to containerd) and
// only join the node's network namespace. Everything started or created is written to `real-node.json` in the
// state dir, so that `cleanUpRealNode` (used by `stop`, by `make cluster-down` and for runs that were killed)
// removes containers, shims, mounts, the namespace and cgroups.
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { dump } from "js-yaml";
import { issueCertificate, type KeyPair } from "../support/pki.ts";
import { failOnExit, isProcessAlive, type ManagedProcess, startProcess } from "../support/processes.ts";
import { waitFor } from "../support/wait-for.ts";
import { locateNodeBinaries, type NodeBinaries } from "./binaries.ts";
import { clientCertKubeconfig } from "./config-files.ts";
import {
  type ControlPlane,
  type RecordedProcess,
  type StartOptions,
  startControlPlane,
} from "./control-plane.ts";
import { buildNodeImages, pauseImage } from "./node-images.ts";

const run = promisify(execFile);

/** Inside the state dir: what the real node created, for `cleanUpRealNode`. */
export const realNodeFileName = "real-node.json";
/** Pods meant for the real node select this label and tolerate the taint below. */
export const realNodeLabel = { key: "tradingbot.botops.dev/node", value: "real" } as const;
export const realNodeTaint = {
  key: "tradingbot.botops.dev/real-node",
  value: "true",
  effect: "NoSchedule",
} as const;
/** Pod IPs of the real node: inside its own namespace, apart from KWOK's 10.244.0.0/16. */
export const realNodePodCIDR = "10.245.0.0/24";

export interface RealNodeNetwork {
  /** Network namespace, /run/netns/<netns>. */
  netns: string;
  /** The host side of the veth pair. */
  hostInterface: string;
  /** Host side of the veth: where kube-apiserver listens for the node and its pods. */
  hostAddress: string;
  /** Node side of the veth: the node's InternalIP, where kubelet serves. */
  nodeAddress: string;
}

interface RealNodeRecord {
  network: RealNodeNetwork;
  /** Everything else of the node (configs, containerd root and state, kubelet root, logs). */
  nodeDir: string;
  /** cgroup v1 path (the same in every hierarchy) under which kubelet puts the pods. */
  cgroupRoot: string;
  containerdSocket: string;
  cniNetworkName: string;
  processes: RecordedProcess[];
}

export interface RealNode {
  name: string;
  network: RealNodeNetwork;
  binaries: NodeBinaries;
  /** unix socket of containerd (CRI and containerd API). */
  containerdSocket: string;
  /** runc's state root for the CRI namespace: `runc --root <runcRoot> state <container id>`. */
  runcRoot: string;
  logDir: string;
  pids: Record<string, number>;
  /** Runs crictl against this node's containerd; resolves to its stdout. */
  crictl(args: string[]): Promise<string>;
  /** Imports an OCI archive (e.g. `make image-oci`'s) into the node's containerd; see `importOciArchive`. */
  importOciArchive(archivePath: string, repository: string): Promise<void>;
  stop(): Promise<void>;
}

export interface RealNodeOptions {
  /** The control plane's state dir: the node keeps its files in `<stateDir>/node/`. */
  stateDir: string;
  network: RealNodeNetwork;
  /** kube-apiserver's URL, on `network.hostAddress`. */
  server: string;
  /** The control plane's CA: the node's certificates are issued by it, and kubelet trusts its clients. */
  ca: KeyPair;
  /** Admin kubeconfig, to wait for the Node to be Ready. */
  adminKubeconfigPath: string;
  name?: string;
  log?: (line: string) => void;
}

const recordPath = (stateDir: string) => join(stateDir, realNodeFileName);
const readRecord = (stateDir: string): RealNodeRecord | undefined =>
  existsSync(recordPath(stateDir))
    ? (JSON.parse(readFileSync(recordPath(stateDir), "utf8")) as RealNodeRecord)
    : undefined;
const writeRecord = (stateDir: string, record: RealNodeRecord) =>
  writeFileSync(recordPath(stateDir), `${JSON.stringify(record, null, 2)}\n`);

/**
 * Creates the node's network namespace and veth pair, before the control plane starts (kube-apiserver binds
 * the host side). Takes the first free 10.250.<n>.0/30: creating /run/netns/tradingbot-node-<n> is the
 * atomic claim, so concurrent runs on one machine each get their own.
 */
export async function createNodeNetwork(stateDir: string): Promise<RealNodeNetwork> {
  mkdirSync(stateDir, { recursive: true });
  for (let n = 1; n < 255; n++) {
    const netns = `tradingbot-node-${n}`;
    try {
      await run("ip", ["netns", "add", netns]);
    } catch {
      continue;
    }
    const network: RealNodeNetwork = {
      netns,
      hostInterface: `tbnode${n}`,
      hostAddress: `10.250.${n}.1`,
      nodeAddress: `10.250.${n}.2`,
    };
    const nodeDir = join(resolve(stateDir), "node");
    writeRecord(stateDir, {
      network,
      nodeDir,
      cgroupRoot: `/tradingbot-node-${n}`,
      containerdSocket: join(nodeDir, "containerd.sock"),
      cniNetworkName: netns,
      processes: [],
    });
    const inNode = (...args: string[]) => run("ip", ["-n", netns, ...args]);
    await run("ip", [
      "link",
      "add",
      network.hostInterface,
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      netns,
    ]);
    await run("ip", ["addr", "add", `${network.hostAddress}/30`, "dev", network.hostInterface]);
    await run("ip", ["link", "set", network.hostInterface, "up"]);
    await inNode("addr", "add", `${network.nodeAddress}/30`, "dev", "eth0");
    await inNode("link", "set", "eth0", "up");
    await inNode("link", "set", "lo", "up");
    // Pods reach kube-apiserver through the node: the node routes (a new namespace does not forward).
    await run("nsenter", [`--net=/run/netns/${netns}`, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    return network;
  }
  throw new Error("no free 10.250.<n>.0/30 for a real node: /run/netns/tradingbot-node-1..254 all exist");
}

/**
 * Starts containerd, kubelet and kube-proxy in the node network made by `createNodeNetwork` and returns once
 * the Node is Ready. On failure, everything is cleaned up and the error quotes the failing component's log.
 */
export async function startRealNode(options: RealNodeOptions): Promise<RealNode> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const name = options.name ?? "real-node";
  const binaries = locateNodeBinaries();
  await checkHostCanRunContainers();
  const stateDir = resolve(options.stateDir);
  const record = readRecord(stateDir);
  if (!record) throw new Error(`${recordPath(stateDir)} is missing: call createNodeNetwork first`);
  const { network, nodeDir } = record;
  const dirs = {
    pki: join(nodeDir, "pki"),
    config: join(nodeDir, "config"),
    // Beside the control plane's logs, and kept by cleanUpRealNode for a look after a failed run.
    logs: join(stateDir, "logs", "real-node"),
    images: join(nodeDir, "images"),
    cniConf: join(nodeDir, "cni", "net.d"),
    cniIpam: join(nodeDir, "cni", "ipam"),
    containerdRoot: join(nodeDir, "containerd", "root"),
    containerdState: join(nodeDir, "containerd", "state"),
    containerdOpt: join(nodeDir, "containerd", "opt"),
    runcRoot: join(nodeDir, "runc"),
    kubeletRoot: join(nodeDir, "kubelet"),
    podLogs: join(nodeDir, "pod-logs"),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  createCgroupRoot(record.cgroupRoot);

  const processes: ManagedProcess[] = [];
  const inNodeNetwork = (processName: string, command: string, args: string[], env?: NodeJS.ProcessEnv) => {
    // nsenter execs the binary: the recorded pid and /proc/<pid>/exe are the component's own.
    const p = startProcess({
      name: processName,
      command: "nsenter",
      args: [`--net=/run/netns/${network.netns}`, "--", command, ...args],
      logPath: join(dirs.logs, `${processName}.log`),
      env: env ?? process.env,
    });
    processes.push(p);
    record.processes.push({ name: processName, pid: p.pid, command });
    writeRecord(stateDir, record);
    return p;
  };
  const whileRunning = async <T>(step: Promise<T>): Promise<T> => {
    const watch = failOnExit(processes);
    try {
      return await Promise.race([step, watch.promise]);
    } finally {
      watch.cancel();
    }
  };
  const crictl = async (args: string[]) =>
    (
      await run(
        binaries.crictl,
        [`--runtime-endpoint=unix://${record.containerdSocket}`, "--timeout=30s", ...args],
        {
          maxBuffer: 16 * 1024 * 1024,
        },
      )
    ).stdout;
  const stop = async () => {
    await stopNode(record, processes, crictl);
    log("real node stopped");
  };

  try {
    const caPem = readFileSync(options.ca.certPath, "utf8");
    const [kubeletClient, kubeletServing, kubeProxyClient, kubeRouterClient, images] = await Promise.all([
      issueCertificate(options.ca, dirs.pki, {
        name: "kubelet-client",
        commonName: `system:node:${name}`,
        organizations: ["system:nodes"],
        usage: "client",
      }),
      // kube-apiserver dials the node's InternalIP (--kubelet-preferred-address-types) and checks this
      // certificate against the same CA (--kubelet-certificate-authority).
      issueCertificate(options.ca, dirs.pki, {
        name: "kubelet-serving",
        commonName: `system:node:${name}`,
        usage: "server",
        dnsNames: [name],
        ipAddresses: [network.nodeAddress],
      }),
      // system:kube-proxy is bound to the built-in system:node-proxier role.
      issueCertificate(options.ca, dirs.pki, {
        name: "kube-proxy",
        commonName: "system:kube-proxy",
        usage: "client",
      }),
      // Bound below to a ClusterRole that reads what NetworkPolicies select, and nothing else.
      issueCertificate(options.ca, dirs.pki, {
        name: "kube-router",
        commonName: kubeRouterUser,
        usage: "client",
      }),
      buildNodeImages(binaries.umoci, dirs.images),
    ]);
    const kubeconfig = (file: string, user: string, pair: KeyPair) => {
      const path = join(dirs.config, file);
      const credentials = {
        user,
        certPem: readFileSync(pair.certPath, "utf8"),
        keyPem: readFileSync(pair.keyPath, "utf8"),
      };
      writeFileSync(path, clientCertKubeconfig(options.server, caPem, credentials), { mode: 0o600 });
      return path;
    };
    const files = {
      containerd: join(dirs.config, "containerd.toml"),
      cni: join(dirs.cniConf, "10-tradingbot.conflist"),
      kubelet: join(dirs.config, "kubelet.yaml"),
      kubeProxy: join(dirs.config, "kube-proxy.yaml"),
    };
    writeFileSync(
      files.containerd,
      containerdConfig({
        ...dirs,
        socket: record.containerdSocket,
        runc: binaries.runc,
        cniBin: binaries.cniPluginsDir,
      }),
    );
    writeFileSync(files.cni, cniConfig(record.cniNetworkName, join(dirs.cniIpam)));
    writeFileSync(
      files.kubelet,
      kubeletConfig({
        address: network.nodeAddress,
        cgroupRoot: record.cgroupRoot,
        containerdSocket: record.containerdSocket,
        clientCaFile: options.ca.certPath,
        serving: kubeletServing,
        podLogsDir: dirs.podLogs,
      }),
    );
    writeFileSync(
      files.kubeProxy,
      kubeProxyConfig(name, kubeconfig("kube-proxy.kubeconfig", "system:kube-proxy", kubeProxyClient)),
    );

    // containerd finds its shim on PATH; runc is named in the runtime options.
    inNodeNetwork("containerd", binaries.containerd, [`--config=${files.containerd}`], {
      ...process.env,
      PATH: `${binaries.containerdDir}:${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`,
    });
    await whileRunning(
      waitFor(() => crictl(["info"]).then(() => true), {
        what: `containerd to answer on ${record.containerdSocket}`,
        timeoutMs: 30_000,
      }),
    );
    await importOciArchive(binaries.ctr, record.containerdSocket, images.pause.path, images.pause.repository);
    await importOciArchive(binaries.ctr, record.containerdSocket, images.probe.path, images.probe.repository);
    log(`containerd is up with ${pauseImage} (${elapsed(started)})`);

    inNodeNetwork("kubelet", binaries.kubelet, [
      `--config=${files.kubelet}`,
      `--kubeconfig=${kubeconfig("kubelet.kubeconfig", `system:node:${name}`, kubeletClient)}`,
      `--root-dir=${dirs.kubeletRoot}`,
      `--hostname-override=${name}`,
      `--node-ip=${network.nodeAddress}`,
      `--node-labels=${realNodeLabel.key}=${realNodeLabel.value}`,
      "--v=2",
    ]);
    inNodeNetwork("kube-proxy", binaries.kubeProxy, [`--config=${files.kubeProxy}`, "--v=2"]);

    const kc = new KubeConfig();
    kc.loadFromFile(options.adminKubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    await whileRunning(
      waitFor(
        async () =>
          (await core.readNode({ name })).status?.conditions?.some(
            (c) => c.type === "Ready" && c.status === "True",
          ),
        {
          what: `Node ${name} to be Ready (kubelet log: ${join(dirs.logs, "kubelet.log")})`,
          timeoutMs: 120_000,
        },
      ),
    );
    await grantKubeRouterAccess(kc.makeApiClient(RbacAuthorizationV1Api));
    // Pods on one bridge talk without routing: only with bridged traffic passed to iptables does the
    // firewall see it (a node setting every NetworkPolicy implementation on a bridge needs).
    await run("nsenter", [
      `--net=/run/netns/${network.netns}`,
      "sysctl",
      "-qw",
      "net.bridge.bridge-nf-call-iptables=1",
    ]);
    // It identifies its node by the Node object: started once kubelet has registered it.
    inNodeNetwork("kube-router", binaries.kubeRouter, [
      `--kubeconfig=${kubeconfig("kube-router.kubeconfig", kubeRouterUser, kubeRouterClient)}`,
      `--hostname-override=${name}`,
      "--run-firewall=true",
      "--run-router=false",
      "--run-service-proxy=false",
      // Inside the node namespace: the port is the node's own.
      "--health-port=20244",
      "--metrics-port=0",
      "--v=2",
    ]);
    await whileRunning(
      waitFor(
        () =>
          run("nsenter", [
            `--net=/run/netns/${network.netns}`,
            "iptables",
            "-S",
            kubeRouterForwardChain,
          ]).then(
            () => true,
            () => false,
          ),
        {
          what: `kube-router to set up its firewall (${join(dirs.logs, "kube-router.log")})`,
          timeoutMs: 60_000,
        },
      ),
    );
    log(`real node ${name} is Ready at ${network.nodeAddress} (${elapsed(started)})`);

    return {
      name,
      network,
      binaries,
      containerdSocket: record.containerdSocket,
      runcRoot: join(dirs.runcRoot, "k8s.io"),
      logDir: dirs.logs,
      pids: Object.fromEntries(processes.map((p) => [p.name, p.pid])),
      crictl,
      importOciArchive: (archivePath, repository) =>
        importOciArchive(binaries.ctr, record.containerdSocket, archivePath, repository),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The local control plane with a real node next to its KWOK nodes: the node network first (kube-apiserver
 * listens on it), then the control plane, then the node. Whatever a killed earlier run left in `stateDir` is
 * cleaned up first. `stop` stops the node, then the control plane.
 */
export async function startControlPlaneWithRealNode(
  options: StartOptions,
): Promise<{ controlPlane: ControlPlane; node: RealNode; stop(): Promise<void> }> {
  await checkHostCanRunContainers();
  await cleanUpRealNode(options.stateDir);
  const network = await createNodeNetwork(options.stateDir);
  let controlPlane: ControlPlane | undefined;
  try {
    controlPlane = await startControlPlane({ ...options, address: network.hostAddress });
    const node = await startRealNode({
      stateDir: options.stateDir,
      network,
      server: controlPlane.server,
      ca: { certPath: controlPlane.caCertPath, keyPath: controlPlane.caKeyPath },
      adminKubeconfigPath: controlPlane.kubeconfigPath,
      log: options.log,
    });
    const cp = controlPlane;
    return {
      controlPlane: cp,
      node,
      async stop() {
        await node.stop();
        await cp.stop();
      },
    };
  } catch (error) {
    await controlPlane?.stop();
    await cleanUpRealNode(options.stateDir);
    throw error;
  }
}

/**
 * Imports an OCI archive (a tar of an OCI image layout) into the CRI namespace of a node's containerd. Tags of
 * the archive's index (org.opencontainers.image.ref.name) become `<repository>:<tag>`; pods then use that name
 * with `imagePullPolicy: Never`, there being no registry.
 */
export async function importOciArchive(
  ctr: string,
  containerdSocket: string,
  archivePath: string,
  repository: string,
): Promise<void> {
  await run(ctr, [
    `--address=${containerdSocket}`,
    "--namespace=k8s.io",
    "images",
    "import",
    `--base-name=${repository}`,
    archivePath,
  ]);
}

/** Stops in order: kubelet (no new pods), the pods (through containerd, so CNI and mounts are undone), the rest. */
async function stopNode(
  record: RealNodeRecord,
  processes: ManagedProcess[],
  crictl: (args: string[]) => Promise<string>,
): Promise<void> {
  const byName = (name: string) => processes.filter((p) => p.name === name);
  await Promise.all(byName("kubelet").map((p) => p.stop(10_000)));
  if (byName("containerd").some((p) => p.isRunning())) {
    await crictl(["rmp", "--force", "--all"]).catch(() => {});
  }
  await Promise.all(
    [...byName("kube-proxy"), ...byName("kube-router"), ...byName("containerd")].map((p) => p.stop(10_000)),
  );
  await cleanUpRealNode(dirname(record.nodeDir));
}

/**
 * Removes everything a real node recorded in `<stateDir>/real-node.json`, whatever state it was left in:
 * its processes, containers and shims, mounts under its dir, the network namespace (and with it the veth pair
 * and every iptables rule of kube-proxy and CNI), its cgroups and CNI cache files. Does nothing without a record.
 */
export async function cleanUpRealNode(stateDir: string): Promise<void> {
  const record = readRecord(stateDir);
  if (!record) return;
  const kill = (pid: number) => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  };
  for (const p of record.processes) {
    try {
      if (readlinkSync(`/proc/${p.pid}/exe`) === p.command) kill(p.pid);
    } catch {}
  }
  // Containers (every process in the node's cgroups) and the shims that served this containerd.
  const leftovers = [...cgroupProcesses(record.cgroupRoot), ...shimsOf(record.containerdSocket)];
  for (const pid of leftovers) kill(pid);
  await waitFor(() => leftovers.every((pid) => !isProcessAlive(pid)), {
    what: "the real node's processes to exit",
  });
  const mounts = mountsUnder(record.nodeDir).sort((a, b) => b.length - a.length);
  for (const mount of mounts) {
    await run("umount", [mount]).catch(() => run("umount", ["--lazy", mount]).catch(() => {}));
  }
  await run("ip", ["netns", "delete", record.network.netns]).catch(() => {});
  await run("ip", ["link", "delete", record.network.hostInterface]).catch(() => {});
  removeCgroupRoot(record.cgroupRoot);
  // kubelet's device-plugin socket is at a fixed host path whatever its root dir: removed when no other
  // kubelet (another real node on this machine) may be serving it.
  if (!otherKubeletRunning()) rmSync("/var/lib/kubelet/device-plugins/kubelet.sock", { force: true });
  const cniCache = "/var/lib/cni/results";
  if (existsSync(cniCache)) {
    for (const file of readdirSync(cniCache)) {
      if (file.startsWith(`${record.cniNetworkName}-`)) rmSync(join(cniCache, file), { force: true });
    }
  }
  rmSync(record.nodeDir, { recursive: true, force: true });
  rmSync(recordPath(stateDir), { force: true });
}

const kubeRouterUser = "system:tradingbot-real-node:kube-router";
/** kube-router's firewall controller creates this chain once it has synced its rules. */
const kubeRouterForwardChain = "KUBE-ROUTER-FORWARD";

/** What kube-router's firewall controller reads: pods, namespaces, NetworkPolicies, its Node. */
async function grantKubeRouterAccess(rbac: RbacAuthorizationV1Api): Promise<void> {
  const name = "tradingbot-real-node:kube-router";
  const read = ["get", "list", "watch"];
  const clusterRole = {
    metadata: { name },
    rules: [
      { apiGroups: [""], resources: ["namespaces", "pods", "nodes", "services", "endpoints"], verbs: read },
      { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: read },
      { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: read },
    ],
  };
  const binding = {
    metadata: { name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: kubeRouterUser }],
  };
  await rbac.createClusterRole({ body: clusterRole }).catch(async () => {
    await rbac.replaceClusterRole({ name, body: clusterRole });
  });
  await rbac.createClusterRoleBinding({ body: binding }).catch(() => {});
}

/**
 * Says why this host cannot run containers, before anything is started: a node needs root (network
 * namespaces, mounts, cgroups), overlayfs (containerd's snapshotter), cgroup v1 hierarchies (the cgroupfs
 * driver), and the tools the node's components run.
 */
export async function checkHostCanRunContainers(): Promise<void> {
  const why: string[] = [];
  if (process.getuid?.() !== 0) {
    why.push(
      `it needs root (network namespaces, mounts, cgroups); this process runs as uid ${process.getuid?.()}`,
    );
  }
  if (!/\toverlay$/m.test(readFileSync("/proc/filesystems", "utf8"))) {
    why.push("the kernel has no overlayfs (containerd's snapshotter): modprobe overlay");
  }
  if (!existsSync(cgroupMount) || cgroupHierarchies().filter((h) => h !== "unified").length === 0) {
    why.push(`no cgroup v1 hierarchies under ${cgroupMount} (kubelet runs with the cgroupfs driver on them)`);
  }
  if (why.length > 0) throw new Error(`this host cannot run the real node's containers: ${why.join("; ")}`);
  await checkHostTools();
}

async function checkHostTools(): Promise<void> {
  for (const [tool, args, hint] of [
    ["ip", ["-V"], "the node's network namespace and veth are made with it: apt-get install iproute2"],
    [
      "nsenter",
      ["--version"],
      "the node's processes join its network namespace with it: apt-get install util-linux",
    ],
    ["iptables", ["--version"], "kube-proxy, CNI bridge and portmap need it: apt-get install iptables"],
    ["ipset", ["--version"], "kube-router's NetworkPolicy firewall needs it: apt-get install ipset"],
    ["gcc", ["--version"], "the pause image is compiled with it: apt-get install gcc libc6-dev"],
    ["go", ["version"], "the probe image is built with it"],
  ] as const) {
    await run(tool, [...args]).catch(() => {
      throw new Error(`the real node needs ${tool} on PATH: ${hint}`);
    });
  }
}

// --- configuration files ---

function containerdConfig(c: {
  socket: string;
  containerdRoot: string;
  containerdState: string;
  containerdOpt: string;
  runcRoot: string;
  runc: string;
  cniBin: string;
  cniConf: string;
}): string {
  const q = JSON.stringify;
  return `# containerd of the real node (test/cluster/real-node.ts)
version = 3
root = ${q(c.containerdRoot)}
state = ${q(c.containerdState)}
# The host's drop-ins are not this node's.
imports = []
# NRI would listen on the host-wide /var/run/nri/nri.sock.
disabled_plugins = ["io.containerd.nri.v1.nri"]

[grpc]
  address = ${q(c.socket)}

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(c.containerdOpt)}

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = ${q(pauseImage)}

[plugins."io.containerd.cri.v1.runtime"]
  # Pod network namespaces are mounted here rather than in the host-wide /var/run/netns.
  netns_mounts_under_state_dir = true
  # Without CAP_SYS_RESOURCE (some sandboxed hosts drop it even for root) no process may lower its
  # oom_score_adj, and runc would fail to start the pause container (kubelet asks -998 for it).
  restrict_oom_score_adj = ${!hasCapability(capSysResource)}
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = ${q(c.runc)}
        Root = ${q(c.runcRoot)}
        # kubelet's cgroupDriver is cgroupfs: this host has cgroup v1 and no systemd to delegate to.
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = [${q(c.cniBin)}]
    conf_dir = ${q(c.cniConf)}

[plugins."io.containerd.grpc.v1.cri"]
  # Serves exec/attach/port-forward streams to kubelet, inside the node namespace.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
`;
}

/** bridge + host-local (addresses kept under the node dir), then portmap; containerd adds loopback itself. */
function cniConfig(networkName: string, ipamDataDir: string): string {
  return `${JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: networkName,
      plugins: [
        {
          type: "bridge",
          bridge: "cni0",
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: realNodePodCIDR }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: ipamDataDir,
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

function kubeletConfig(c: {
  address: string;
  cgroupRoot: string;
  containerdSocket: string;
  clientCaFile: string;
  serving: KeyPair;
  podLogsDir: string;
}): string {
  return dump({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    // This host runs cgroup v1 (hybrid layout); kubelet 1.35+ refuses to start on v1 unless told so.
    failCgroupV1: false,
    cgroupDriver: "cgroupfs",
    // Pods go under a cgroup of this node only, so that two nodes on one machine never share `kubepods`.
    cgroupRoot: c.cgroupRoot,
    containerRuntimeEndpoint: `unix://${c.containerdSocket}`,
    address: c.address,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    tlsCertFile: c.serving.certPath,
    tlsPrivateKeyFile: c.serving.keyPath,
    // Only kube-apiserver (its kubelet client certificate) and whoever RBAC allows on nodes/proxy etc.
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: c.clientCaFile },
    },
    authorization: { mode: "Webhook" },
    registerWithTaints: [realNodeTaint],
    podLogsDir: c.podLogsDir,
    // A developer machine may have swap, and a nearly full disk must not taint the node mid-test.
    failSwapOn: false,
    evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
    // The images exist only in this containerd: they must never be garbage-collected.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    clusterDomain: "cluster.local",
    serializeImagePulls: false,
  });
}

function kubeProxyConfig(nodeName: string, kubeconfigPath: string): string {
  return dump({
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    mode: "iptables",
    hostnameOverride: nodeName,
    clientConnection: { kubeconfig: kubeconfigPath },
    clusterCIDR: realNodePodCIDR,
    // Inside the node namespace: its loopback is its own.
    metricsBindAddress: "127.0.0.1:10249",
    healthzBindAddress: "127.0.0.1:10256",
    // The conntrack table size and timeouts are the host's: left as they are.
    conntrack: { maxPerCore: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
    // A pod reaching a Service backed by a pod on the same bridge gets the reply through the node (and so
    // un-NATed) without depending on the host's br_netfilter settings.
    iptables: { masqueradeAll: true },
  });
}

const capSysResource = 24;

/** Whether this process has the capability in its effective set (bit number from linux/capability.h). */
function hasCapability(bit: number): boolean {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0";
  return ((BigInt(`0x${hex}`) >> BigInt(bit)) & 1n) === 1n;
}

// --- cgroups (v1: one hierarchy per controller under /sys/fs/cgroup) ---

const cgroupMount = "/sys/fs/cgroup";
const cgroupHierarchies = () =>
  readdirSync(cgroupMount).filter((entry) => existsSync(join(cgroupMount, entry, "cgroup.procs")));

/** kubelet requires its cgroupRoot to exist in every hierarchy; cpuset needs its cpus and mems filled in. */
function createCgroupRoot(cgroupRoot: string): void {
  for (const hierarchy of cgroupHierarchies()) {
    if (hierarchy === "unified") continue;
    const dir = join(cgroupMount, hierarchy, cgroupRoot);
    mkdirSync(dir, { recursive: true });
    if (existsSync(join(dir, "cpuset.cpus"))) {
      for (const file of ["cpuset.cpus", "cpuset.mems"]) {
        writeFileSync(join(dir, file), readFileSync(join(cgroupMount, hierarchy, file), "utf8"));
      }
    }
  }
}

function cgroupDirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
  return [...children.flatMap((e) => cgroupDirs(join(dir, e.name))), dir];
}

function cgroupProcesses(cgroupRoot: string): number[] {
  const pids = new Set<number>();
  for (const hierarchy of cgroupHierarchies()) {
    for (const dir of cgroupDirs(join(cgroupMount, hierarchy, cgroupRoot))) {
      for (const line of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) {
        if (line.trim()) pids.add(Number(line));
      }
    }
  }
  return [...pids];
}

/** Children first: a cgroup is removed with rmdir once it has no processes and no children. */
function removeCgroupRoot(cgroupRoot: string): void {
  for (const hierarchy of cgroupHierarchies()) {
    for (const dir of cgroupDirs(join(cgroupMount, hierarchy, cgroupRoot))) {
      try {
        rmdirSync(dir);
      } catch {}
    }
  }
}

function otherKubeletRunning(): boolean {
  return readdirSync("/proc").some((pid) => {
    try {
      return /^\d+$/.test(pid) && readlinkSync(`/proc/${pid}/exe`).endsWith("/kubelet");
    } catch {
      return false;
    }
  });
}

function shimsOf(containerdSocket: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        return args[0]?.endsWith("containerd-shim-runc-v2") && args.includes(containerdSocket);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Mount points at or below `dir`, from the host's mount table (octal escapes decoded). */
function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((mount): mount is string => mount !== undefined)
    .map((mount) =>
      mount.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))),
    )
    .filter((mount) => mount === dir || mount.startsWith(`${dir}/`));
}

const elapsed = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
