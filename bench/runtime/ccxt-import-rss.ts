// Resident memory of a Node process that imports ccxt's whole bundle against one that imports only the
// binance class module, as the bot runtime does (bot-runtime/exchange/load-binance-class.ts). Each is
// measured in a fresh plain-JavaScript child process, after constructing one binance instance and a
// garbage collection.
//
// usage: node bench/runtime/ccxt-import-rss.ts [--runs N]
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { binanceClassUrl } from "../../bot-runtime/exchange/load-binance-class.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const runs = Number(values.runs);
const binanceModule = binanceClassUrl();

const programs = {
  "import only the binance class": `
    const Binance = (await import(${JSON.stringify(binanceModule)})).default;
    new Binance({});`,
  "import the whole ccxt bundle": `
    const ccxt = (await import("ccxt")).default;
    new ccxt.binance({});`,
  "node alone": "",
};

function rssMiB(program: string): number {
  const output = execFileSync(
    process.execPath,
    [
      "--expose-gc",
      "--input-type=module",
      "-e",
      `${program}\nglobalThis.gc(); console.log(process.memoryUsage().rss);`,
    ],
    { cwd: fileURLToPath(new URL("../../", import.meta.url)), encoding: "utf8" },
  );
  return Number(output.trim()) / 2 ** 20;
}

const rows: Record<string, { medianMiB: string }> = {};
for (const [name, program] of Object.entries(programs)) {
  const samples = Array.from({ length: runs }, () => rssMiB(program)).sort((a, b) => a - b);
  rows[name] = { medianMiB: (samples[Math.floor(samples.length / 2)] as number).toFixed(1) };
}
console.table(rows);
