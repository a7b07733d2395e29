import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { botTag, clientOrderIdFor, parseClientOrderId } from "./client-order-id.ts";

const BINANCE_CLIENT_ORDER_ID = /^[a-zA-Z0-9-_]{1,36}$/;

describe("client order ids", () => {
  it("are the same for the same bot, slot and sequence, every time", () => {
    const tag = botTag("0b5e4c1e-8d3a-4c55-9d1f-3f0e1b2a6c7d");
    expect(clientOrderIdFor(tag, "g3", 12)).toBe(
      clientOrderIdFor(botTag("0b5e4c1e-8d3a-4c55-9d1f-3f0e1b2a6c7d"), "g3", 12),
    );
    expect(clientOrderIdFor(tag, "g3", 12)).toBe(`tb${tag}-g3-c`);
  });

  it("differ between bots, slots and sequence numbers", () => {
    const a = botTag("uid-a");
    const b = botTag("uid-b");
    const ids = new Set([
      clientOrderIdFor(a, "g3", 1),
      clientOrderIdFor(b, "g3", 1),
      clientOrderIdFor(a, "g4", 1),
      clientOrderIdFor(a, "g3", 2),
    ]);
    expect(ids.size).toBe(4);
  });

  it("always fit Binance's pattern and parse back to their parts", () => {
    fc.assert(
      fc.property(
        fc.uuid(),
        fc.stringMatching(/^[a-zA-Z0-9]{1,16}$/),
        fc.integer({ min: 0, max: 36 ** 6 - 1 }),
        (uid, slot, sequence) => {
          const id = clientOrderIdFor(botTag(uid), slot, sequence);
          expect(id).toMatch(BINANCE_CLIENT_ORDER_ID);
          expect(parseClientOrderId(id)).toEqual({ botTag: botTag(uid), slot, sequence });
        },
      ),
    );
  });

  it("refuse slots and sequences that would not fit", () => {
    const tag = botTag("uid");
    expect(() => clientOrderIdFor(tag, "grid-cell", 1)).toThrow(/slot "grid-cell"/);
    expect(() => clientOrderIdFor(tag, "g1", 36 ** 6)).toThrow(/sequence/);
  });

  it("does not claim ids made by other software", () => {
    expect(parseClientOrderId("x-TKT5PX2F8c3d2a1b0e9f8a7b6c5d4e")).toBeUndefined();
    expect(parseClientOrderId("web_123")).toBeUndefined();
  });
});
