import type { ExchangeOrder } from "../exchange/port.ts";
import type { OrderRecord } from "../store/store.ts";
import { parseClientOrderId } from "./client-order-id.ts";

// What to do at start with the exchange's open orders and the database's live orders. The exchange is the
// truth about orders; the database is the truth about which orders are the bot's. Nothing is sent twice:
// an order the database has but the exchange does not list as open is looked up by its client id.

export type ReconciliationPlan = {
  /** Open at the exchange and live in the database: keep, refresh the filled amount. */
  keep: { record: OrderRecord; open: ExchangeOrder }[];
  /** The bot's own id (its tag) on a slot its strategy uses, but not in the database: adopt it. */
  adopt: { open: ExchangeOrder; slot: string; slotSeq: number }[];
  /** The bot's own id on a slot its strategy does not use (a changed strategy): cancel it. */
  cancel: ExchangeOrder[];
  /** Not made by this bot (manual orders, other bots on the account): leave alone and report. */
  foreign: ExchangeOrder[];
  /** Live in the database but not open at the exchange: look up by client id for the final state. */
  lookUp: OrderRecord[];
};

export function planReconciliation(
  liveRecords: readonly OrderRecord[],
  openAtExchange: readonly ExchangeOrder[],
  botTag: string,
  strategyOwnsSlot: (slot: string) => boolean,
): ReconciliationPlan {
  const plan: ReconciliationPlan = { keep: [], adopt: [], cancel: [], foreign: [], lookUp: [] };
  const byClientId = new Map(liveRecords.map((record) => [record.clientOrderId, record]));
  const seen = new Set<string>();
  for (const open of openAtExchange) {
    const record = byClientId.get(open.clientOrderId);
    if (record !== undefined) {
      plan.keep.push({ record, open });
      seen.add(record.clientOrderId);
      continue;
    }
    const parsed = parseClientOrderId(open.clientOrderId);
    if (parsed === undefined || parsed.botTag !== botTag) plan.foreign.push(open);
    else if (strategyOwnsSlot(parsed.slot))
      plan.adopt.push({ open, slot: parsed.slot, slotSeq: parsed.sequence });
    else plan.cancel.push(open);
  }
  for (const record of liveRecords) if (!seen.has(record.clientOrderId)) plan.lookUp.push(record);
  return plan;
}
