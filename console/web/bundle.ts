// Builds the console's page into dist/console/web/: the app bundled into one script (no CDN, no inline
// script: the CSP allows only the console's own files), beside its HTML and CSS and uPlot's CSS.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const source = dirname(fileURLToPath(import.meta.url));
const out = join(source, "..", "..", "dist", "console", "web");

mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(source, "app", "main.ts")],
  outfile: join(out, "app.js"),
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: false,
  logLevel: "warning",
});
for (const file of ["index.html", "console.css"]) copyFileSync(join(source, file), join(out, file));
// The chart library's stylesheet, served by the console like its own (the CSP allows no other origin).
copyFileSync(fileURLToPath(import.meta.resolve("uplot/dist/uPlot.min.css")), join(out, "uplot.css"));
