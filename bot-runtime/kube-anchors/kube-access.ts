import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { dirname, isAbsolute, resolve } from "node:path";
import { load } from "js-yaml";
import { inClusterEndpoint } from "../halt-watch/kube-watch.ts";

// Read access to the API server for `bot-runtime audit verify --anchors`, without @kubernetes/client-node
// (the runtime's bundle stays small): the pod's ServiceAccount, or the current context of a kubeconfig
// that authenticates with a bearer token or a client certificate. Credentials a plugin produces (exec,
// auth-provider) are refused with what to use instead.

/** Where the pod's ServiceAccount token and CA are mounted. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface KubeAccess {
  server: URL;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean; servername?: string };
  token?: string;
  /** Where the access came from, for messages: `kubeconfig FILE (context C)` or `the pod's ServiceAccount`. */
  origin: string;
  /** Credential values, for the caller to scrub from whatever it prints. */
  secrets: string[];
}

export class KubeAccessError extends Error {
  override name = "KubeAccessError";
}

/** The pod's ServiceAccount: the token and CA files of `dir`, the API server from the service variables. */
export function inClusterAccess(dir = SERVICE_ACCOUNT_DIR, env: NodeJS.ProcessEnv = process.env): KubeAccess {
  let endpoint: ReturnType<typeof inClusterEndpoint>;
  try {
    endpoint = inClusterEndpoint(dir, env);
  } catch (error) {
    throw new KubeAccessError(`${(error as Error).message}; outside a pod, give --kubeconfig FILE`, {
      cause: error,
    });
  }
  const token = endpoint.token();
  return {
    server: new URL(endpoint.url),
    tls: { ...(endpoint.ca === undefined ? {} : { ca: endpoint.ca }), rejectUnauthorized: true },
    token,
    origin: "the pod's ServiceAccount",
    secrets: [token],
  };
}

type Entry = Record<string, unknown>;
type Kubeconfig = {
  "current-context"?: unknown;
  clusters?: { name?: unknown; cluster?: Entry }[];
  users?: { name?: unknown; user?: Entry }[];
  contexts?: { name?: unknown; context?: Entry }[];
};

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;

