import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  CONSOLE_READABLE_TABLES,
  consoleRoleGrants,
  latestVersion,
  loadMigrations,
  quoteIdentifier,
  scramVerifier,
  tradingRoleGrants,
} from "./migrate.ts";

describe("migrations", () => {
  it("are versioned SQL files in order, each with a checksum", () => {
    const migrations = loadMigrations();
    expect(migrations.map((m) => m.version)).toEqual(
      [...migrations.map((m) => m.version)].sort((a, b) => a - b),
    );
    expect(migrations[0]).toMatchObject({ version: 1, name: "initial" });
    expect(migrations[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(latestVersion(migrations)).toBe(migrations.at(-1)?.version);
  });

  it("grant the trading role only INSERT and SELECT on the audit log", () => {
    const grants = tradingRoleGrants("bot_trader");
    const audit = grants.filter((statement) => statement.includes("tradingbot.audit_log "));
    expect(audit).toEqual([
      'REVOKE ALL ON tradingbot.audit_log FROM "bot_trader"',
      'GRANT SELECT, INSERT ON tradingbot.audit_log TO "bot_trader"',
    ]);
    expect(grants.join("\n")).not.toMatch(/GRANT[^\n]*(TRUNCATE|ALL PRIVILEGES)/);
  });

  it("grant the trading role only INSERT and SELECT on the risk latches, which retention never prunes", () => {
    const grants = tradingRoleGrants("bot_trader");
    expect(grants.filter((statement) => statement.includes("tradingbot.risk_latches "))).toEqual([
      'REVOKE ALL ON tradingbot.risk_latches FROM "bot_trader"',
      'GRANT SELECT, INSERT ON tradingbot.risk_latches TO "bot_trader"',
    ]);
  });

  it("grant the console's role SELECT and schema USAGE only, after revoking whatever it held", () => {
    const grants = consoleRoleGrants("console_reader");
    const given = grants.filter((statement) => statement.startsWith("GRANT"));
    expect(given).toEqual([
      'GRANT USAGE ON SCHEMA tradingbot TO "console_reader"',
      `GRANT SELECT ON ${CONSOLE_READABLE_TABLES.map((table) => `tradingbot.${table}`).join(", ")} TO "console_reader"`,
    ]);
    expect(CONSOLE_READABLE_TABLES).not.toContain("bot_state");
    expect(grants.slice(0, 4).every((statement) => statement.startsWith("REVOKE ALL"))).toBe(true);
  });

  it("quote role names as identifiers", () => {
    expect(quoteIdentifier('we"ird')).toBe('"we""ird"');
  });

  it("send PostgreSQL a SCRAM-SHA-256 verifier, never the password (RFC 5802 derivation)", () => {
    const salt = Buffer.from("0123456789abcdef");
    const verifier = scramVerifier("pencil", salt, 4096);
    const salted = pbkdf2Sync("pencil", salt, 4096, 32, "sha256");
    const stored = createHash("sha256")
      .update(createHmac("sha256", salted).update("Client Key").digest())
      .digest("base64");
    const server = createHmac("sha256", salted).update("Server Key").digest("base64");
    expect(verifier).toBe(`SCRAM-SHA-256$4096:${salt.toString("base64")}$${stored}:${server}`);
    expect(verifier).not.toContain("pencil");
  });
});
