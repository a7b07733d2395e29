import { describe, expect, it } from "vitest";
import { backupRoleGrants } from "../store/migrate.ts";
import type { CatalogTable } from "./catalog.ts";
import type { BackupHeader } from "./format.ts";
import { planRestore, RestoreRefused, type RestoreTarget } from "./restore-plan.ts";

const migrations = [
  { version: 1, name: "initial", checksum: "a".repeat(64) },
  { version: 2, name: "risk_latches", checksum: "b".repeat(64) },
];

const orders: CatalogTable = {
  name: "orders",
  columns: [
    { name: "id", type: "bigint", sequence: "tradingbot.orders_id_seq", identity: "" },
    { name: "bot_uid", type: "text", sequence: null, identity: "" },
    { name: "amount", type: "numeric", sequence: null, identity: "" },
    { name: "created_at", type: "timestamp with time zone", sequence: null, identity: "" },
  ],
  primaryKey: ["id"],
};
const botState: CatalogTable = {
  name: "bot_state",
  columns: [
    { name: "bot_uid", type: "text", sequence: null, identity: "" },
    { name: "strategy_memory", type: "jsonb", sequence: null, identity: "" },
  ],
  primaryKey: ["bot_uid"],
};

const header: BackupHeader = {
  format: "tradingbot-backup",
  formatVersion: 1,
  createdAt: "2026-01-05T03:17:00.000Z",
  schema: "tradingbot",
  schemaVersion: 2,
  migrations,
  scope: { kind: "all" },
  tables: [
    { name: "bot_state", columns: ["bot_uid", "strategy_memory"] },
    { name: "orders", columns: ["id", "bot_uid", "amount", "created_at"] },
  ],
  server: "17.2",
};

const target: RestoreTarget = { schemaVersion: 2, migrations, tables: [botState, orders], occupied: [] };

describe("restore planning", () => {
  it("restores a whole backup with its ids, casting each text value to its column's type, then sets each sequence past them", () => {
    const plan = planRestore(header, target);
    expect(plan.tables.get("orders")?.insert).toBe(
      'INSERT INTO tradingbot."orders" ("id", "bot_uid", "amount", "created_at")' +
        " SELECT (r->>0)::bigint, (r->>1)::text, (r->>2)::numeric, (r->>3)::timestamp with time zone" +
        " FROM json_array_elements($1::json) WITH ORDINALITY AS e(r, n) ORDER BY n",
    );
    expect(plan.tables.get("bot_state")?.insert).toContain("(r->>1)::jsonb");
    expect(plan.sequenceResets).toEqual([
      `SELECT setval('tradingbot.orders_id_seq'::regclass, coalesce((SELECT max("id") FROM tradingbot."orders"), 1), (SELECT max("id") FROM tradingbot."orders") IS NOT NULL)`,
    ]);
    expect(plan.notes).toEqual([]);
  });

  it("restores a per-bot backup with ids from the target's sequences, accepting only rows of the bot's uids", () => {
    const plan = planRestore(
      { ...header, scope: { kind: "bot", namespace: "trading", name: "grid-btc", uids: ["uid-1"] } },
      target,
    );
    const insert = plan.tables.get("orders");
    expect(insert?.insert).toBe(
      'INSERT INTO tradingbot."orders" ("bot_uid", "amount", "created_at")' +
        " SELECT (r->>1)::text, (r->>2)::numeric, (r->>3)::timestamp with time zone" +
        " FROM json_array_elements($1::json) WITH ORDINALITY AS e(r, n) WHERE r->>1 = ANY($2::text[]) ORDER BY n",
    );
    expect(insert?.uids).toEqual(["uid-1"]);
    expect(plan.sequenceResets).toEqual([]);
  });

  it("refuses a target that already holds rows of the scope, naming the table", () => {
    expect(() => planRestore(header, { ...target, occupied: ["orders", "bot_state"] })).toThrow(
      new RestoreRefused(
        "table tradingbot.orders already holds rows: a restore goes only into empty tables (a database where only `bot-runtime migrate` has run)",
      ),
    );
    expect(() =>
      planRestore(
        { ...header, scope: { kind: "bot", namespace: "trading", name: "grid-btc", uids: ["uid-1"] } },
        { ...target, occupied: ["bot_state"] },
      ),
    ).toThrow(/already holds rows of bot trading\/grid-btc \(uid uid-1\)/);
  });

  it("refuses a backup of a newer schema, an unmigrated target, and a target with other migration files", () => {
    expect(() => planRestore({ ...header, schemaVersion: 3 }, target)).toThrow(
      /backup is of schema version 3, newer than this database's 2/,
    );
    expect(() => planRestore(header, { ...target, schemaVersion: 0, migrations: [], tables: [] })).toThrow(
      /has no tradingbot schema: run `bot-runtime migrate`/,
    );
    const changed = [migrations[0], { ...migrations[1], checksum: "c".repeat(64) }] as typeof migrations;
    expect(() => planRestore(header, { ...target, migrations: changed })).toThrow(
      /after migration 2_risk_latches \(checksum b+\), which this database applied with checksum c+/,
    );
  });

  it("restores an older backup into a newer schema when its columns are there, and says what that means", () => {
    const plan = planRestore({ ...header, schemaVersion: 1, migrations: migrations.slice(0, 1) }, target);
    expect(plan.notes[0]).toMatch(/columns added since take their defaults/);
    expect(() =>
      planRestore({ ...header, tables: [{ name: "orders", columns: ["id", "dropped_column"] }] }, target),
    ).toThrow(/column dropped_column of table tradingbot.orders in the backup is not in this database/);
  });

  it("gives the backup's role USAGE and SELECT, on later tables too, after revoking whatever it held", () => {
    const grants = backupRoleGrants("backup_reader");
    expect(grants.filter((statement) => / GRANT |^GRANT /.test(statement))).toEqual([
      'GRANT USAGE ON SCHEMA tradingbot TO "backup_reader"',
      'GRANT SELECT ON ALL TABLES IN SCHEMA tradingbot TO "backup_reader"',
      'ALTER DEFAULT PRIVILEGES IN SCHEMA tradingbot GRANT SELECT ON TABLES TO "backup_reader"',
    ]);
    expect(grants.slice(0, 7).every((statement) => statement.includes("REVOKE ALL"))).toBe(true);
  });
});
