// Assertions the bot-runtime suites share, and their database on the run's shared PostgreSQL server.
import type pg from "pg";
import { expect } from "vitest";
import { type AuditEntry, auditRowHash } from "../../bot-runtime/store/audit-chain.ts";
import type { ExchangeSim } from "../../exchange-sim/index.ts";
import { postgresContext } from "../support/context.ts";
import {
  type BotDatabase,
  botRows,
  createBotDatabase,
  runCli,
  type SimAccount,
  simOrders,
  simTrades,
} from "./fixtures.ts";

/** A database of its own for a suite, on the shared server of the run. */
export function createSuiteDatabase(prefix: string): Promise<BotDatabase> {
  return createBotDatabase(prefix, postgresContext());
}

/**
 * The database tells the same story as the exchange: every order the simulator has under this bot's ids is
 * in the database with the same exchange id, state and filled amount; every trade of those orders is a
 * fill with the same price, amount and fee; every fill and every cancellation has exactly one audit row.
 */
export async function expectDatabaseMatchesExchange(
  db: BotDatabase,
  sim: ExchangeSim,
  account: SimAccount,
  botUid: string,
): Promise<Awaited<ReturnType<typeof botRows>>> {
  const client = await db.admin();
  try {
    const rows = await botRows(client, botUid);
    const exchangeOrders = simOrders(sim, account.apiKey);
    const databaseOrders = rows.orders
      .filter((order) => order.exchange_order_id !== null)
      .map((order) => ({
        client_order_id: order.client_order_id,
        exchange_order_id: order.exchange_order_id,
        status: order.status,
        side: order.side,
        filled: order.filled,
      }));
    const byExchangeId = (a: { exchange_order_id: string | null }, b: { exchange_order_id: string | null }) =>
      Number(a.exchange_order_id) - Number(b.exchange_order_id);
    expect(databaseOrders.sort(byExchangeId)).toEqual(exchangeOrders.sort(byExchangeId));
    const unsent = rows.orders.filter((order) => order.exchange_order_id === null);
    for (const order of unsent) expect(["not_placed", "rejected"]).toContain(order.status);

    const exchangeTrades = simTrades(sim, account.apiKey);
    const clientIdOf = new Map(
      exchangeOrders.map((order) => [order.exchange_order_id, order.client_order_id]),
    );
    expect(
      rows.fills.map(({ trade_id, client_order_id, side, price, amount, fee }) => ({
        trade_id,
        client_order_id,
        side,
        price,
        amount,
        fee,
      })),
    ).toEqual(
      exchangeTrades
        .sort((a, b) => Number(a.trade_id) - Number(b.trade_id))
        .map(({ trade_id, exchange_order_id, side, price, amount, fee }) => ({
          trade_id,
          client_order_id: clientIdOf.get(exchange_order_id),
          side,
          price,
          amount,
          fee,
        })),
    );

    const audited = (event: string, key: string) =>
      rows.audit.filter((row) => row.event === event).map((row) => String(row.payload[key]));
    expect(audited("fill", "tradeId").sort()).toEqual(rows.fills.map((fill) => fill.trade_id).sort());
    const cancelled = rows.orders
      .filter((order) => order.status === "canceled")
      .map((order) => order.client_order_id);
    // Exactly one audit row per cancelled order.
    expect(audited("order_cancelled", "clientOrderId").sort()).toEqual(cancelled.sort());
    const submitted = new Set(audited("order_submitted", "clientOrderId"));
    for (const order of rows.orders)
      expect(
        submitted.has(order.client_order_id) ||
          audited("order_adopted", "clientOrderId").includes(order.client_order_id),
      ).toBe(true);
    return rows;
  } finally {
    await client.end();
  }
}

export async function expectAuditChainIntact(db: BotDatabase): Promise<void> {
  const verify = await runCli(["audit", "verify", "--database-credentials", db.tradingCredentials]);
  expect(verify.output).not.toContain("BROKEN");
  expect(verify.code).toBe(0);
}

/**
 * What an attacker with the owner's rights does to hide an edit: changes the payload of the audit row at
 * `fromSeq` and recomputes its hash and every later one with the chain's own function, so the chain checks
 * out against itself. `client` must already be past the append-only trigger (disabled, or replica mode).
 */
export async function rewriteAuditChainFrom(
  client: pg.Client,
  botUid: string,
  fromSeq: number,
): Promise<void> {
  await client.query(
    `UPDATE tradingbot.audit_log SET payload = payload || '{"rewritten": "by the owner"}'::jsonb
      WHERE bot_uid = $1 AND seq = $2`,
    [botUid, fromSeq],
  );
  const { rows } = await client.query<{
    id: string;
    bot_namespace: string;
    bot_name: string;
    seq: string;
    at: Date;
    event: string;
    payload: AuditEntry["payload"];
    prev_hash: string;
  }>(
    `SELECT id, bot_namespace, bot_name, seq, at, event, payload, prev_hash FROM tradingbot.audit_log
      WHERE bot_uid = $1 AND seq >= $2 ORDER BY seq`,
    [botUid, fromSeq],
  );
  let prev = rows[0]?.prev_hash as string;
  for (const row of rows) {
    const entry: AuditEntry = {
      bot: { namespace: row.bot_namespace, name: row.bot_name, uid: botUid },
      seq: Number(row.seq),
      at: row.at.toISOString(),
      event: row.event,
      payload: row.payload,
    };
    const hash = auditRowHash(prev, entry);
    await client.query("UPDATE tradingbot.audit_log SET prev_hash = $2, row_hash = $3 WHERE id = $1", [
      row.id,
      prev,
      hash,
    ]);
    prev = hash;
  }
}
