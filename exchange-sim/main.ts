#!/usr/bin/env node
// `exchange-sim` command: reads the accounts (and replay) files, starts the API and admin servers, prints
// their URLs, and shuts down cleanly on SIGTERM/SIGINT.

import { readFileSync } from "node:fs";
import { parseAccountsFile } from "./accounts-file.ts";
import { parseReplayFile } from "./candles.ts";
import { parseCliArgs, usage } from "./cli-args.ts";
import { startExchangeSim } from "./index.ts";

function readText(flag: string, file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(
      `--${flag}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
}

async function main(): Promise<void> {
  const parsed = parseCliArgs(process.argv.slice(2));
  if (parsed.kind === "help") {
    console.log(usage);
    return;
  }
  const { options } = parsed;
  const accounts = parseAccountsFile(readText("accounts", options.accountsFile), options.accountsFile);
  let replay: { symbol: string; candles: ReturnType<typeof parseReplayFile>["candles"] } | undefined;
  if (options.replayFile !== undefined) {
    let data: ReturnType<typeof parseReplayFile>;
    try {
      data = parseReplayFile(readText("replay", options.replayFile));
    } catch (error) {
      throw new Error(`--replay: ${options.replayFile}: ${(error as Error).message}`);
    }
    replay = { symbol: options.replaySymbol ?? data.symbol ?? "BTCUSDT", candles: data.candles };
  }
  const sim = await startExchangeSim({
    accounts,
    host: options.host,
    port: options.port,
    adminPort: options.adminPort,
    speed: options.speed,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(replay === undefined ? {} : { replay }),
    ...(options.faults === undefined ? {} : { faults: options.faults }),
    ...(options.rateLimits === undefined ? {} : { rateLimits: options.rateLimits }),
  });
  console.log(`listening on ${sim.url}`);
  console.log(`admin on ${sim.adminUrl}`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void sim.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error: unknown) => {
  console.error(`exchange-sim: ${(error as Error).message}`);
  console.error("run exchange-sim --help for the flags");
  process.exit(2);
});
