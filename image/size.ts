// What takes the space in the image, from the rootfs listing: the numbers behind its size budget.
import { APP_DIR, NODE } from "./recipe.ts";
import type { RootfsEntry } from "./rootfs.ts";

export interface SizeRow {
  what: string;
  bytes: number;
}

/** Bytes of file content by part of the image, largest first; the biggest dependencies by name. */
export function sizeBreakdown(entries: readonly RootfsEntry[], topDependencies = 6): SizeRow[] {
  const parts = new Map<string, number>();
  const dependencies = new Map<string, number>();
  const modules = `${APP_DIR}/node_modules/`;
  for (const entry of entries) {
    if (entry.type !== "file") continue;
    const add = (what: string) => parts.set(what, (parts.get(what) ?? 0) + entry.size);
    if (entry.path === NODE.path) add(`node binary (/${NODE.path})`);
    else if (entry.path.startsWith(modules)) {
      const [scope, name] = entry.path.slice(modules.length).split("/");
      const dependency = scope?.startsWith("@") ? `${scope}/${name}` : (scope as string);
      dependencies.set(dependency, (dependencies.get(dependency) ?? 0) + entry.size);
    } else if (entry.path.startsWith(`${APP_DIR}/dist/`)) add("dist/ (the build output)");
    else if (/^(usr\/)?lib(64)?\//.test(entry.path)) add("glibc, libstdc++, libgcc");
    else if (entry.path.startsWith("usr/share/zoneinfo/")) add("tzdata");
    else add("the rest (/etc, CA bundle, env, package.json)");
  }
  const ranked = [...dependencies].sort((a, b) => b[1] - a[1]);
  for (const [name, bytes] of ranked.slice(0, topDependencies)) parts.set(`node_modules: ${name}`, bytes);
  const others = ranked.slice(topDependencies);
  parts.set(
    `node_modules: ${others.length} other packages`,
    others.reduce((sum, [, bytes]) => sum + bytes, 0),
  );
  return [...parts].map(([what, bytes]) => ({ what, bytes })).sort((a, b) => b.bytes - a.bytes);
}

export function formatSizeBreakdown(rows: readonly SizeRow[]): string {
  const total = rows.reduce((sum, row) => sum + row.bytes, 0);
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1).padStart(6)} MB`;
  return [...rows.map((row) => `${mb(row.bytes)}  ${row.what}`), `${mb(total)}  total`].join("\n");
}
