import type { FastifyInstance, FastifyRequest } from "fastify";
import { isConnectionError } from "../../bot-runtime/store/database.ts";
import type { BotData } from "../db/bot-data.ts";
import { AUDIT_PAGE_DEFAULT, DEFAULT_CHART_RANGE_MS } from "../db/queries.ts";
import type { TradingApi } from "../kube/trading-api.ts";
import type { StoredTradingBot } from "../kube/views.ts";
import { personOf } from "./bot-routes.ts";
import { ServiceUnavailable } from "./error-replies.ts";
import { AuditQuery, BotParams, parseInput, SnapshotQuery } from "./inputs.ts";

// A bot's record in PostgreSQL (orders, fills, snapshots, risk events, the audit trail, its halts). The
// database role reads every bot's rows, so the person's right to see this bot is decided first, by the
// API server: the bot is read as the person (a 403 comes back as it is), and only its uid, from that
// answer, selects rows. The same answer's status.audit is the chain head the audit trail is held to.

export interface BotDataRouteOptions {
  trading: TradingApi;
  /** Absent when the console was started without `--database-credentials`. */
  data: BotData | undefined;
  now: () => number;
}

export async function botDataRoutes(app: FastifyInstance, options: BotDataRouteOptions): Promise<void> {
  const { trading, data } = options;

  /** The bot's uid once the API server let the person get it, then the read; database outages are 503s. */
  const read = async <T>(
    request: FastifyRequest,
    query: (data: BotData, botUid: string, bot: StoredTradingBot) => Promise<T>,
  ): Promise<T> => {
    const { namespace, name } = parseInput(BotParams, request.params, "path");
    if (data === undefined) {
      throw new ServiceUnavailable(
        "bot data: not configured; the console needs --database-credentials (the read-only role's Secret)",
      );
    }
    const bot = await trading.getBot(personOf(request), namespace, name);
    const uid = bot.metadata.uid;
    if (!uid) throw new Error(`the API server returned ${namespace}/${name} without a uid`);
    try {
      return await query(data, uid, bot);
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      request.log.warn({ err: error }, "bot data: the database is unreachable");
      throw new ServiceUnavailable("bot data: the database is unreachable; try again shortly");
    }
  };

  app.get("/api/bots/:namespace/:name/orders", async (request) => ({
    items: await read(request, (db, uid) => db.openOrders(uid)),
  }));

  app.get("/api/bots/:namespace/:name/fills", async (request) => ({
    items: await read(request, (db, uid) => db.recentFills(uid)),
  }));

  app.get("/api/bots/:namespace/:name/snapshots", async (request) => {
    const { since } = parseInput(SnapshotQuery, request.query, "query");
    const now = new Date(options.now());
    const from = since === undefined ? new Date(now.getTime() - DEFAULT_CHART_RANGE_MS) : new Date(since);
    return {
      since: from.toISOString(),
      items: await read(request, (db, uid) => db.snapshots(uid, from, now)),
    };
  });

  app.get("/api/bots/:namespace/:name/risk-events", async (request) => ({
    items: await read(request, (db, uid) => db.riskEvents(uid)),
  }));

  app.get("/api/bots/:namespace/:name/audit", async (request) => {
    const { before, limit } = parseInput(AuditQuery, request.query, "query");
    // The anchor comes from the same answer as the uid: what the API server holds, read as the person.
    return read(request, (db, uid, bot) =>
      db.auditPage(uid, before, limit ?? AUDIT_PAGE_DEFAULT, bot.status?.audit),
    );
  });

  app.get("/api/bots/:namespace/:name/halts", async (request) => ({
    items: await read(request, (db, uid) => db.halts(uid)),
  }));
}
