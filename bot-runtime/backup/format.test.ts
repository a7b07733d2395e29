import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  BACKUP_FORMAT,
  BackupEncoder,
  type BackupEvent,
  type BackupHeader,
  BackupReader,
  BackupRefused,
  LineSplitter,
} from "./format.ts";

const header: BackupHeader = {
  format: BACKUP_FORMAT,
  formatVersion: 1,
  createdAt: "2026-01-05T03:17:00.123Z",
  schema: "tradingbot",
  schemaVersion: 2,
  migrations: [
    { version: 1, name: "initial", checksum: "a".repeat(64) },
    { version: 2, name: "risk_latches", checksum: "b".repeat(64) },
  ],
  scope: { kind: "all" },
  tables: [
    { name: "audit_log", columns: ["id", "payload"] },
    { name: "orders", columns: ["id", "price", "detail"] },
  ],
  server: "17.2",
};

/** A backup's plaintext as the encoder writes it. */
function encode(rows: { audit_log: (string | null)[][]; orders: (string | null)[][] }): Buffer {
  const encoder = new BackupEncoder();
  const parts = [encoder.header(header)];
  for (const table of header.tables) {
    parts.push(encoder.begin(table));
    for (const row of rows[table.name as "audit_log" | "orders"]) parts.push(encoder.row(row));
    parts.push(encoder.end());
  }
  parts.push(encoder.trailer().bytes);
  return Buffer.concat(parts);
}

/** Reads plaintext in chunks of `chunk` bytes, as a decrypted stream delivers it. */
function read(plaintext: Buffer, chunk = 7): BackupEvent[] {
  const splitter = new LineSplitter();
  const reader = new BackupReader();
  const events: BackupEvent[] = [];
  for (let offset = 0; offset < plaintext.length; offset += chunk) {
    for (const line of splitter.push(plaintext.subarray(offset, offset + chunk)))
      events.push(reader.read(line));
  }
  splitter.end();
  reader.finish();
  return events;
}

const sample = {
  audit_log: [
    ["1", '{"price": "100.5", "note": "ünïcode \\n and \\"quotes\\""}'],
    ["2", "{}"],
  ],
  orders: [
    ["10", "64000.12", null],
    ["11", "0.00000001", "a detail, with a comma"],
  ],
};

describe("the backup format", () => {
  it("reads back every row as written, each table with its count, whatever the chunking", () => {
    const plaintext = encode(sample);
    for (const chunk of [1, 7, 64 * 1024]) {
      const events = read(plaintext, chunk);
      expect(events[0]).toEqual({ kind: "header", header });
      const rows = events.filter((event) => event.kind === "row");
      expect(rows.map((row) => [row.table, JSON.parse(row.json)])).toEqual([
        ["audit_log", sample.audit_log[0]],
        ["audit_log", sample.audit_log[1]],
        ["orders", sample.orders[0]],
        ["orders", sample.orders[1]],
      ]);
      expect(events.filter((event) => event.kind === "end")).toEqual([
        { kind: "end", table: "audit_log", rows: 2 },
        { kind: "end", table: "orders", rows: 2 },
      ]);
      expect(events.at(-1)).toMatchObject({ kind: "trailer", tables: 2, rows: 4 });
    }
  });

  it("records the SHA-256 of everything before the trailer in the trailer", () => {
    const encoder = new BackupEncoder();
    const before = Buffer.concat([
      encoder.header(header),
      encoder.begin({ name: "audit_log", columns: ["id", "payload"] }),
      encoder.end(),
      encoder.begin({ name: "orders", columns: ["id", "price", "detail"] }),
      encoder.end(),
    ]);
    const trailer = encoder.trailer();
    expect(trailer.sha256).toBe(createHash("sha256").update(before).digest("hex"));
    expect(trailer.rows).toEqual({ audit_log: 0, orders: 0 });
  });

  it("refuses a changed value, naming the table whose checksum no longer matches", () => {
    const tampered = Buffer.from(encode(sample).toString("utf8").replace("64000.12", "64000.13"));
    expect(() => read(tampered)).toThrow(
      new BackupRefused(
        "checksum mismatch in table orders: its rows do not match the SHA-256 recorded when the backup was written",
      ),
    );
  });

  it("refuses a removed row by its table's count", () => {
    const lines = encode(sample).toString("utf8").split("\n");
    const without = lines.filter((line) => !line.startsWith('["11"')).join("\n");
    expect(() => read(Buffer.from(without))).toThrow(
      /row count mismatch in table orders: 1 rows read, 2 recorded/,
    );
  });

  it("refuses a changed header through the trailer's checksum", () => {
    const tampered = Buffer.from(
      encode(sample).toString("utf8").replace('"server":"17.2"', '"server":"17.3"'),
    );
    expect(() => read(tampered)).toThrow(
      /checksum mismatch: the backup's content does not match the SHA-256/,
    );
  });

  it("refuses a backup cut anywhere before its end as truncated", () => {
    const plaintext = encode(sample);
    for (const length of [plaintext.length - 1, plaintext.lastIndexOf('{"trailer"'), 40]) {
      expect(() => read(plaintext.subarray(0, length))).toThrow(/truncated/);
    }
  });

  it("refuses anything after the trailer", () => {
    const plaintext = Buffer.concat([encode(sample), Buffer.from('["12","1",null]\n')]);
    expect(() => read(plaintext)).toThrow(/after its trailer/);
  });

  it("refuses a row with the wrong number of values, or a non-text value", () => {
    for (const row of ['["10","1"]', '["10",1,null]']) {
      const plaintext = Buffer.from(encode(sample).toString("utf8").replace('["10","64000.12",null]', row));
      expect(() => read(plaintext)).toThrow(/is not a row of 3 text-or-null values of table orders/);
    }
  });

  it("refuses a format version newer than it reads, saying so", () => {
    const newer = Buffer.from(`${JSON.stringify({ ...header, formatVersion: 2 })}\n`);
    expect(() => read(newer)).toThrow(/format version 2 is newer than this bot-runtime reads \(1\)/);
    expect(() => read(Buffer.from("hello\n"))).toThrow(/not JSON/);
    expect(() => read(Buffer.from('{"some":"json"}\n'))).toThrow(/not a tradingbot-backup file/);
  });

  it("refuses an overlong line instead of buffering it", () => {
    const splitter = new LineSplitter(16);
    expect(() => [...splitter.push(Buffer.from("x".repeat(17)))]).toThrow(/longer than 16 bytes/);
  });
});
