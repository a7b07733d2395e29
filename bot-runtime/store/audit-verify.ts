import type pg from "pg";
import { type ChainAnchor, type ChainVerdict, type StoredAuditRow, verifyChain } from "./audit-chain.ts";
import { SCHEMA } from "./database.ts";

// `bot-runtime audit verify`: reads each bot's chain in seq order, page by page, and checks it.

const PAGE_ROWS = 5_000;

export type ChainReport = { namespace: string; name: string; uid: string; verdict: ChainVerdict };

type AuditRow = {
  id: string;
  bot_namespace: string;
  bot_name: string;
  bot_uid: string;
  seq: string;
  at: Date;
  event: string;
  payload: StoredAuditRow["payload"];
  prev_hash: string;
  row_hash: string;
};

function toStored(row: AuditRow): StoredAuditRow {
  return {
    id: row.id,
    bot: { namespace: row.bot_namespace, name: row.bot_name, uid: row.bot_uid },
    seq: Number(row.seq),
    at: row.at.toISOString(),
    event: row.event,
    payload: row.payload,
    prevHash: row.prev_hash,
    rowHash: row.row_hash,
  };
}

export async function verifyAuditChains(
  client: pg.ClientBase,
  bot?: { namespace: string; name: string },
): Promise<ChainReport[]> {
  const chains = await client.query<{ bot_uid: string; bot_namespace: string; bot_name: string }>(
    `SELECT DISTINCT ON (bot_uid) bot_uid, bot_namespace, bot_name FROM ${SCHEMA}.audit_log
      ${bot === undefined ? "" : "WHERE bot_namespace = $1 AND bot_name = $2"}
      ORDER BY bot_uid, seq`,
    bot === undefined ? [] : [bot.namespace, bot.name],
  );
  const reports: ChainReport[] = [];
  for (const chain of chains.rows) {
    const verdict = await verifyAuditChain(client, chain.bot_uid);
    reports.push({ namespace: chain.bot_namespace, name: chain.bot_name, uid: chain.bot_uid, verdict });
  }
  return reports;
}

/** Checks one bot's chain (keyed by its TradingBot's uid), from where pruning left it, page by page. */
export async function verifyAuditChain(client: pg.ClientBase, botUid: string): Promise<ChainVerdict> {
  const anchorRow = await client.query<{ through_seq: string; through_hash: string }>(
    `SELECT through_seq, through_hash FROM ${SCHEMA}.audit_prune WHERE bot_uid = $1 ORDER BY through_seq DESC LIMIT 1`,
    [botUid],
  );
  let anchor: ChainAnchor | undefined =
    anchorRow.rows[0] === undefined
      ? undefined
      : { throughSeq: Number(anchorRow.rows[0].through_seq), hash: anchorRow.rows[0].through_hash };
  let checked = 0;
  for (;;) {
    const page = await client.query<AuditRow>(
      `SELECT id, bot_namespace, bot_name, bot_uid, seq, at, event, payload, prev_hash, row_hash
         FROM ${SCHEMA}.audit_log WHERE bot_uid = $1 AND seq > $2 ORDER BY seq LIMIT ${PAGE_ROWS}`,
      [botUid, anchor?.throughSeq ?? 0],
    );
    const pageVerdict = verifyChain(page.rows.map(toStored), anchor);
    checked += pageVerdict.rows;
    if (!pageVerdict.intact || page.rows.length < PAGE_ROWS) return { ...pageVerdict, rows: checked };
    anchor = pageVerdict.end;
  }
}
