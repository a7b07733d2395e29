import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";
import type { RuntimeReport } from "../../api/v1alpha1/runtime-config.ts";
import type { Listen } from "../cli/flags.ts";

// /healthz (the process serves), /readyz (trading), /metrics (Prometheus) and /status (the RuntimeReport
// the operator mirrors into the TradingBot's status). GET and HEAD only, no request body, rate-limited:
// it is reachable from the operator and monitoring, and nothing on it changes anything.

const REQUESTS_PER_SECOND = 20;
const BURST = 40;

export type StatusSource = {
  report(): RuntimeReport;
  ready(): boolean;
  registry: Registry;
};

export type StatusServer = { port: number; close(): Promise<void> };

export async function startStatusServer(listen: Listen, source: StatusSource): Promise<StatusServer> {
  let tokens = BURST;
  let refilledAt = Date.now();
  const server: Server = createServer(async (request, response) => {
    const now = Date.now();
    tokens = Math.min(BURST, tokens + ((now - refilledAt) / 1000) * REQUESTS_PER_SECOND);
    refilledAt = now;
    const send = (status: number, type: string, body: string, headers: Record<string, string> = {}) => {
      response.writeHead(status, { "content-type": type, "cache-control": "no-store", ...headers });
      response.end(request.method === "HEAD" ? undefined : body);
    };
    if (tokens < 1) return send(429, "text/plain", "too many requests\n", { "retry-after": "1" });
    tokens -= 1;
    if (request.method !== "GET" && request.method !== "HEAD") {
      return send(405, "text/plain", "method not allowed\n", { allow: "GET, HEAD" });
    }
    const path = (request.url ?? "/").split("?")[0];
    switch (path) {
      case "/healthz":
        return send(200, "text/plain", "ok\n");
      case "/readyz":
        return source.ready() ? send(200, "text/plain", "ok\n") : send(503, "text/plain", "not trading\n");
      case "/status":
        return send(200, "application/json", `${JSON.stringify(source.report())}\n`);
      case "/metrics":
        return send(200, source.registry.contentType, await source.registry.metrics());
      default:
        return send(404, "text/plain", "not found\n");
    }
  });
  server.requestTimeout = 5_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : listen.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
