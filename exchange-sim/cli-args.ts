// Command-line flags of `exchange-sim`, parsed and checked without touching files or the network.

import { parseArgs } from "node:util";
import { z } from "zod";
import { formatIssues } from "./accounts-file.ts";
import { type FaultPatch, parseFaultPatch } from "./faults.ts";
import type { RateLimitConfig } from "./rate-limits.ts";

export const usage = `Usage: exchange-sim --accounts FILE [--port N] [--admin-port N] [--host H]
                    [--seed S] [--replay FILE [--replay-symbol SYMBOL]] [--speed X]
                    [--faults JSON] [--rate-limits JSON]

A Binance-Spot-compatible exchange simulator.
  --accounts FILE      JSON list of {apiKey, secret | publicKeyPem, balances, canWithdraw}
  --port N             API port on --host (default 0: a free port)
  --admin-port N       admin API port, always on 127.0.0.1 (default 0: a free port)
  --host H             API bind address (default 127.0.0.1)
  --seed S             seed of the synthetic prices, book and fault decisions (default exchange-sim)
  --replay FILE        recorded candles (Binance kline CSV or JSON) to replay for one symbol
  --replay-symbol SYM  symbol the replay drives (default: named by the file, else BTCUSDT)
  --speed X            market time per real time, e.g. 60 (default 1)
  --faults JSON        faults at start, e.g. '{"latencyMs":50,"errorRate5xx":0.01}'
  --rate-limits JSON   e.g. '{"requestWeightPerMinute":6000,"ordersPer10Seconds":100}'`;

export interface CliOptions {
  accountsFile: string;
  port: number;
  adminPort: number;
  host: string;
  seed: string | undefined;
  replayFile: string | undefined;
  replaySymbol: string | undefined;
  speed: number;
  faults: FaultPatch | undefined;
  rateLimits: Partial<RateLimitConfig> | undefined;
}

export type CliParse = { kind: "help" } | { kind: "run"; options: CliOptions };

const rateLimitsSchema = z.strictObject({
  requestWeightPerMinute: z.number().int().positive().optional(),
  ordersPer10Seconds: z.number().int().positive().optional(),
  ordersPerDay: z.number().int().positive().optional(),
  bannedAfter429s: z.number().int().nonnegative().optional(),
  firstBanMs: z.number().int().positive().optional(),
  maxBanMs: z.number().int().positive().optional(),
});

function portFlag(name: string, value: string | undefined): number {
  if (value === undefined) return 0;
  const port = Number(value);
  if (!/^[0-9]+$/.test(value) || port > 65535) {
    throw new Error(`--${name}: must be an integer from 0 to 65535 (got "${value}")`);
  }
  return port;
}

function jsonFlag(name: string, value: string): unknown {
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new Error(`--${name}: not valid JSON (${(error as Error).message})`);
  }
}

/** Parses argv (without node and the script); throws an Error naming the flag on bad input. */
export function parseCliArgs(argv: readonly string[]): CliParse {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        accounts: { type: "string" },
        port: { type: "string" },
        "admin-port": { type: "string" },
        host: { type: "string" },
        seed: { type: "string" },
        replay: { type: "string" },
        "replay-symbol": { type: "string" },
        speed: { type: "string" },
        faults: { type: "string" },
        "rate-limits": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new Error((error as Error).message);
  }
  if (values.help === true) return { kind: "help" };
  const text = (name: string) => {
    const value = values[name];
    return typeof value === "string" ? value : undefined;
  };
  const accountsFile = text("accounts");
  if (accountsFile === undefined) throw new Error("--accounts: required (a JSON file listing the API keys)");
  const speedText = text("speed");
  const speed = speedText === undefined ? 1 : Number(speedText);
  if (!(speed > 0 && speed <= 100_000)) {
    throw new Error(`--speed: must be a number greater than 0 and at most 100000 (got "${speedText}")`);
  }
  const replaySymbol = text("replay-symbol");
  if (replaySymbol !== undefined && text("replay") === undefined) {
    throw new Error("--replay-symbol: only meaningful with --replay FILE");
  }
  const faultsText = text("faults");
  const rateLimitsText = text("rate-limits");
  let rateLimits: Partial<RateLimitConfig> | undefined;
  if (rateLimitsText !== undefined) {
    const parsed = rateLimitsSchema.safeParse(jsonFlag("rate-limits", rateLimitsText));
    if (!parsed.success) throw new Error(`--rate-limits: ${formatIssues(parsed.error)}`);
    rateLimits = Object.fromEntries(Object.entries(parsed.data).filter(([, value]) => value !== undefined));
  }
  return {
    kind: "run",
    options: {
      accountsFile,
      port: portFlag("port", text("port")),
      adminPort: portFlag("admin-port", text("admin-port")),
      host: text("host") ?? "127.0.0.1",
      seed: text("seed"),
      replayFile: text("replay"),
      replaySymbol,
      speed,
      faults:
        faultsText === undefined ? undefined : parseFaultPatch(jsonFlag("faults", faultsText), "--faults"),
      rateLimits,
    },
  };
}
