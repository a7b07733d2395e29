import {
  cpSync,
  existsSync,
  globSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { build, type Metafile, type Plugin } from "esbuild";
import { runtimeBundlePlugins } from "../bot-runtime/bundle.ts";

// The programs' production build (the first step of `npm run build`): each one bundled by esbuild into
// dist/<folder>/main.js with what it imports from node_modules, minified, so the image needs no
// node_modules at all, and dist/THIRD_PARTY_LICENSES with the licences of everything bundled. The entry
// points keep their first line (`#!/usr/bin/env ...`, the operator's with its V8 flag). Source maps
// (without the sources) are written beside each bundle for a local `node --enable-source-maps`; the image
// leaves them out (image/recipe.ts). `npm run build` then type-checks the sources (tsconfig.build.json:
// esbuild strips the types without checking them) and builds the console's page.
// Usage: node build/bundle.ts

const root = join(import.meta.dirname, "..");
const dist = join(root, "dist");

export interface ProgramBundle {
  /** The folder under dist/ and the source folder of its main.ts. */
  folder: string;
  plugins?: readonly Plugin[];
  /**
   * Dynamic imports as files of their own beside main.js, loaded when the import runs. Otherwise they are
   * part of main.js: evaluated only when imported, but their source is in the heap from the start.
   */
  lazyChunks?: boolean;
  /** Source folders copied beside the bundle: folder under the repository -> name under dist/<folder>/. */
  besides?: Record<string, string>;
}

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

/**
 * Optional packages that their users load inside a try, and do without: native add-ons (ws's bufferutil
 * and utf-8-validate, pg-native), debug's supports-color, and the protobufjs of ccxt's dydx code (an
 * optional peer, not installed). Absent, as when they are not installed, without a look into node_modules.
 */
const optionalPackagesAbsent: Plugin = {
  name: "optional-packages-absent",
  setup(bundle) {
    bundle.onResolve(
      { filter: /^(bufferutil|utf-8-validate|pg-native|supports-color|protobufjs(\/.*)?)$/ },
      (args) => ({
        path: args.path,
        namespace: "absent",
      }),
    );
    bundle.onLoad({ filter: /.*/, namespace: "absent" }, (args) => ({
      contents: `throw Object.assign(new Error(${JSON.stringify(`${args.path} is not in the bundle`)}), { code: "MODULE_NOT_FOUND" });`,
      loader: "js",
    }));
  },
};

/**
 * The operator imports @kubernetes/client-node only for credentials that need a plugin
 * (operator/kube/kubeconfig.ts). A dynamic import keeps every export of the package, 3 MB of generated API
 * clients; the importer destructures the names it uses, so its chunk gets those and what they reach. An
 * import written another way fails the build rather than lose an export.
 */
const lazyClientNodeNarrowed: Plugin = {
  name: "lazy-client-node-narrowed",
  setup(bundle) {
    bundle.onResolve({ filter: /^@kubernetes\/client-node$/ }, (args) => {
      if (args.kind !== "dynamic-import") return undefined;
      const source = readFileSync(args.importer, "utf8");
      const imports = source.match(/import\(\s*["']@kubernetes\/client-node["']\s*\)/g) ?? [];
      const destructured = [
        ...source.matchAll(/const \{([\w\s,]+)\} = await import\("@kubernetes\/client-node"\);/g),
      ];
      if (destructured.length !== imports.length) {
        return {
          errors: [
            {
              text: `${relative(root, args.importer)}: write each dynamic import of @kubernetes/client-node as \`const { Name, ... } = await import("@kubernetes/client-node");\` (build/bundle.ts keeps only those names)`,
            },
          ],
        };
      }
      const names = new Set(destructured.flatMap((match) => (match[1] as string).split(",")));
      return {
        // Relative, so the chunk's name does not depend on where the checkout is.
        path: relative(root, args.importer),
        namespace: "client-node-narrowed",
        pluginData: { names: [...names].map((name) => name.trim()).filter(Boolean), dir: args.resolveDir },
      };
    });
    bundle.onLoad({ filter: /.*/, namespace: "client-node-narrowed" }, (args) => ({
      contents: `export { ${args.pluginData.names.join(", ")} } from "@kubernetes/client-node";`,
      loader: "js",
      resolveDir: args.pluginData.dir,
    }));
  },
};

export const PROGRAM_BUNDLES: readonly ProgramBundle[] = [
  {
    folder: "bot-runtime",
    plugins: runtimeBundlePlugins,
    besides: { "bot-runtime/store/migrations": "migrations" },
  },
  // Only credential plugins load client-node: in a cluster it is never read.
  { folder: "operator", plugins: [lazyClientNodeNarrowed], lazyChunks: true },
  // Its page, dist/console/web/, is built after it (console/web/bundle.ts).
  { folder: "console" },
  { folder: "exchange-sim" },
];

/**
 * Packages in the image outside the programs' bundles: the console's page (console/web/bundle.ts) carries
 * uPlot, in app.js and as uplot.css.
 */
const PAGE_PACKAGES = ["uplot"] as const;

const LICENCE_FILE = /^(un)?(licen[cs]e|copying|notice)([-._].*)?$/i;

/** A README's licence section, for the packages that have no licence file: the heading to the next one. */
function readmeLicence(folder: string): string | undefined {
  const readme = readdirSync(join(root, folder)).find((name) => /^readme(\.md)?$/i.test(name));
  if (!readme) return undefined;
  const text = readFileSync(join(root, folder, readme), "utf8");
  return /^#+ *licen[cs]e.*\n[\s\S]*?(?=^#|(?![\s\S]))/im.exec(text)?.[0].trim();
}

async function bundleProgram(program: ProgramBundle): Promise<{ metafile: Metafile; legal: string[] }> {
  const outdir = join(dist, program.folder);
  const result = await build({
    absWorkingDir: root,
    entryPoints: { main: join(root, program.folder, "main.ts") },
    outdir,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22.19",
    splitting: program.lazyChunks ?? false,
    minify: true,
    // Error class names stay readable in logs (pino's `err.type`).
    keepNames: true,
    // Non-ASCII characters escaped, so V8 holds the source as a one-byte string.
    charset: "ascii",
    // Collected into THIRD_PARTY_LICENSES below.
    legalComments: "external",
    sourcemap: "linked",
    sourcesContent: false,
    metafile: true,
    logLevel: "warning",
    // The CommonJS dependencies (pg, pino, prom-client, undici, ...) call require.
    banner: {
      js: 'import { createRequire as bundleCreateRequire } from "node:module"; const require = bundleCreateRequire(import.meta.url);',
    },
    plugins: [...(program.plugins ?? []), builtinsByRequire, optionalPackagesAbsent],
  });
  for (const [output, { imports }] of Object.entries(result.metafile.outputs)) {
    const outside = imports.filter((i) => i.external && !i.path.startsWith("node:")).map((i) => i.path);
    if (outside.length > 0) {
      throw new Error(
        `${output} imports ${outside.join(", ")} from outside the bundle: the image has no node_modules`,
      );
    }
  }
  for (const [from, to] of Object.entries(program.besides ?? {}))
    cpSync(join(root, from), join(outdir, to), { recursive: true });
  const legal: string[] = [];
  for (const file of globSync("**/*.LEGAL.txt", { cwd: outdir }).sort()) {
    legal.push(
      `${program.folder}/${file.replace(/\.LEGAL\.txt$/, "")}:\n${readFileSync(join(outdir, file), "utf8").trim()}`,
    );
    rmSync(join(outdir, file));
  }
  return { metafile: result.metafile, legal };
}

/** The folder of the package a bundled file comes from: the path up to the name after the last node_modules. */
function packageFolder(input: string): string | undefined {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  return match?.[1];
}

interface BundledPackage {
  folder: string;
  /** Where it is bundled: dist/<folder> of the programs, or the console's page. */
  in: Set<string>;
}

/**
 * Every bundled package once, with where it is bundled, its declared licence and its licence files, then
 * the licence comments esbuild found in the bundled code (vendored code inside a package, such as ccxt's
 * static dependencies, has its licence there).
 */
function thirdPartyLicenses(packages: readonly BundledPackage[], legal: readonly string[]): string {
  const rule = "=".repeat(100);
  const byName = new Map<string, BundledPackage & { license?: string }>();
  for (const bundled of packages) {
    const manifest = JSON.parse(readFileSync(join(root, bundled.folder, "package.json"), "utf8")) as {
      name: string;
      version: string;
      license?: string;
    };
    const key = `${manifest.name} ${manifest.version}`;
    const known = byName.get(key);
    if (known) for (const where of bundled.in) known.in.add(where);
    else byName.set(key, { ...bundled, in: new Set(bundled.in), license: manifest.license });
  }
  const sections = [...byName]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, bundled]) => {
      const files = readdirSync(join(root, bundled.folder))
        .filter((name) => LICENCE_FILE.test(name))
        .sort()
        .map((name) => `--- ${name}\n\n${readFileSync(join(root, bundled.folder, name), "utf8").trim()}`);
      return [
        rule,
        `${key}, licence: ${bundled.license ?? "not declared"}; in ${[...bundled.in].sort().join(", ")}`,
        "",
        files.length > 0
          ? files.join("\n\n")
          : `(no licence file in the package; from its README)\n\n${readmeLicence(bundled.folder) ?? "(none)"}`,
      ].join("\n");
    });
  return [
    "Third-party software in this build: the packages bundled into the programs under dist/ (build/bundle.ts)",
    "and into the console's page, each with its licence files.",
    "",
    ...sections,
    rule,
    "Licence comments in the bundled code, by bundle and source file",
    "",
    ...legal,
    "",
  ].join("\n");
}

async function bundlePrograms(): Promise<void> {
  // dist/ holds this build's output only (whatever an earlier build left would reach the image), but for
  // the images `make image-oci` writes to dist/image/.
  if (existsSync(dist)) {
    for (const name of readdirSync(dist)) if (name !== "image") rmSync(join(dist, name), { recursive: true });
  }
  mkdirSync(dist, { recursive: true });
  const packages: BundledPackage[] = PAGE_PACKAGES.map((name) => ({
    folder: `node_modules/${name}`,
    in: new Set(["dist/console/web"]),
  }));
  const legal: string[] = [];
  for (const program of PROGRAM_BUNDLES) {
    const result = await bundleProgram(program);
    const folders = new Set(
      Object.keys(result.metafile.inputs)
        .map(packageFolder)
        .filter((f) => f !== undefined),
    );
    for (const folder of folders) packages.push({ folder, in: new Set([`dist/${program.folder}`]) });
    legal.push(...result.legal);
  }
  writeFileSync(join(dist, "THIRD_PARTY_LICENSES"), thirdPartyLicenses(packages, legal));
}

if (import.meta.main) await bundlePrograms();
