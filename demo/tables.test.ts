import { describe, expect, it } from "vitest";
import {
  auditDetail,
  auditTable,
  formatSeconds,
  formatTable,
  indent,
  ordersTable,
  rowsInNamespaces,
  trimDecimal,
} from "./tables.ts";

describe("the demo's tables", () => {
  it("align columns like kubectl, three spaces apart, without trailing blanks", () => {
    expect(
      formatTable(
        ["NAME", "PHASE", "PNL"],
        [
          ["grid-btc-paper", "Running", "0.78"],
          ["dca", "Halted", ""],
        ],
      ),
    ).toBe(
      ["NAME             PHASE     PNL", "grid-btc-paper   Running   0.78", "dca              Halted"].join(
        "\n",
      ),
    );
  });

  it("keep the header and the rows of the demo's namespaces of a kubectl get -A table", () => {
    const table = [
      "NAMESPACE   NAME   PHASE",
      "trading     a      Running",
      "other       b      Running",
      "",
    ].join("\n");
    expect(rowsInNamespaces(table, ["trading"])).toBe("NAMESPACE   NAME   PHASE\ntrading     a      Running");
    expect(rowsInNamespaces("(kubectl failed)", ["trading"])).toBe("(kubectl failed)");
  });

  it("indent every non-empty line", () => {
    expect(indent("a\n\nb")).toBe("  a\n\n  b");
  });

  it("show decimals without trailing zeros", () => {
    expect(trimDecimal("64000.00000000")).toBe("64000");
    expect(trimDecimal("0.00078000")).toBe("0.00078");
    expect(trimDecimal("12")).toBe("12");
  });

  it("list orders from the highest price down", () => {
    const order = (price: string, side: string, status: string) => ({
      clientOrderId: `tb-${price}`,
      side,
      type: "LIMIT",
      price,
      origQty: "0.00078000",
      executedQty: "0.00000000",
      status,
    });
    expect(
      ordersTable([order("63000.00000000", "BUY", "NEW"), order("64000.00000000", "BUY", "CANCELED")]).split(
        "\n",
      ),
    ).toEqual([
      "SIDE   TYPE    PRICE   QTY       FILLED   STATUS     CLIENT ORDER ID",
      "BUY    LIMIT   64000   0.00078   0        CANCELED   tb-64000.00000000",
      "BUY    LIMIT   63000   0.00078   0        NEW        tb-63000.00000000",
    ]);
  });

  it("show an audit row's sequence, time, event, hash prefix and the payload fields worth a glance", () => {
    const table = auditTable([
      {
        seq: 41,
        at: new Date("2026-01-02T03:04:05.678Z"),
        event: "stopped",
        payload: { onStop: "CancelOrders", cancelled: 5, flattened: null, ignored: { deep: true } },
        rowHash: "a".repeat(64),
      },
    ]);
    expect(table.split("\n")).toEqual([
      "SEQ   AT             EVENT     HASH            DETAIL",
      "41    03:04:05.678   stopped   aaaaaaaaaaaa…   onStop=CancelOrders cancelled=5",
    ]);
  });

  it("cut long payload values", () => {
    expect(auditDetail({ reason: "x".repeat(60) })).toBe(`reason=${"x".repeat(45)}...`);
  });

  it("format durations in seconds", () => {
    expect(formatSeconds(412)).toBe("0.41 s");
    expect(formatSeconds(63_456)).toBe("63.5 s");
  });
});
