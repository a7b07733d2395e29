import { cpSync, readFileSync, rmSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { binanceClassUrl } from "./exchange/load-binance-class.ts";

// The production build of the runtime (`npm run build`): one minified file, dist/bot-runtime/main.js, with
// the SQL migrations beside it (bot-runtime/store/migrate.ts finds them beside its module). A bot's memory
// is mostly code: loaded module by module, ccxt, zod and undici keep their whole source text in the heap
// (comments included, two bytes per character in a file with one non-Latin-1 character). The bundle holds
// only what the runtime reaches, minified and ASCII-escaped, and needs nothing from node_modules at run
// time; docs/runtime.md ("Memory") has the measurements.
// Usage: node bot-runtime/bundle.ts

const root = join(import.meta.dirname, "..");
const outdir = join(root, "dist", "bot-runtime");

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

/**
 * Node's built-in modules through `require`: an ESM import of one builds a facade that reads every export,
 * and node:http's lazy WebSocket exports then load Node's own undici too.
 */
const builtinsByRequire: Plugin = {
  name: "builtins-by-require",
  setup(bundle) {
    const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    bundle.onResolve({ filter: /^(node:)?[a-z0-9_/]+$/ }, (args) => {
      if (!builtins.has(args.path)) return undefined;
      const name = args.path.startsWith("node:") ? args.path : `node:${args.path}`;
      return args.kind === "require-call"
        ? { path: name, external: true }
        : { path: name, namespace: "builtin" };
    });
    bundle.onLoad({ filter: /.*/, namespace: "builtin" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: "js",
    }));
  },
};

/** Optional native add-ons (ws's bufferutil and utf-8-validate, pg-native): absent, as their users expect. */
const noNativeAddons: Plugin = {
  name: "no-native-addons",
  setup(bundle) {
    bundle.onResolve({ filter: /^(bufferutil|utf-8-validate|pg-native)$/ }, (args) => ({
      path: args.path,
      namespace: "absent",
    }));
    bundle.onLoad({ filter: /.*/, namespace: "absent" }, (args) => ({
      contents: `throw Object.assign(new Error(${JSON.stringify(`${args.path} is not in the runtime bundle`)}), { code: "MODULE_NOT_FOUND" });`,
      loader: "js",
    }));
  },
};

async function bundleRuntime(): Promise<void> {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: [join(root, "bot-runtime", "main.ts")],
    outfile: join(outdir, "main.js"),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22.19",
    minify: true,
    // Error class names stay readable in logs (pino's `err.type`).
    keepNames: true,
    // Non-ASCII characters escaped, so V8 holds the source as a one-byte string.
    charset: "ascii",
    legalComments: "linked",
    sourcemap: "linked",
    sourcesContent: false,
    logLevel: "warning",
    // The CommonJS dependencies (pg, pino, prom-client, undici) call require.
    banner: {
      js: 'import { createRequire as bundleCreateRequire } from "node:module"; const require = bundleCreateRequire(import.meta.url);',
    },
    plugins: [binanceClassOnly, ccxtForBinance, oneUndici, builtinsByRequire, noNativeAddons],
  });
  cpSync(join(root, "bot-runtime", "store", "migrations"), join(outdir, "migrations"), { recursive: true });
}

await bundleRuntime();
