import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";

export interface HealthChecks {
  /** The process works: its event loop turns and its watches are not stuck. */
  live: () => boolean;
  /** Ready to serve: caches synced (a standby replica is ready too: it is warm for a failover). */
  ready: () => boolean;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

/** /healthz and /readyz; GET only, no body read, nothing else served. */
export async function startHealthServer(checks: HealthChecks, host: string, port: number) {
  const server = createServer((request, response) => {
    const check =
      request.url === "/healthz" ? checks.live : request.url === "/readyz" ? checks.ready : undefined;
    if (request.method !== "GET" || !check) {
      response.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    const ok = check();
    response.writeHead(ok ? 200 : 503, { "Content-Type": "text/plain" }).end(ok ? "ok\n" : "not ready\n");
  });
  return { server, port: await listen(server, port, host) };
}

/** /metrics in the Prometheus text format. */
export async function startMetricsServer(registry: Registry, host: string, port: number) {
  const server = createServer((request, response) => {
    if (request.method !== "GET" || request.url !== "/metrics") {
      response.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { "Content-Type": registry.contentType }).end(text),
      () => response.writeHead(500, { "Content-Type": "text/plain" }).end("metrics unavailable\n"),
    );
  });
  return { server, port: await listen(server, port, host) };
}
