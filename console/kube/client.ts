import { type ClientRequest, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent, request as httpsRequest, type RequestOptions } from "node:https";
import { KubeConfig } from "@kubernetes/client-node";

// The console's way to the API server. @kubernetes/client-node loads the credentials (a kubeconfig, or
// the in-cluster ServiceAccount files with their rotating token); the requests themselves go through
// node:https, because every per-user request must carry Impersonate-User and Impersonate-Group headers
// of its own, which the generated API clients cannot set per call.

/** The person a request is made as: the API server authorizes and audits it as them. */
export interface Impersonation {
  user: string;
  groups: readonly string[];
}

/** An answer of the API server that is not a success, with its own message (a Status object's). */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason?: string;

  constructor(status: number, message: string, reason?: string) {
    super(message);
    this.name = "KubeApiError";
    this.status = status;
    this.reason = reason;
  }
}

export interface KubeRequest {
  method?: "GET" | "POST" | "PATCH" | "DELETE";
  body?: unknown;
  contentType?: "application/json" | "application/merge-patch+json";
  as?: Impersonation;
  timeoutMs?: number;
}

export class KubeClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 32 });

  private readonly config: KubeConfig;

  private constructor(config: KubeConfig) {
    this.config = config;
  }

  /** From a kubeconfig file, or (without one) from the in-cluster ServiceAccount files. */
  static load(kubeconfigPath?: string): KubeClient {
    const config = new KubeConfig();
    if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
    else config.loadFromCluster();
    if (!config.getCurrentCluster()) {
      throw new Error(`--kubeconfig: ${kubeconfigPath ?? "in-cluster config"} names no current cluster`);
    }
    return new KubeClient(config);
  }

  close(): void {
    this.agent.destroy();
  }

  async request<T>(path: string, init: KubeRequest = {}): Promise<T> {
    const response = await this.send(path, init);
    const text = await readAll(response);
    const status = response.statusCode ?? 0;
    if (status < 200 || status > 299) throw errorFromResponse(status, text);
    return JSON.parse(text) as T;
  }

  /** A streaming GET (a watch): each line of the answer is handed to `onLine` until it ends or `signal` aborts. */
  async stream(path: string, onLine: (line: string) => void, signal: AbortSignal): Promise<void> {
    const response = await this.send(path, { timeoutMs: 0 }, signal);
    const status = response.statusCode ?? 0;
    if (status !== 200) throw errorFromResponse(status, await readAll(response));
    let buffered = "";
    response.setEncoding("utf8");
    await new Promise<void>((resolve, reject) => {
      response.on("data", (chunk: string) => {
        buffered += chunk;
        let newline = buffered.indexOf("\n");
        try {
          while (newline >= 0) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            if (line.trim() !== "") onLine(line);
            newline = buffered.indexOf("\n");
          }
        } catch (error) {
          response.destroy();
          reject(error);
        }
      });
      response.on("end", resolve);
      response.on("error", reject);
      response.on("close", resolve);
    });
  }

  private async send(path: string, init: KubeRequest, signal?: AbortSignal): Promise<IncomingMessage> {
    const server = this.config.getCurrentCluster()?.server;
    if (!server) throw new Error("kubeconfig: no current cluster");
    const options: RequestOptions = { headers: {} };
    await this.config.applyToHTTPSOptions(options);
    const url = new URL(path, server);
    const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
    const headers: Record<string, string | string[]> = {
      ...(options.headers as Record<string, string>),
      accept: "application/json",
    };
    if (payload !== undefined) headers["content-type"] = init.contentType ?? "application/json";
    if (init.as) {
      headers["impersonate-user"] = init.as.user;
      if (init.as.groups.length > 0) headers["impersonate-group"] = [...init.as.groups];
    }
    const send = url.protocol === "http:" ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      const req: ClientRequest = send(url, {
        ...options,
        agent: url.protocol === "http:" ? undefined : this.agent,
        method: init.method ?? "GET",
        headers,
        signal,
      });
      const timeoutMs = init.timeoutMs ?? 15_000;
      if (timeoutMs > 0) {
        req.setTimeout(timeoutMs, () =>
          req.destroy(new Error(`${init.method ?? "GET"} ${url.pathname}: no answer in ${timeoutMs} ms`)),
        );
      }
      req.on("response", resolve);
      req.on("error", reject);
      req.end(payload);
    });
  }
}

function readAll(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    response.on("error", reject);
  });
}

function errorFromResponse(status: number, text: string): KubeApiError {
  try {
    const body = JSON.parse(text) as { kind?: string; message?: string; reason?: string };
    if (body.kind === "Status" && body.message) return new KubeApiError(status, body.message, body.reason);
  } catch {
    // Not a Status object: fall through to the raw text.
  }
  return new KubeApiError(status, `the API server answered ${status}: ${text.slice(0, 300)}`);
}
