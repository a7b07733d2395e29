// What takes the space in the image, from the rootfs listing: the numbers behind its size budget.
import { APP_DIR, NODE } from "./recipe.ts";
import type { RootfsEntry } from "./rootfs.ts";

export interface SizeRow {
  what: string;
  bytes: number;
}

/** Bytes of file content by part of the image, largest first; the build output by program. */
export function sizeBreakdown(entries: readonly RootfsEntry[]): SizeRow[] {
  const parts = new Map<string, number>();
  const dist = `${APP_DIR}/dist/`;
  for (const entry of entries) {
    if (entry.type !== "file") continue;
    const add = (what: string) => parts.set(what, (parts.get(what) ?? 0) + entry.size);
    if (entry.path === NODE.path) add(`node binary (/${NODE.path})`);
    else if (entry.path.startsWith(dist)) add(`dist/${entry.path.slice(dist.length).split("/")[0]}`);
    else if (/^(usr\/)?lib(64)?\//.test(entry.path)) add("glibc, libstdc++, libgcc");
    else if (entry.path.startsWith("usr/share/zoneinfo/")) add("tzdata");
    else add("the rest (/etc, CA bundle, env, package.json)");
  }
  return [...parts].map(([what, bytes]) => ({ what, bytes })).sort((a, b) => b.bytes - a.bytes);
}

export function formatSizeBreakdown(rows: readonly SizeRow[]): string {
  const total = rows.reduce((sum, row) => sum + row.bytes, 0);
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1).padStart(6)} MB`;
  return [...rows.map((row) => `${mb(row.bytes)}  ${row.what}`), `${mb(total)}  total`].join("\n");
}
