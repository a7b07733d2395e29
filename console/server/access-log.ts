import type { FastifyRequest } from "fastify";
import fp from "fastify-plugin";

// One line per request: time, client IP, user, method, route, status and duration. Every 401 and 403
// is among them, which is what an auditor of the console reads. A live stream is logged when it ends.

export function logAccess(request: FastifyRequest, status: number, durationMs: number): void {
  request.log.info(
    {
      access: {
        time: new Date().toISOString(),
        ip: request.ip,
        user: request.session?.user ?? null,
        method: request.method,
        route: request.routeOptions.url ?? request.url.split("?")[0],
        status,
        durationMs: Math.round(durationMs),
      },
    },
    "request",
  );
}

export const accessLog = fp(
  async (app) => {
    app.addHook("onResponse", async (request, reply) =>
      logAccess(request, reply.statusCode, reply.elapsedTime),
    );
  },
  { name: "access-log" },
);
