import { describe, expect, it } from "vitest";
import type { ExchangeOrder } from "../exchange/port.ts";
import { Decimal } from "../money/decimal.ts";
import type { OrderRecord } from "../store/store.ts";
import { botTag, clientOrderIdFor } from "./client-order-id.ts";
import { planReconciliation } from "./reconciliation.ts";

const tag = botTag("bot-uid");
const otherTag = botTag("another-bot");
const exchangeOrder = (clientOrderId: string, filled = "0"): ExchangeOrder => ({
  id: `x-${clientOrderId}`,
  clientOrderId,
  side: "buy",
  type: "limit",
  price: Decimal.parse("100"),
  amount: Decimal.parse("1"),
  filled: Decimal.parse(filled),
  status: "open",
  timestamp: 0,
});
const record = (clientOrderId: string, status: OrderRecord["status"] = "open"): OrderRecord => ({
  clientOrderId,
  slot: "g1",
  slotSeq: 0,
  side: "buy",
  type: "limit",
  amount: Decimal.parse("1"),
  price: Decimal.parse("100"),
  status,
  filled: Decimal.ZERO,
  origin: "strategy",
  createdAt: new Date(0),
});
const gridSlots = (slot: string) => /^g[0-9]+$/.test(slot);

describe("reconciliation at start", () => {
  it("keeps known orders, adopts the bot's own unknown ones, cancels its own on retired slots, reports the rest", () => {
    const known = clientOrderIdFor(tag, "g1", 0);
    const ownUnknown = clientOrderIdFor(tag, "g2", 4);
    const retired = clientOrderIdFor(tag, "d1abc", 0);
    const otherBot = clientOrderIdFor(otherTag, "g1", 0);
    const closedMeanwhile = clientOrderIdFor(tag, "g3", 1);
    const plan = planReconciliation(
      [record(known), record(closedMeanwhile)],
      [
        exchangeOrder(known, "0.5"),
        exchangeOrder(ownUnknown),
        exchangeOrder(retired),
        exchangeOrder(otherBot),
        exchangeOrder("web_manual"),
      ],
      tag,
      gridSlots,
    );
    expect(plan.keep.map((k) => k.record.clientOrderId)).toEqual([known]);
    expect(plan.adopt).toEqual([{ open: exchangeOrder(ownUnknown), slot: "g2", slotSeq: 4 }]);
    expect(plan.cancel.map((o) => o.clientOrderId)).toEqual([retired]);
    expect(plan.foreign.map((o) => o.clientOrderId)).toEqual([otherBot, "web_manual"]);
    expect(plan.lookUp.map((r) => r.clientOrderId)).toEqual([closedMeanwhile]);
  });

  it("looks up pending orders the exchange does not list instead of resending them", () => {
    const pending = clientOrderIdFor(tag, "g1", 7);
    expect(
      planReconciliation([record(pending, "pending")], [], tag, gridSlots).lookUp.map((r) => r.status),
    ).toEqual(["pending"]);
  });
});
