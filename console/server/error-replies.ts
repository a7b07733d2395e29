import type { FastifyError } from "fastify";
import fp from "fastify-plugin";
import { KubeApiError } from "../kube/client.ts";

// Every refusal answers `{ "error": "<what, naming the field or the reason>" }`. The API server's own
// refusals (a 403 from RBAC or an admission policy, a 404, a conflict) pass through with its message;
// anything unexpected is logged and answered without detail.

const FASTIFY_MESSAGES: Record<string, (error: FastifyError) => string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => "body: larger than the 16 KiB limit",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => "content-type: must be application/json",
  FST_ERR_CTP_EMPTY_JSON_BODY: () => "body: empty; send a JSON object",
  FST_ERR_CTP_INVALID_JSON_BODY: () => "body: not valid JSON",
};

/** A refusal that is nobody's fault (a part the console needs is missing or away): its message is shown. */
export class ServiceUnavailable extends Error {
  readonly statusCode = 503;
}

export const errorReplies = fp(
  async (app) => {
    app.setErrorHandler(async (error: FastifyError, request, reply) => {
      if (error instanceof KubeApiError) {
        const status = error.status >= 500 ? 502 : error.status;
        if (status === 502) request.log.error({ err: error }, "the API server failed a request");
        return reply.code(status).send({ error: error.message });
      }
      if (error instanceof ServiceUnavailable) return reply.code(503).send({ error: error.message });
      const status = error.statusCode ?? 500;
      if (status >= 500) {
        request.log.error({ err: error }, "request failed");
        return reply.code(500).send({ error: "internal error; see the console's log" });
      }
      const message = (error.code && FASTIFY_MESSAGES[error.code]?.(error)) ?? error.message;
      if (status === 429 && typeof (error as { retryAfter?: number }).retryAfter === "number") {
        reply.header("retry-after", String((error as { retryAfter?: number }).retryAfter));
      }
      return reply.code(status).send({ error: message });
    });
    app.setNotFoundHandler(async (request, reply) =>
      reply
        .code(404)
        .send({ error: `not found: ${request.method} ${request.url.split("?")[0]?.slice(0, 200)}` }),
    );
  },
  { name: "error-replies" },
);
