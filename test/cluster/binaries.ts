import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** Paths of the binaries that test/cluster/build-binaries.sh builds into the cache. */
export interface ControlPlaneBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  kwok: string;
  /** KWOK's default node and pod Stage manifests, copied from the same release. */
  kwokStagesDir: string;
  helm: string;
  versions: Record<string, string>;
}

/** Parses versions.env (KEY=value lines, `#` comments): the one place the pinned versions are written. */
export function parseVersions(text: string): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^\s*([A-Z_]+)=(\S+)\s*$/.exec(line);
    if (match?.[1] && match[2]) versions[match[1]] = match[2];
  }
  return versions;
}

export function binaryCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRADINGBOT_CACHE_DIR) return join(env.TRADINGBOT_CACHE_DIR, "bin");
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "tradingbot-operator", "bin");
}

/** Locates the cached binaries, or says how to build them. */
export function locateBinaries(env: NodeJS.ProcessEnv = process.env): ControlPlaneBinaries {
  const versions = parseVersions(readFileSync(new URL("./versions.env", import.meta.url), "utf8"));
  const dir = (name: string, key: string) => {
    const version = versions[key];
    if (!version) throw new Error(`test/cluster/versions.env has no ${key}`);
    return join(binaryCacheDir(env), `${name}-${version}`);
  };
  const kubernetes = dir("kubernetes", "KUBERNETES_VERSION");
  const kwok = dir("kwok", "KWOK_VERSION");
  const binaries: ControlPlaneBinaries = {
    etcd: join(dir("etcd", "ETCD_VERSION"), "etcd"),
    kubeApiserver: join(kubernetes, "kube-apiserver"),
    kubeControllerManager: join(kubernetes, "kube-controller-manager"),
    kubeScheduler: join(kubernetes, "kube-scheduler"),
    kubectl: join(kubernetes, "kubectl"),
    kwok: join(kwok, "kwok"),
    kwokStagesDir: join(kwok, "stages"),
    helm: join(dir("helm", "HELM_VERSION"), "helm"),
    versions,
  };
  const missing = Object.entries(binaries).filter(
    ([key, path]) => key !== "versions" && typeof path === "string" && !existsSync(path),
  );
  if (missing.length > 0) {
    throw new Error(
      `control-plane binaries are not built (missing ${missing.map(([, p]) => p).join(", ")}): run \`make cluster-binaries\``,
    );
  }
  return binaries;
}

/** Paths of the real node's binaries (test/cluster/real-node.ts), built by the same script. */
export interface NodeBinaries {
  kubelet: string;
  kubeProxy: string;
  containerd: string;
  /** containerd finds its shim on PATH: this folder. */
  containerdDir: string;
  ctr: string;
  runc: string;
  /** bridge, host-local, loopback, portmap. */
  cniPluginsDir: string;
  crictl: string;
  umoci: string;
  /** NetworkPolicy enforcement (its firewall controller only). */
  kubeRouter: string;
}

export function locateNodeBinaries(env: NodeJS.ProcessEnv = process.env): NodeBinaries {
  const { versions } = locateBinaries(env);
  const dir = (name: string, key: string) => join(binaryCacheDir(env), `${name}-${versions[key]}`);
  const kubernetes = dir("kubernetes", "KUBERNETES_VERSION");
  const containerdDir = dir("containerd", "CONTAINERD_VERSION");
  const cniPluginsDir = dir("cni-plugins", "CNI_PLUGINS_VERSION");
  const binaries: NodeBinaries = {
    kubelet: join(kubernetes, "kubelet"),
    kubeProxy: join(kubernetes, "kube-proxy"),
    containerd: join(containerdDir, "containerd"),
    containerdDir,
    ctr: join(containerdDir, "ctr"),
    runc: join(dir("runc", "RUNC_VERSION"), "runc"),
    cniPluginsDir,
    crictl: join(dir("cri-tools", "CRI_TOOLS_VERSION"), "crictl"),
    umoci: join(dir("umoci", "UMOCI_VERSION"), "umoci"),
    kubeRouter: join(dir("kube-router", "KUBE_ROUTER_VERSION"), "kube-router"),
  };
  const required = [
    ...Object.values(binaries),
    ...["bridge", "host-local", "loopback", "portmap"].map((p) => join(cniPluginsDir, p)),
  ];
  const missing = required.filter((path) => !existsSync(path));
  if (missing.length > 0) {
    throw new Error(
      `real-node binaries are not built (missing ${missing.join(", ")}): run \`make cluster-binaries\``,
    );
  }
  return binaries;
}
