import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.ts";
import { REDACTED, SecretScrubber } from "./secret-scrubber.ts";

const apiKey = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
const hmacSecret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
const pemSecret = [
  "-----BEGIN PRIVATE KEY-----",
  "MC4CAQAwBQYDK2VwBCIEIJ8s6m1nYf3o2HkqU0uY2r7kTzq6bC1vJ0l5hQ9xW3aB",
  "-----END PRIVATE KEY-----",
].join("\n");

function capture() {
  const lines: string[] = [];
  const scrubber = new SecretScrubber();
  for (const secret of [apiKey, hmacSecret, pemSecret, "db-password-1"]) scrubber.add(secret);
  const logger = createLogger(scrubber, { write: (line) => lines.push(line) });
  return { lines, logger };
}

describe("log scrubbing", () => {
  it("removes secrets stored under known keys", () => {
    const { lines, logger } = capture();
    logger.info(
      { event: "started", exchange: { apiKey: "short-key-x", secret: "short-secret-x" } },
      "started",
    );
    expect(lines.join("")).not.toMatch(/short-key-x|short-secret-x/);
    expect(JSON.parse(lines[0] ?? "").exchange.apiKey).toBe(REDACTED);
  });

  it("removes secret values inside error messages and stacks", () => {
    const { lines, logger } = capture();
    const error = new Error(`binance {"code":-2015,"msg":"Invalid API-key ${apiKey}"} secret=${hmacSecret}`);
    logger.error({ event: "authentication failed", err: error }, `auth failed for ${apiKey}`);
    const out = lines.join("");
    expect(out).not.toContain(apiKey);
    expect(out).not.toContain(hmacSecret);
    expect(out).toContain("-2015");
    expect(JSON.parse(lines[0] ?? "").event).toBe("authentication failed");
  });

  it("removes a PEM key whole, JSON-escaped, and line by line", () => {
    const { lines, logger } = capture();
    logger.warn({ event: "x", detail: pemSecret }, "key was");
    logger.warn({ event: "x" }, `one line: ${pemSecret.split("\n")[1]}`);
    const out = lines.join("");
    expect(out).not.toContain("MC4CAQAwBQYDK2VwBCIEIJ8s6m1nYf3o2HkqU0uY2r7kTzq6bC1vJ0l5hQ9xW3aB");
    expect(out).not.toContain(JSON.stringify(pemSecret).slice(1, -1));
  });

  it("removes URL-encoded secrets", () => {
    const { lines, logger } = capture();
    logger.info(
      { event: "x" },
      `GET /x?password=${encodeURIComponent("db-password-1")}&k=${encodeURIComponent(apiKey)}`,
    );
    expect(lines.join("")).not.toMatch(/db-password-1|db%2Dpassword/);
  });

  it("refuses to register a secret too short to scrub safely", () => {
    expect(new SecretScrubber().add("ab")).toBe(false);
  });
});
