import type pg from "pg";
import type { ChainFacts } from "./audit-anchors.ts";
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

export type AuditChain = { namespace: string; name: string; uid: string };

/** The bots with audit rows (all, or the one named), each by the uid its chain is keyed by. */
export async function listAuditChains(
  client: pg.ClientBase,
  bot?: { namespace: string; name: string },
): Promise<AuditChain[]> {
  const chains = await client.query<{ bot_uid: string; bot_namespace: string; bot_name: string }>(
    `SELECT DISTINCT ON (bot_uid) bot_uid, bot_namespace, bot_name FROM ${SCHEMA}.audit_log
      ${bot === undefined ? "" : "WHERE bot_namespace = $1 AND bot_name = $2"}
      ORDER BY bot_uid, seq`,
    bot === undefined ? [] : [bot.namespace, bot.name],
  );
  return chains.rows.map((row) => ({ namespace: row.bot_namespace, name: row.bot_name, uid: row.bot_uid }));
}

export async function verifyAuditChains(
  client: pg.ClientBase,
  bot?: { namespace: string; name: string },
): Promise<ChainReport[]> {
  const reports: ChainReport[] = [];
  for (const chain of await listAuditChains(client, bot)) {
    reports.push({ ...chain, verdict: await verifyAuditChain(client, chain.uid) });
  }
  return reports;
}

async function pruningAnchor(client: pg.ClientBase, botUid: string): Promise<ChainAnchor | undefined> {
  const anchorRow = await client.query<{ through_seq: string; through_hash: string }>(
    `SELECT through_seq, through_hash FROM ${SCHEMA}.audit_prune WHERE bot_uid = $1 ORDER BY through_seq DESC LIMIT 1`,
    [botUid],
  );
  const row = anchorRow.rows[0];
  return row === undefined ? undefined : { throughSeq: Number(row.through_seq), hash: row.through_hash };
}

/** Checks one bot's chain (keyed by its TradingBot's uid), from where pruning left it, page by page. */
export async function verifyAuditChain(client: pg.ClientBase, botUid: string): Promise<ChainVerdict> {
  let anchor = await pruningAnchor(client, botUid);
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

/**
 * What `audit verify --anchors` compares with the API server's anchors: the chain's own verdict, where it
 * ends, and the stored hashes at the anchored sequences.
 */
export async function auditChainFacts(
  client: pg.ClientBase,
  botUid: string,
  sequences: readonly number[],
): Promise<ChainFacts> {
  const verdict = await verifyAuditChain(client, botUid);
  const prunedThrough = await pruningAnchor(client, botUid);
  const last = await client.query<{ last: string | null }>(
    `SELECT max(seq) AS last FROM ${SCHEMA}.audit_log WHERE bot_uid = $1`,
    [botUid],
  );
  const anchored = await client.query<{ seq: string; row_hash: string }>(
    `SELECT seq, row_hash FROM ${SCHEMA}.audit_log WHERE bot_uid = $1 AND seq = ANY($2::bigint[])`,
    [botUid, sequences.map(String)],
  );
  return {
    verdict,
    prunedThrough,
    lastSequence: Number(last.rows[0]?.last ?? prunedThrough?.throughSeq ?? 0),
    hashes: new Map(anchored.rows.map((row) => [Number(row.seq), row.row_hash])),
  };
}
