import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { Plugin } from "esbuild";
import { binanceClassUrl } from "./exchange/load-binance-class.ts";

// What the runtime's bundle needs beyond what every program's does (build/bundle.ts bundles them all): one
// minified file, dist/bot-runtime/main.js, with the SQL migrations beside it (bot-runtime/store/migrate.ts
// finds them beside its module). A bot's memory is mostly code: loaded module by module, ccxt, zod and
// undici keep their whole source text in the heap (comments included, two bytes per character in a file
// with one non-Latin-1 character). The bundle holds only what the runtime reaches, minified and
// ASCII-escaped, and needs nothing from node_modules at run time; docs/runtime.md ("Memory") has the
// measurements.

const root = join(import.meta.dirname, "..");

/** ccxt's package only exports its every-exchange entry: the binance class is imported by file instead. */
const binanceClassOnly: Plugin = {
  name: "binance-class-only",
  setup(bundle) {
    const binanceFile = fileURLToPath(binanceClassUrl());
    bundle.onLoad({ filter: /[\\/]exchange[\\/]load-binance-class\.ts$/ }, (args) => ({
      contents: [
        `import binance from ${JSON.stringify(binanceFile)};`,
        "export async function loadBinanceClass() { return binance; }",
      ].join("\n"),
      loader: "ts",
      resolveDir: dirname(args.path),
    }));
  },
};

/** Replaces `find` in a dependency's file, and fails the build when the file no longer has it. */
function patchSource(path: string, find: string | RegExp, replacement: string): string {
  const text = readFileSync(path, "utf8");
  const patched = text.replace(find, replacement);
  if (patched === text)
    throw new Error(`${relative(root, path)} no longer contains ${find}: review bundle.ts`);
  return patched;
}

/**
 * What ccxt loads only for other exchanges or for proxies, left out: mexc's protobuf and dydx's signing
 * (dynamic imports that would otherwise be bundled), and the optional proxy-agent packages it imports by
 * name on the first request (socks, ip-address, ...). The runtime sets no proxy; with one set, ccxt
 * answers NotSupported as it does when those packages are missing.
 */
const ccxtForBinance: Plugin = {
  name: "ccxt-for-binance",
  setup(bundle) {
    bundle.onResolve(
      { filter: /protobuf[\\/]mexc[\\/]|dydx-v4-client[\\/](registry|cosmos[\\/])/ },
      (args) => ({
        path: args.path,
        namespace: "not-bundled",
      }),
    );
    bundle.onLoad({ filter: /.*/, namespace: "not-bundled" }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not in the runtime bundle`)});`,
      loader: "js",
    }));
    bundle.onLoad({ filter: /[\\/]ccxt[\\/]js[\\/]src[\\/]base[\\/]Exchange\.js$/ }, (args) => ({
      contents: patchSource(
        args.path,
        /^const dynamicImport = async \(moduleName\) => await import\(.*$/m,
        "const dynamicImport = async (moduleName) => { throw new Error(moduleName + ' is not in the runtime bundle'); };",
      ),
      loader: "js",
    }));
  },
};

/**
 * Node's own undici (loaded by Node when `globalThis.Headers` is first read) would sit beside the one ccxt
 * uses. Only undici's cookie helpers read it, to also accept Node's Headers objects, which ccxt never
 * passes.
 */
const oneUndici: Plugin = {
  name: "one-undici",
  setup(bundle) {
    bundle.onLoad({ filter: /[\\/]undici[\\/]lib[\\/]web[\\/]cookies[\\/]index\.js$/ }, (args) => ({
      contents: patchSource(args.path, "[Headers, globalThis.Headers].filter(Boolean)", "[Headers]"),
      loader: "js",
    }));
  },
};

/** The runtime's own plugins: ccxt's binance class alone, and one undici. */
export const runtimeBundlePlugins: readonly Plugin[] = [binanceClassOnly, ccxtForBinance, oneUndici];
