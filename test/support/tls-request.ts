import { request } from "node:https";

export interface TlsClientOptions {
  /** PEM of the CA that signed the server certificate. */
  ca: string;
  /** PEM client certificate and key, for servers that authenticate clients by certificate. */
  cert?: string;
  key?: string;
}

export interface TlsResponse {
  status: number;
  body: string;
}

/** One HTTPS request with a pinned CA and an optional client certificate; resolves with status and body. */
export function tlsRequest(
  url: string,
  tls: TlsClientOptions,
  init: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<TlsResponse> {
  const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: init.method ?? "GET",
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        timeout: init.timeoutMs ?? 10_000,
        headers: payload === undefined ? {} : { "content-type": "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${init.method ?? "GET"} ${url} timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}
