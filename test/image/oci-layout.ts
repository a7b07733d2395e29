// Reads an OCI image layout as a registry or a runtime would: index -> manifest -> config and layers, and
// a layer's tar headers, so the tests check the image umoci wrote rather than the folder it came from.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface OciImage {
  index: { manifests: Descriptor[] };
  manifest: { config: Descriptor; layers: Descriptor[] };
  config: {
    architecture: string;
    os: string;
    created?: string;
    config: {
      User?: string;
      Env?: string[];
      Entrypoint?: string[] | null;
      Cmd?: string[];
      WorkingDir?: string;
      Labels?: Record<string, string>;
    };
    rootfs: { diff_ids: string[] };
  };
}

export interface LayerEntry {
  /** Without a leading "./" or "/" and without a trailing "/"; "" for the root folder. */
  path: string;
  type: "dir" | "file" | "symlink" | "hardlink" | "other";
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  target?: string;
}

export function blobPath(layout: string, descriptor: Descriptor): string {
  const [algorithm, hex] = descriptor.digest.split(":");
  return join(layout, "blobs", algorithm as string, hex as string);
}

export function readOciImage(layout: string): OciImage {
  const json = (path: string) => JSON.parse(readFileSync(path, "utf8"));
  const index = json(join(layout, "index.json")) as OciImage["index"];
  const [descriptor] = index.manifests;
  if (!descriptor) throw new Error(`${layout}/index.json lists no manifest`);
  const manifest = json(blobPath(layout, descriptor)) as OciImage["manifest"];
  return { index, manifest, config: json(blobPath(layout, manifest.config)) };
}

/** The entries of a gzip-compressed tar layer (ustar and PAX headers, as Go's archive/tar writes them). */
export function readLayer(path: string): LayerEntry[] {
  const tar = gunzipSync(readFileSync(path));
  const entries: LayerEntry[] = [];
  const text = (start: number, length: number) =>
    tar.toString("utf8", start, start + length).replace(/\0.*$/s, "");
  const octal = (start: number, length: number) => Number.parseInt(text(start, length).trim() || "0", 8);
  let pax: Record<string, string> = {};
  for (let offset = 0; offset + 512 <= tar.length; ) {
    if (tar.subarray(offset, offset + 512).every((byte) => byte === 0)) break;
    const typeflag = String.fromCharCode(tar[offset + 156] as number);
    const size = pax.size ? Number(pax.size) : octal(offset + 124, 12);
    const body = offset + 512;
    const next = body + Math.ceil(size / 512) * 512;
    if (typeflag === "x") {
      pax = {};
      const records = tar.toString("utf8", body, body + size);
      for (const match of records.matchAll(/\d+ ([^=]+)=([^\n]*)\n/g))
        pax[match[1] as string] = match[2] as string;
    } else if (typeflag === "g") {
      pax = {};
    } else {
      const prefix = text(offset + 345, 155);
      const name = pax.path ?? (prefix ? `${prefix}/${text(offset, 100)}` : text(offset, 100));
      const types: Record<string, LayerEntry["type"]> = {
        "0": "file",
        "": "file",
        "5": "dir",
        "2": "symlink",
      };
      const entry: LayerEntry = {
        path: name.replace(/^\.?\//, "").replace(/\/$/, ""),
        type: types[typeflag] ?? (typeflag === "1" ? "hardlink" : "other"),
        mode: octal(offset + 100, 8) & 0o7777,
        uid: pax.uid ? Number(pax.uid) : octal(offset + 108, 8),
        gid: pax.gid ? Number(pax.gid) : octal(offset + 116, 8),
        size,
        mtime: pax.mtime ? Math.floor(Number(pax.mtime)) : octal(offset + 136, 12),
      };
      if (typeflag === "1" || typeflag === "2") entry.target = pax.linkpath ?? text(offset + 157, 100);
      entries.push(entry);
      pax = {};
    }
    offset = next;
  }
  return entries;
}
