import { createHash } from "node:crypto";

// Client order ids are derived, never random: the same intent (bot, slot, sequence number) always gets
// the same id, so after a lost response or a crash the runtime finds its order by id instead of sending
// it twice. Binance accepts ^[a-zA-Z0-9-_]{1,36}$; the layout is
//   tb<bot tag: 10 hex>-<slot: 1-16 [a-zA-Z0-9]>-<sequence: base 36, at most 6>
// The bot tag is a hash of the TradingBot's uid: orders of a deleted and re-created bot of the same name
// are not mistaken for its own.

const SLOT_PATTERN = /^[a-zA-Z0-9]{1,16}$/;
const CLIENT_ORDER_ID_PATTERN = /^tb([0-9a-f]{10})-([a-zA-Z0-9]{1,16})-([0-9a-z]{1,6})$/;
const MAX_SEQUENCE = 36 ** 6 - 1;

export function botTag(botUid: string): string {
  return createHash("sha256").update(botUid).digest("hex").slice(0, 10);
}

export function clientOrderIdFor(tag: string, slot: string, sequence: number): string {
  if (!/^[0-9a-f]{10}$/.test(tag))
    throw new RangeError(`bot tag ${JSON.stringify(tag)} is not 10 hex digits`);
  if (!SLOT_PATTERN.test(slot))
    throw new RangeError(`slot ${JSON.stringify(slot)} must be 1-16 of [a-zA-Z0-9]`);
  if (!Number.isInteger(sequence) || sequence < 0 || sequence > MAX_SEQUENCE) {
    throw new RangeError(`sequence ${sequence} is outside 0..${MAX_SEQUENCE}`);
  }
  return `tb${tag}-${slot}-${sequence.toString(36)}`;
}

export type ParsedClientOrderId = { botTag: string; slot: string; sequence: number };

/** undefined for ids this runtime did not make (manual orders, other software). */
export function parseClientOrderId(clientOrderId: string): ParsedClientOrderId | undefined {
  const match = CLIENT_ORDER_ID_PATTERN.exec(clientOrderId);
  if (match === null) return undefined;
  const [, tag = "", slot = "", sequence = ""] = match;
  return { botTag: tag, slot, sequence: Number.parseInt(sequence, 36) };
}
