import rateLimit from "@fastify/rate-limit";
import Fastify from "fastify";
import { Counter, collectDefaultMetrics, Registry } from "prom-client";

// The console's metrics, served on a port of their own (--metrics-listen), so they are scraped inside
// the cluster and never exposed where the console's pages are.

export type LoginFailureReason = "unknown_user" | "wrong_password" | "locked_out";

export class ConsoleMetrics {
  readonly registry = new Registry();
  readonly loginFailures = new Counter({
    name: "tradingbot_console_login_failures_total",
    help: "Refused logins, by reason: unknown_user, wrong_password, locked_out.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }
}

export async function buildMetricsApp(metrics: ConsoleMetrics) {
  const app = Fastify({ logger: false });
  await app.register(rateLimit, { global: true, max: 120, timeWindow: "1 minute" });
  app.get("/metrics", async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  return app;
}