/** The current context of a kubeconfig file: its cluster's server and CA, its user's token or certificate. */
export function kubeconfigAccess(path: string): KubeAccess {
  let config: Kubeconfig;
  try {
    config = (load(readFileSync(path, "utf8")) ?? {}) as Kubeconfig;
  } catch (error) {
    throw new KubeAccessError(`kubeconfig ${path}: ${(error as Error).message.split("\n")[0]}`, {
      cause: error,
    });
  }
  const base = dirname(resolve(path));
  const fail = (message: string): never => {
    throw new KubeAccessError(`kubeconfig ${path}: ${message}`);
  };
  const contextName = text(config["current-context"]) ?? fail("no current-context");
  const context =
    config.contexts?.find((c) => c.name === contextName)?.context ??
    fail(`current-context ${contextName} names no context`);
  const clusterName = text(context.cluster) ?? fail(`context ${contextName} names no cluster`);
  const cluster =
    config.clusters?.find((c) => c.name === clusterName)?.cluster ??
    fail(`context ${contextName} names cluster ${clusterName}, which is not in the file`);
  const userName = text(context.user);
  const user =
    (userName === undefined ? undefined : config.users?.find((u) => u.name === userName)?.user) ?? {};
  const who = `user ${userName ?? "(none)"}`;

  const read = (what: string, file: unknown, data: unknown): Buffer | undefined => {
    const inline = text(data);
    if (inline !== undefined) return Buffer.from(inline, "base64");
    const name = text(file);
    if (name === undefined) return undefined;
    const full = isAbsolute(name) ? name : resolve(base, name);
    try {
      return readFileSync(full);
    } catch {
      return fail(`cannot read the ${what} file ${full}`);
    }
  };

  const serverText = text(cluster.server) ?? fail(`cluster ${clusterName} has no server`);
  let server: URL;
  try {
    server = new URL(serverText);
  } catch {
    return fail(`cluster ${clusterName} has a server that is not a URL: ${JSON.stringify(serverText)}`);
  }
  if (text(cluster["proxy-url"]) !== undefined) {
    fail(`cluster ${clusterName} is reached through a proxy-url, which this command does not support`);
  }
  if (user.exec !== undefined || user["auth-provider"] !== undefined) {
    fail(
      `${who} gets its credentials from a plugin (exec or auth-provider), which this command does not run: ` +
        "use a kubeconfig with a token (such as one from `kubectl create token`) or a client certificate",
    );
  }
  const ca = read(
    "certificate-authority",
    cluster["certificate-authority"],
    cluster["certificate-authority-data"],
  );
  const cert = read("client-certificate", user["client-certificate"], user["client-certificate-data"]);
  const key = read("client-key", user["client-key"], user["client-key-data"]);
  const tokenFile = read("tokenFile", user.tokenFile, undefined);
  const token = text(user.token) ?? tokenFile?.toString("utf8").trim();
  if ((cert === undefined) !== (key === undefined)) {
    fail(`${who} has a client certificate without its key, or a key without its certificate`);
  }
  if (token === undefined && cert === undefined) {
    fail(`${who} has neither a token (token, tokenFile) nor a client certificate and key`);
  }
  const servername = text(cluster["tls-server-name"]);
  return {
    server,
    tls: {
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      rejectUnauthorized: cluster["insecure-skip-tls-verify"] !== true,
      ...(servername === undefined ? {} : { servername }),
    },
    ...(token === undefined ? {} : { token }),
    origin: `kubeconfig ${path} (context ${contextName})`,
    secrets: [...(token === undefined ? [] : [token]), ...(key === undefined ? [] : [key.toString("utf8")])],
  };
}

/** An API server's refusal, with its status and the server's message (which carries no credential). */
export class KubeRequestError extends Error {
  override name = "KubeRequestError";
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const REQUEST_TIMEOUT_MS = 15_000;
const MAX_BODY_BYTES = 64 * 1024 * 1024;

function serverMessage(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: unknown };
    if (typeof status.message === "string") return status.message;
  } catch {}
  return body.trim().slice(0, 200) || "(empty body)";
}

/** GET `path` as JSON; undefined for 404. Any other refusal throws a KubeRequestError naming the request. */
export function kubeGet<T>(access: KubeAccess, path: string): Promise<T | undefined> {
  const url = new URL(path, access.server);
  const transport = url.protocol === "https:" ? https : http;
  const headers: Record<string, string> = { accept: "application/json" };
  if (access.token !== undefined) headers.authorization = `Bearer ${access.token}`;
  return new Promise((resolvePromise, reject) => {
    const request = transport.request(
      url,
      { method: "GET", headers, ...access.tls, agent: false, timeout: REQUEST_TIMEOUT_MS },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) request.destroy(new Error(`GET ${url.pathname}: answer too large`));
          else chunks.push(chunk);
        });
        response.on("error", reject);
        response.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          const status = response.statusCode ?? 0;
          if (status === 404) return resolvePromise(undefined);
          if (status !== 200) {
            return reject(
              new KubeRequestError(status, `GET ${url.pathname}: HTTP ${status}: ${serverMessage(body)}`),
            );
          }
          try {
            resolvePromise(JSON.parse(body) as T);
          } catch {
            reject(new Error(`GET ${url.pathname}: the answer is not JSON`));
          }
        });
      },
    );
    request.on("timeout", () =>
      request.destroy(
        new Error(`GET ${url.pathname}: no answer from ${url.host} in ${REQUEST_TIMEOUT_MS / 1000} s`),
      ),
    );
    request.on("error", (error: Error) =>
      reject(
        error.message.startsWith("GET ")
          ? error
          : new Error(`GET ${url.pathname} at ${url.host}: ${error.message}`),
      ),
    );
    request.end();
  });
}
