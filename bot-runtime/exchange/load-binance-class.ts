import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { binance } from "ccxt";

// ccxt's package entry point loads every exchange it supports (about 65 MB more resident memory than one
// exchange class). Its package.json "exports" only exposes ".", so the binance class is imported by file
// URL from the installed package folder, found through Node's own resolution. The production bundle
// (bot-runtime/bundle.ts) imports that same file statically instead.

export type BinanceClass = typeof binance;

function ccxtPackageRoot(): string {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve("ccxt"));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "ccxt"
    ) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the folder of the installed ccxt package");
    dir = parent;
  }
}

/** The module of ccxt's binance class in the installed package. */
export function binanceClassUrl(): string {
  const file = join(ccxtPackageRoot(), "js", "src", "binance.js");
  if (!existsSync(file)) throw new Error(`the installed ccxt has no ${file}: its layout changed`);
  return pathToFileURL(file).href;
}

export async function loadBinanceClass(): Promise<BinanceClass> {
  const module = (await import(binanceClassUrl())) as { default: BinanceClass };
  return module.default;
}
