import type { FastifyInstance, FastifyRequest } from "fastify";
import type { BotFeed } from "../kube/bot-feed.ts";
import type { Impersonation } from "../kube/client.ts";
import type { TradingApi } from "../kube/trading-api.ts";
import { botSummary, type StoredTradingBot } from "../kube/views.ts";
import { AcknowledgeBody, BotListQuery, BotParams, EmptyBody, HaltBody, parseInput } from "./inputs.ts";
import type { NamespaceAccess } from "./namespace-access.ts";

// TradingBots, read and halted as the person: the API server's RBAC and admission policies decide, and
// its 403 comes back with its own message.

export interface BotRouteOptions {
  trading: TradingApi;
  feed: BotFeed;
  namespaceAccess: NamespaceAccess;
}

/** The person a request is made as. */
export function personOf(request: FastifyRequest): Impersonation {
  const session = request.session;
  if (!session) throw new Error("a person's route was reached without a session");
  return { user: session.user, groups: session.groups };
}

export async function botRoutes(app: FastifyInstance, options: BotRouteOptions): Promise<void> {
  const { trading } = options;

  app.get("/api/bots", async (request) => {
    const query = parseInput(BotListQuery, request.query, "query");
    const as = personOf(request);
    let bots: StoredTradingBot[];
    if (query.namespace) {
      bots = await trading.listBots(as, query.namespace);
    } else if (await options.namespaceAccess.mayListEverywhere(request)) {
      bots = await trading.listBots(as);
    } else {
      // A person bound in some namespaces only: the shared watch's bots of the namespaces they may list.
      const visible = await options.namespaceAccess.listableOf(request, options.feed.namespaces());
      bots = options.feed.snapshot().filter((bot) => visible.has(bot.metadata.namespace ?? ""));
    }
    const items = bots.map(botSummary).filter((bot) => !query.phase || bot.phase === query.phase);
    items.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    return { items };
  });

  app.get("/api/bots/:namespace/:name", async (request) => {
    const { namespace, name } = parseInput(BotParams, request.params, "path");
    return botSummary(await trading.getBot(personOf(request), namespace, name));
  });

  app.get("/api/bots/:namespace/:name/permissions", async (request) => {
    const { namespace, name } = parseInput(BotParams, request.params, "path");
    // Halting, resuming and acknowledging are all a patch of spec.killSwitch: one review answers them.
    const patch = await trading.allowed(personOf(request), {
      verb: "patch",
      resource: "tradingbots",
      namespace,
      name,
    });
    return { halt: patch, resume: patch, acknowledge: patch };
  });

  app.post("/api/bots/:namespace/:name/halt", async (request) => {
    const { namespace, name } = parseInput(BotParams, request.params, "path");
    const { reason } = parseInput(HaltBody, request.body, "body");
    return botSummary(
      await trading.patchBotKillSwitch(personOf(request), namespace, name, { engaged: true, reason }),
    );
  });

  app.post("/api/bots/:namespace/:name/resume", async (request) => {
    const { namespace, name } = parseInput(BotParams, request.params, "path");
    parseInput(EmptyBody, request.body, "body");
    return botSummary(
      await trading.patchBotKillSwitch(personOf(request), namespace, name, { engaged: false }),
    );
  });

  app.post("/api/bots/:namespace/:name/acknowledge", async (request) => {
    const { namespace, name } = parseInput(BotParams, request.params, "path");
    const { haltId } = parseInput(AcknowledgeBody, request.body, "body");
    return botSummary(
      await trading.patchBotKillSwitch(personOf(request), namespace, name, { acknowledgeHalt: haltId }),
    );
  });
}
