import { describe, expect, it } from "vitest";
import { BOT_CONTAINER_PATHS } from "../../api/v1alpha1/runtime-config.ts";
import {
  parseAuditVerifyFlags,
  parseBackupFlags,
  parseListen,
  parseMigrateFlags,
  parseRestoreFlags,
  parseRunFlags,
  UsageError,
} from "./flags.ts";

describe("command-line flags", () => {
  it("default every path of `run` to where the operator mounts it", () => {
    expect(parseRunFlags([])).toEqual({
      config: `${BOT_CONTAINER_PATHS.configDir}/config.json`,
      exchangeCredentials: BOT_CONTAINER_PATHS.exchangeCredentialsDir,
      databaseCredentials: BOT_CONTAINER_PATHS.databaseCredentialsDir,
      terminationLog: BOT_CONTAINER_PATHS.terminationLog,
      listen: { host: "0.0.0.0", port: 8080 },
      tickIntervalMs: 1000,
    });
  });

  it("take every path from a flag", () => {
    const flags = parseRunFlags([
      "--config",
      "/p/c.json",
      "--termination-log",
      "/p/t",
      "--listen",
      "[::1]:9000",
    ]);
    expect(flags).toMatchObject({
      config: "/p/c.json",
      terminationLog: "/p/t",
      listen: { host: "::1", port: 9000 },
    });
  });

  it("refuse unknown flags and malformed values", () => {
    expect(() => parseRunFlags(["--nope"])).toThrow(UsageError);
    expect(() => parseListen("8080")).toThrow(/HOST:PORT/);
    expect(() => parseRunFlags(["--tick-interval-ms", "5"])).toThrow(/50 to 600000/);
    expect(() => parseMigrateFlags(["--grant-to", "a", "--trading-credentials", "/x"])).toThrow(/not both/);
    expect(() => parseAuditVerifyFlags(["--bot", "no-slash"])).toThrow(/NAMESPACE\/NAME/);
  });

  it("name the console's read-only role for migrate by role or by its Secret, not both", () => {
    expect(parseMigrateFlags(["--console-role", "console_reader"]).consoleRole).toBe("console_reader");
    expect(parseMigrateFlags(["--console-credentials", "/s"]).consoleCredentials).toBe("/s");
    expect(() => parseMigrateFlags(["--console-role", "a", "--console-credentials", "/s"])).toThrow(
      /not both/,
    );
  });

  it("read --bot NAMESPACE/NAME for audit verify", () => {
    expect(parseAuditVerifyFlags(["--bot", "trading/grid-btc"]).bot).toEqual({
      namespace: "trading",
      name: "grid-btc",
    });
  });

  it("name the backup's read-only role for migrate by role or by its Secret, not both", () => {
    expect(parseMigrateFlags(["--backup-role", "backup_reader"]).backupRole).toBe("backup_reader");
    expect(parseMigrateFlags(["--backup-credentials", "/s"]).backupCredentials).toBe("/s");
    expect(() => parseMigrateFlags(["--backup-role", "a", "--backup-credentials", "/s"])).toThrow(/not both/);
  });

  it("take backup's output, recipients and scope, and refuse a backup nobody could decrypt", () => {
    const db = ["--database-credentials", "/s"];
    expect(
      parseBackupFlags([
        ...db,
        "--out-dir",
        "/backups",
        "--keep",
        "14",
        "--recipient",
        "age1a",
        "--recipient",
        "age1b",
      ]),
    ).toEqual({
      databaseCredentials: "/s",
      output: { dir: "/backups", keep: 14 },
      recipients: ["age1a", "age1b"],
    });
    expect(
      parseBackupFlags([...db, "--out", "/b/x.age", "--recipients-file", "/r", "--bot", "trading/grid-btc"]),
    ).toEqual({
      databaseCredentials: "/s",
      output: { file: "/b/x.age" },
      recipients: [],
      recipientsFile: "/r",
      bot: { namespace: "trading", name: "grid-btc" },
    });
    expect(() => parseBackupFlags([...db, "--out", "/x"])).toThrow(/at least one age recipient/);
    expect(() => parseBackupFlags([...db, "--recipient", "age1a"])).toThrow(/--out FILE .* or --out-dir DIR/);
    expect(() => parseBackupFlags([...db, "--out", "/x", "--out-dir", "/y", "--recipient", "a"])).toThrow(
      /one of them/,
    );
    expect(() => parseBackupFlags([...db, "--out", "/x", "--keep", "3", "--recipient", "a"])).toThrow(
      /--keep needs --out-dir/,
    );
    expect(() => parseBackupFlags([...db, "--out-dir", "/x", "--keep", "0", "--recipient", "a"])).toThrow(
      /from 1 to 10000/,
    );
    expect(() => parseBackupFlags(["--out", "/x", "--recipient", "a"])).toThrow(
      /--database-credentials is required/,
    );
  });

  it("restore into a database, or only check the backup, one of the two", () => {
    const keys = ["--in", "/b/x.age", "--identity-file", "/k"];
    expect(parseRestoreFlags([...keys, "--database-credentials", "/s"])).toEqual({
      input: "/b/x.age",
      identityFile: "/k",
      databaseCredentials: "/s",
      checkOnly: false,
    });
    expect(parseRestoreFlags([...keys, "--check-only"])).toEqual({
      input: "/b/x.age",
      identityFile: "/k",
      checkOnly: true,
    });
    expect(() => parseRestoreFlags(keys)).toThrow(/--database-credentials DIR .* or --check-only/);
    expect(() => parseRestoreFlags([...keys, "--check-only", "--database-credentials", "/s"])).toThrow(
      /or --check-only/,
    );
    expect(() => parseRestoreFlags(["--in", "/b/x.age"])).toThrow(/--identity-file is required/);
  });
});
