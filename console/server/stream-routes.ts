import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import type { BotChange, BotFeed } from "../kube/bot-feed.ts";
import { botSummary } from "../kube/views.ts";
import { logAccess } from "./access-log.ts";
import { checkOf, type NamespaceAccess } from "./namespace-access.ts";

// Live updates as Server-Sent Events: `event: ready`, then the bots the person may see as upserts (so a
// page that loaded its list a moment before misses nothing), then every change. Each connection is sent
// only bots of namespaces the person may list. A comment line every 15 s keeps proxies from closing it.
// The stream is not activity of its own: at each heartbeat it ends once the session was logged out (in
// any tab), has seen no other request for 30 minutes, or is 12 hours old. The page's reconnect then meets
// the login.

export interface StreamOptions {
  feed: BotFeed;
  namespaceAccess: NamespaceAccess;
  heartbeatMs: number;
  now: () => number;
}

export async function streamRoutes(app: FastifyInstance, options: StreamOptions): Promise<void> {
  const open = new Set<ServerResponse>();
  app.addHook("preClose", async () => {
    for (const raw of open) raw.end();
  });

  app.get("/api/stream", async (request, reply) => {
    const check = checkOf(request);
    const session = request.session;
    const openedAt = options.now();
    reply.hijack();
    const raw = reply.raw;
    open.add(raw);
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    });
    const write = (text: string) => {
      if (!raw.destroyed) raw.write(text);
    };
    // Changes are sent in the order they happened, each after its namespace was checked.
    let queue = Promise.resolve();
    const send = (change: BotChange) => {
      queue = queue.then(async () => {
        if (await options.namespaceAccess.mayList(check, change.bot.metadata.namespace ?? "")) {
          write(
            `event: bot\ndata: ${JSON.stringify({ type: change.type, bot: botSummary(change.bot) })}\n\n`,
          );
        }
      });
    };
    write("event: ready\ndata: {}\n\n");
    for (const bot of options.feed.snapshot()) send({ type: "upsert", bot });
    const unsubscribe = options.feed.subscribe(send);
    const heartbeat = setInterval(() => {
      if (session && !app.sessionLive(session)) raw.end();
      else write(": heartbeat\n\n");
    }, options.heartbeatMs);
    raw.on("close", () => {
      open.delete(raw);
      clearInterval(heartbeat);
      unsubscribe();
      logAccess(request, 200, options.now() - openedAt);
    });
  });
}
