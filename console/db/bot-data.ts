import pg from "pg";
import { readDatabaseCredentials } from "../../bot-runtime/config/credentials.ts";
import { auditChainFacts } from "../../bot-runtime/store/audit-verify.ts";
import { inTransaction, poolConfig } from "../../bot-runtime/store/database.ts";
import {
  auditPageStatement,
  chainCheck,
  haltsStatement,
  openOrdersStatement,
  recentFillsStatement,
  riskEventsStatement,
  type Statement,
  snapshotsStatement,
  statusAnchor,
} from "./queries.ts";
import {
  type AuditPage,
  type AuditRow,
  auditPage,
  type FillRow,
  type FillView,
  fillView,
  type HaltView,
  haltView,
  type OrderRow,
  type OrderView,
  orderView,
  type RiskEventRow,
  type RiskEventView,
  riskEventView,
  type SnapshotPoint,
  type SnapshotRow,
  snapshotPoint,
} from "./views.ts";

// A bot's record as the console reads it: through the read-only role `bot-runtime migrate` grants
// (`--console-role`), over the same TLS settings as the runtime (the same Secret layout). The caller has
// already resolved the bot through the API server as the person; here it is only a uid.

export class BotData {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** A pool from a database Secret's folder (host, port, database, user, password, sslmode, ca.crt). */
  static open(credentialsDir: string): BotData {
    const credentials = readDatabaseCredentials(credentialsDir);
    return new BotData(
      new pg.Pool({
        ...poolConfig(credentials, "tradingbot-console"),
        // Besides the role's grants: every transaction of this session is read-only.
        options: "-c default_transaction_read_only=on",
      }),
    );
  }

  async #rows<R extends pg.QueryResultRow>(statement: Statement): Promise<R[]> {
    return (await this.#pool.query<R>(statement.text, statement.values)).rows;
  }

  async openOrders(botUid: string): Promise<OrderView[]> {
    return (await this.#rows<OrderRow>(openOrdersStatement(botUid))).map(orderView);
  }

  async recentFills(botUid: string): Promise<FillView[]> {
    return (await this.#rows<FillRow>(recentFillsStatement(botUid))).map(fillView);
  }

  async snapshots(botUid: string, since: Date, now: Date): Promise<SnapshotPoint[]> {
    return (await this.#rows<SnapshotRow>(snapshotsStatement(botUid, since, now))).map(snapshotPoint);
  }

  async riskEvents(botUid: string): Promise<RiskEventView[]> {
    return (await this.#rows<RiskEventRow>(riskEventsStatement(botUid))).map(riskEventView);
  }

  async halts(botUid: string): Promise<HaltView[]> {
    return (await this.#rows<AuditRow>(haltsStatement(botUid))).map(haltView);
  }

  /**
   * A page of the audit trail, newest first. The first page (no `before`) also carries the check of the
   * whole chain, read in the same snapshot as the page, so the two agree, and its comparison with
   * `statusAudit`, the TradingBot's status.audit as the API server returned it to the person. That was
   * read before this snapshot began, so every row it anchors was committed before it.
   */
  async auditPage(
    botUid: string,
    before: number | undefined,
    limit: number,
    statusAudit: unknown,
  ): Promise<AuditPage> {
    // One read-only snapshot: the page and the chain check see the same rows.
    return inTransaction(
      this.#pool,
      async (client) => {
        const statement = auditPageStatement(botUid, before, limit);
        const page = auditPage((await client.query<AuditRow>(statement.text, statement.values)).rows, limit);
        if (before !== undefined) return page;
        const anchor = statusAnchor(statusAudit);
        const sequences = typeof anchor === "object" ? [anchor.sequence] : [];
        return { ...page, chain: chainCheck(await auditChainFacts(client, botUid, sequences), anchor) };
      },
      "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    );
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
