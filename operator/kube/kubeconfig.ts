import { existsSync, readFileSync } from "node:fs";
import { isIPv6 } from "node:net";
import { dirname, isAbsolute, resolve } from "node:path";
import { load } from "js-yaml";

// Where the API server is and how to authenticate: the current context of a kubeconfig file, or the
// in-cluster service account. Tokens, token files and client certificates are read here directly;
// credentials only a plugin can produce (exec, auth-provider) are obtained through
// @kubernetes/client-node's KubeConfig, which is loaded only then (it costs ~80 MB of memory, more than
// the operator's whole cache of a thousand bots).

export interface ConnectionSettings {
  server: URL;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean; servername?: string };
  headers: Record<string, string>;
}

/** Fresh settings on each call: token files are re-read, so rotated tokens are picked up. */
export type ConnectionSource = () => Promise<ConnectionSettings>;

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

interface KubeconfigFile {
  "current-context"?: string;
  clusters?: { name: string; cluster: Record<string, unknown> }[];
  users?: { name: string; user: Record<string, unknown> }[];
  contexts?: { name: string; context: { cluster: string; user: string } }[];
}

function fileOrData(base: string, file: unknown, data: unknown): Buffer | undefined {
  if (typeof data === "string" && data !== "") return Buffer.from(data, "base64");
  if (typeof file === "string" && file !== "")
    return readFileSync(isAbsolute(file) ? file : resolve(base, file));
  return undefined;
}

function inCluster(): ConnectionSource {
  const host = process.env.KUBERNETES_SERVICE_HOST as string;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? "443";
  const server = new URL(`https://${isIPv6(host) ? `[${host}]` : host}:${port}`);
  const ca = readFileSync(`${SERVICE_ACCOUNT_DIR}/ca.crt`);
  return async () => ({
    server,
    tls: { ca },
    headers: { Authorization: `Bearer ${readFileSync(`${SERVICE_ACCOUNT_DIR}/token`, "utf8").trim()}` },
  });
}

function fromFile(path: string): ConnectionSource {
  const config = load(readFileSync(path, "utf8")) as KubeconfigFile;
  const base = dirname(resolve(path));
  const contextName = config["current-context"];
  const context = config.contexts?.find((c) => c.name === contextName)?.context;
  if (!context) throw new Error(`kubeconfig ${path}: no current-context (or it names no context)`);
  const cluster = config.clusters?.find((c) => c.name === context.cluster)?.cluster;
  const user = config.users?.find((u) => u.name === context.user)?.user ?? {};
  if (!cluster || typeof cluster.server !== "string") {
    throw new Error(`kubeconfig ${path}: cluster ${context.cluster} has no server`);
  }
  if (cluster["proxy-url"] || user.exec || user["auth-provider"]) return viaClientNode(path);
  const server = new URL(cluster.server);
  const tls: ConnectionSettings["tls"] = {
    ca: fileOrData(base, cluster["certificate-authority"], cluster["certificate-authority-data"]),
    cert: fileOrData(base, user["client-certificate"], user["client-certificate-data"]),
    key: fileOrData(base, user["client-key"], user["client-key-data"]),
  };
  if (cluster["insecure-skip-tls-verify"] === true) tls.rejectUnauthorized = false;
  if (typeof cluster["tls-server-name"] === "string") tls.servername = cluster["tls-server-name"];
  const token = typeof user.token === "string" ? user.token : undefined;
  const tokenFile = typeof user.tokenFile === "string" ? user.tokenFile : undefined;
  const basic =
    typeof user.username === "string" && typeof user.password === "string"
      ? `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}`
      : undefined;
  return async () => {
    const headers: Record<string, string> = {};
    const bearer = tokenFile ? readFileSync(resolve(base, tokenFile), "utf8").trim() : token;
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    else if (basic) headers.Authorization = basic;
    return { server, tls, headers };
  };
}

/** Plugin credentials (exec, auth-provider) and proxies, through client-node's KubeConfig. */
function viaClientNode(path: string): ConnectionSource {
  return async () => {
    const { KubeConfig } = await import("@kubernetes/client-node");
    const config = new KubeConfig();
    config.loadFromFile(path);
    const options: {
      ca?: Buffer;
      cert?: Buffer;
      key?: Buffer;
      rejectUnauthorized?: boolean;
      servername?: string;
      headers?: Record<string, unknown>;
    } = {};
    await config.applyToHTTPSOptions(options as never);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) headers[name] = String(value);
    return {
      server: new URL(config.getCurrentCluster()?.server ?? ""),
      tls: {
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        rejectUnauthorized: options.rejectUnauthorized,
        servername: options.servername,
      },
      headers,
    };
  };
}

/**
 * The connection of `--kubeconfig`, else of $KUBECONFIG (its first file), else in-cluster, else
 * ~/.kube/config — the order kubectl and controller-runtime use.
 */
export function loadConnection(
  kubeconfigPath: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ConnectionSource {
  if (kubeconfigPath) return fromFile(kubeconfigPath);
  const fromEnv = env.KUBECONFIG?.split(":").find((p) => p !== "");
  if (fromEnv) return fromFile(fromEnv);
  if (env.KUBERNETES_SERVICE_HOST) return inCluster();
  const home = resolve(env.HOME ?? "/", ".kube", "config");
  if (existsSync(home)) return fromFile(home);
  throw new Error("no Kubernetes connection: pass --kubeconfig, set KUBECONFIG, or run in a cluster");
}
