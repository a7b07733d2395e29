import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parseCliArgs } from "./cli-args.ts";

const mainScript = fileURLToPath(new URL("./main.ts", import.meta.url));
const replayFixture = fileURLToPath(new URL("./fixtures/btcusdt-1h.csv", import.meta.url));
const directory = mkdtempSync(join(tmpdir(), "exchange-sim-cli-"));
const accountsFile = join(directory, "accounts.json");
writeFileSync(
  accountsFile,
  JSON.stringify([{ apiKey: "cli-key", secret: "cli-secret", balances: { USDT: "100" } }]),
);

const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) child.kill("SIGKILL");
  rmSync(directory, { recursive: true, force: true });
});

function start(args: string[]) {
  const child = spawn(process.execPath, [mainScript, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const lines = async (count: number) => {
    while (stdout.split("\n").length <= count) {
      const code = await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20, "waiting"))]);
      if (code !== "waiting") throw new Error(`exchange-sim exited with ${code}: ${stderr}`);
    }
    return stdout.split("\n").slice(0, count);
  };
  return { child, exited, lines, stderr: () => stderr };
}

describe("exchange-sim command", () => {
  it("prints its API and admin URLs on loopback, serves requests, and exits 0 on SIGTERM", async () => {
    const sim = start(["--port", "0", "--accounts", accountsFile, "--seed", "cli"]);
    const [api, admin] = await sim.lines(2);
    expect(api).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+$/);
    expect(admin).toMatch(/^admin on http:\/\/127\.0\.0\.1:\d+$/);
    const url = api?.replace("listening on ", "") ?? "";
    expect(await fetch(`${url}/api/v3/ping`).then((response) => response.json())).toEqual({});
    const adminUrl = admin?.replace("admin on ", "") ?? "";
    const accounts = (await fetch(`${adminUrl}/admin/accounts`).then((response) =>
      response.json(),
    )) as unknown[];
    expect(accounts).toHaveLength(1);
    sim.child.kill("SIGTERM");
    expect(await sim.exited).toBe(0);
  });

  it("replays a candle file given with --replay", async () => {
    const sim = start(["--accounts", accountsFile, "--replay", replayFixture, "--speed", "2"]);
    const [api] = await sim.lines(1);
    const url = api?.replace("listening on ", "") ?? "";
    const ticker = (await fetch(`${url}/api/v3/ticker/price?symbol=BTCUSDT`).then((response) =>
      response.json(),
    )) as {
      price: string;
    };
    // The replay starts at the first recorded candle (open 81501.73, low 81117.64, high 81572.40).
    expect(Number(ticker.price)).toBeGreaterThanOrEqual(81117.64);
    expect(Number(ticker.price)).toBeLessThanOrEqual(81572.4);
    sim.child.kill("SIGINT");
    expect(await sim.exited).toBe(0);
  });

  it("refuses bad input with exit code 2 and a message naming the flag or field", async () => {
    const badFile = join(directory, "bad.json");
    writeFileSync(badFile, JSON.stringify([{ apiKey: "k", secret: "s", balances: { USDT: -5 } }]));
    const bad = start(["--accounts", badFile]);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toContain(
      `accounts file ${badFile}: [0].balances.USDT: Invalid input: expected string, received number`,
    );
    const missing = start(["--accounts", join(directory, "missing.json")]);
    expect(await missing.exited).toBe(2);
    expect(missing.stderr()).toContain("--accounts: cannot read");
  });
});

describe("command-line flags", () => {
  it("default to loopback, free ports, speed 1", () => {
    expect(parseCliArgs(["--accounts", "a.json"])).toEqual({
      kind: "run",
      options: {
        accountsFile: "a.json",
        port: 0,
        adminPort: 0,
        host: "127.0.0.1",
        seed: undefined,
        replayFile: undefined,
        replaySymbol: undefined,
        speed: 1,
        faults: undefined,
        rateLimits: undefined,
      },
    });
  });

  it("name the flag and what is allowed when a value is wrong", () => {
    expect(() => parseCliArgs([])).toThrow("--accounts: required");
    expect(() => parseCliArgs(["--accounts", "a", "--port", "70000"])).toThrow(
      '--port: must be an integer from 0 to 65535 (got "70000")',
    );
    expect(() => parseCliArgs(["--accounts", "a", "--speed", "0"])).toThrow(
      "--speed: must be a number greater than 0",
    );
    expect(() => parseCliArgs(["--accounts", "a", "--faults", '{"hangRate": 3}'])).toThrow(
      "--faults: hangRate: must be between 0 and 1",
    );
    expect(() => parseCliArgs(["--accounts", "a", "--rate-limits", '{"ordersPerSecond": 3}'])).toThrow(
      '--rate-limits: (top level): Unrecognized key: "ordersPerSecond"',
    );
    expect(() => parseCliArgs(["--accounts", "a", "--bogus"])).toThrow("Unknown option '--bogus'");
  });

  it("accept faults and rate limits as JSON", () => {
    const parsed = parseCliArgs([
      "--accounts",
      "a",
      "--faults",
      '{"latencyMs": 20}',
      "--rate-limits",
      '{"ordersPer10Seconds": 1000}',
    ]);
    expect(parsed).toMatchObject({
      options: { faults: { latencyMs: 20 }, rateLimits: { ordersPer10Seconds: 1000 } },
    });
  });
});
