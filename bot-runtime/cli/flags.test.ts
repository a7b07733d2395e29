import { describe, expect, it } from "vitest";
import { BOT_CONTAINER_PATHS } from "../../api/v1alpha1/runtime-config.ts";
import { parseAuditVerifyFlags, parseListen, parseMigrateFlags, parseRunFlags, UsageError } from "./flags.ts";

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
});
