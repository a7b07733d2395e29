import { describe, expect, it } from "vitest";
import {
  AUDIT_PAGE_MAX,
  auditPageStatement,
  CHART_POINTS,
  chainCheck,
  openOrdersStatement,
  snapshotBucketSeconds,
  snapshotsStatement,
} from "./queries.ts";
import { type AuditRow, auditPage, haltView } from "./views.ts";

const at = new Date("2026-03-01T12:00:00.000Z");
const auditRow = (seq: number): AuditRow => ({
  id: String(seq + 100),
  seq: String(seq),
  at,
  event: "order_placed",
  payload: { clientOrderId: `c${seq}` },
  row_hash: "a".repeat(64),
});

describe("a bot's data for the console", () => {
  it("selects every view's rows by the bot's uid alone", () => {
    const statement = openOrdersStatement("uid-1");
    expect(statement.values[0]).toBe("uid-1");
    expect(statement.text).toContain("WHERE bot_uid = $1");
    expect(statement.values[1]).toEqual(["pending", "unknown", "open"]);
  });

  it("draws at most CHART_POINTS points, and never buckets finer than a snapshot's minute", () => {
    const day = new Date(at.getTime() - 24 * 3_600_000);
    expect(snapshotBucketSeconds(day, at)).toBe(120);
    expect((24 * 3600) / snapshotBucketSeconds(day, at)).toBeLessThanOrEqual(CHART_POINTS);
    expect(snapshotBucketSeconds(new Date(at.getTime() - 60_000), at)).toBe(60);
    expect(snapshotBucketSeconds(new Date(at.getTime() + 60_000), at)).toBe(60);
    expect(snapshotsStatement("u", day, at).values).toEqual(["u", day.toISOString(), 120]);
  });

  it("pages the audit trail by seq, newest first, and says where the next page starts", () => {
    expect(auditPageStatement("u", 40, 10).values).toEqual(["u", 40, 11]);
    expect(auditPageStatement("u", undefined, AUDIT_PAGE_MAX).values).toEqual(["u", null, 201]);
    const full = auditPage([5, 4, 3].map(auditRow), 2);
    expect(full.items.map((item) => item.seq)).toEqual([5, 4]);
    expect(full.nextBefore).toBe(4);
    const last = auditPage([2, 1].map(auditRow), 2);
    expect(last.nextBefore).toBeNull();
    expect(last.items[0]).toMatchObject({ id: "102", seq: 2, at: at.toISOString(), event: "order_placed" });
  });

  it("tells a halt from its audit row: who engaged a switch and why, or a risk halt's id and limit", () => {
    expect(
      haltView({
        seq: "7",
        at,
        payload: {
          source: "KillSwitch/desk",
          reason: "exchange incident",
          by: "alice",
          noticedBy: "watch",
          onEngage: "CancelOrders",
        },
      }),
    ).toEqual({
      seq: 7,
      at: at.toISOString(),
      source: "KillSwitch/desk",
      by: "alice",
      reason: "exchange incident",
      haltId: null,
      noticedBy: "watch",
      onEngage: "CancelOrders",
    });
    expect(
      haltView({
        seq: "9",
        at,
        payload: {
          haltId: "risk-20260301T120000-0a1b2c3d",
          limit: "maxDailyLossQuote",
          message: "loss 60 > 50",
        },
      }),
    ).toMatchObject({
      source: "Risk",
      by: null,
      reason: "loss 60 > 50",
      haltId: "risk-20260301T120000-0a1b2c3d",
    });
  });

  it("reports a broken chain with the first broken row and why, an intact one with its length", () => {
    expect(chainCheck({ intact: true, rows: 3, end: { throughSeq: 3, hash: "0".repeat(64) } })).toEqual({
      intact: true,
      rows: 3,
    });
    expect(chainCheck({ intact: false, rows: 1, brokenRow: { id: "12", seq: 2 }, reason: "edited" })).toEqual(
      { intact: false, rows: 1, brokenRow: { id: "12", seq: 2 }, reason: "edited" },
    );
  });
});
