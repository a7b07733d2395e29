import rateLimit from "@fastify/rate-limit";
import Fastify from "fastify";
import { Counter, collectDefaultMetrics, Registry } from "prom-client";

// The console's metrics, served on a port of their own (--metrics-listen), so they are scraped inside
// the cluster and never exposed where the console's pages are.

import type { OidcFlowFailure } from "./oidc-client.ts";
import type { OidcIdentityRefusal } from "./oidc-identity.ts";

export type LoginFailureReason =
  | "unknown_user"
  | "wrong_password"
  | "locked_out"
  | "oidc_bad_state"
  | "oidc_replayed"
  | OidcFlowFailure
  | OidcIdentityRefusal;

export class ConsoleMetrics {
  readonly registry = new Registry();
  readonly loginFailures = new Counter({
    name: "tradingbot_console_login_failures_total",
    help: "Refused logins, by reason: unknown_user, wrong_password, locked_out, and the oidc_* reasons of sign-ins through the OIDC issuer.",
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
