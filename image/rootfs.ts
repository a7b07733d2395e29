// Assembles the image's root filesystem from image/recipe.ts: Node's binary from the npm registry, the parts
// of the pinned Debian packages (apt-get download, dpkg-deb), the written /etc files, and the application
// (package.json and dist/, its programs bundled). Everything ends up owned by whoever runs this, with
// normalised modes and every mtime at SOURCE_DATE_EPOCH, so the same inputs give the same files.
// Usage: SOURCE_DATE_EPOCH=<seconds> node image/rootfs.ts <out>   (the Dockerfile's rootfs stage)
import { type SpawnSyncOptions, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  globSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  APP_CONTENTS,
  APP_DIR,
  DEBIAN_PARTS,
  type DebianPart,
  type DebianPin,
  debianPins,
  leftOutOfImage,
  NODE,
  nodeVersion,
  PROGRAM_DIR,
  programs,
  WRITABLE_DIRS,
  WRITTEN_FILES,
} from "./recipe.ts";

export interface RootfsOptions {
  repoRoot: string;
  /** The build output to run (`npm run build`); <repoRoot>/dist unless given. */
  distDir?: string;
  /** The folder to create: it must not exist yet. */
  out: string;
  /** Where the Node package and the .deb files are downloaded to, and found again by the next build. */
  downloads: string;
  /** Every mtime of the rootfs, in seconds. */
  sourceDateEpoch: number;
  log?: (line: string) => void;
}

export interface RootfsEntry {
  /** Relative to the root, without a leading or trailing slash. */
  path: string;
  type: "dir" | "file" | "symlink";
  /** Permission bits, with setuid/setgid/sticky. */
  mode: number;
  /** Bytes, for files. */
  size: number;
  /** For symlinks. */
  target?: string;
}

/** Builds the rootfs into `options.out` and returns what it holds. */
export function assembleRootfs(options: RootfsOptions): RootfsEntry[] {
  const { repoRoot, out, downloads, sourceDateEpoch } = options;
  const log = options.log ?? (() => {});
  const distDir = options.distDir ?? join(repoRoot, "dist");
  const apps = programs(repoRoot);
  const missing = Object.values(apps).filter((path) => !existsSync(join(distDir, relative("dist", path))));
  if (missing.length > 0) throw new Error(`${missing.join(", ")} missing: run \`make build\` first`);
  if (existsSync(out)) throw new Error(`${out} exists: the rootfs is assembled into a new folder`);
  mkdirSync(downloads, { recursive: true });
  mkdirSync(dirname(out), { recursive: true });
  // Beside `out`, so finished parts move into it by rename.
  const work = mkdtempSync(join(dirname(out), ".rootfs-work-"));
  mkdirSync(out);
  try {
    log(`node ${nodeVersion(repoRoot)} from the npm package ${NODE.npmPackage}`);
    const node = nodeBinary(repoRoot, downloads, work);
    mkdirSync(dirname(join(out, NODE.path)), { recursive: true });
    renameSync(node, join(out, NODE.path));

    const pins = debianPins();
    for (const part of DEBIAN_PARTS) {
      const pin = pins.packages[part.package] as DebianPin;
      log(`${part.package} ${pin.version} from Debian ${pins.distribution}`);
      const deb = debianPackage(part.package, pin, pins.architecture, downloads);
      const extracted = join(work, `deb-${part.package}`);
      run("dpkg-deb", ["-x", deb, extracted]);
      takeParts(part, extracted, out);
    }

    for (const [path, content] of Object.entries(WRITTEN_FILES)) {
      mkdirSync(dirname(join(out, path)), { recursive: true });
      writeFileSync(join(out, path), content);
    }
    for (const path of Object.keys(WRITABLE_DIRS)) mkdirSync(join(out, path));

    const app = join(out, APP_DIR);
    mkdirSync(app);
    for (const entry of APP_CONTENTS) {
      if (entry === "package.json") copyFileSync(join(repoRoot, "package.json"), join(app, "package.json"));
      else {
        cpSync(distDir, join(app, "dist"), {
          recursive: true,
          verbatimSymlinks: true,
          filter: (source) => source === distDir || !leftOutOfImage(relative(distDir, source)),
        });
      }
    }
    for (const [name, path] of Object.entries(apps)) {
      mkdirSync(join(out, PROGRAM_DIR), { recursive: true });
      symlinkSync(`/${APP_DIR}/${path}`, join(out, PROGRAM_DIR, name));
    }
    // Executable whatever the checkout's or the build's umask; the programs are run by name.
    for (const path of Object.values(apps)) chmodSync(join(app, path), 0o755);
    normalise(out, out, sourceDateEpoch);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return listRootfs(out);
}

/** Every entry under `root`, depth first with each folder's names sorted: the order of the layer's tar. */
export function listRootfs(root: string): RootfsEntry[] {
  const entries: RootfsEntry[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const stats = lstatSync(full);
      const path = relative(root, full);
      const mode = stats.mode & 0o7777;
      if (stats.isSymbolicLink()) {
        entries.push({ path, type: "symlink", mode, size: 0, target: readlinkSync(full) });
      } else if (stats.isDirectory()) {
        entries.push({ path, type: "dir", mode, size: 0 });
        walk(full);
      } else if (stats.isFile()) {
        entries.push({ path, type: "file", mode, size: stats.size });
      } else {
        throw new Error(`${full} is neither a file, a folder nor a symlink`);
      }
    }
  };
  walk(root);
  return entries;
}

function run(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    throw new Error(
      code === "ENOENT"
        ? `${command} is not installed: the image is assembled on Debian bookworm with apt-get, dpkg-deb, tar and npm`
        : `${command} ${args.join(" ")}: ${result.error.message}`,
    );
  }
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed (exit ${result.status}):\n${String(result.stderr).trim().split("\n").slice(-20).join("\n")}`,
    );
  }
  return String(result.stdout);
}

/** The npm beside the running node, run by that node (its `#!/usr/bin/env node` finds it first on PATH). */
function npm(args: string[], cwd: string): string {
  const nodeDir = dirname(process.execPath);
  const command = existsSync(join(nodeDir, "npm")) ? join(nodeDir, "npm") : "npm";
  return run(command, args, { cwd, env: { ...process.env, PATH: `${nodeDir}:${process.env.PATH ?? ""}` } });
}

function nodeBinary(repoRoot: string, downloads: string, work: string): string {
  const version = nodeVersion(repoRoot);
  const tarball = join(downloads, `${NODE.npmPackage}-${version}.tgz`);
  if (!existsSync(tarball)) {
    // npm checks the tarball against the integrity the registry publishes for it.
    const staging = mkdtempSync(join(downloads, ".npm-pack-"));
    try {
      npm(["pack", "--silent", `${NODE.npmPackage}@${version}`, "--pack-destination", staging], staging);
      renameSync(join(staging, `${NODE.npmPackage}-${version}.tgz`), tarball);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  const into = join(work, "node");
  mkdirSync(into);
  run("tar", ["-xzf", tarball, "-C", into, `package/${NODE.file}`]);
  return join(into, "package", NODE.file);
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** The pinned .deb, downloaded once and checked against its pinned checksum every time. */
function debianPackage(name: string, pin: DebianPin, architecture: string, downloads: string): string {
  const deb = join(downloads, `${name}_${pin.version.replaceAll(":", "%3a")}_${architecture}.deb`);
  if (!existsSync(deb)) {
    const staging = mkdtempSync(join(downloads, ".apt-download-"));
    try {
      try {
        run("apt-get", ["download", `${name}:${architecture}=${pin.version}`], { cwd: staging });
      } catch (error) {
        throw new Error(
          `apt-get download ${name}=${pin.version} failed: run \`apt-get update\`; if the bookworm repositories no longer serve that version, pin what they serve with \`node image/pin-debian-packages.ts\` and review the change\n${(error as Error).message}`,
        );
      }
      const [file] = readdirSync(staging).filter((entry) => entry.endsWith(".deb"));
      if (!file) throw new Error(`apt-get download ${name}=${pin.version} wrote no .deb file`);
      renameSync(join(staging, file), deb);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  const actual = sha256(deb);
  if (actual !== pin.sha256) {
    rmSync(deb);
    throw new Error(
      `${name}=${pin.version} has sha256 ${actual}, image/debian-packages.json pins ${pin.sha256}: the repository serves another build under that version; re-pin with \`node image/pin-debian-packages.ts\` and review`,
    );
  }
  return deb;
}

function takeParts(part: DebianPart, extracted: string, out: string) {
  for (const pattern of part.take ?? []) {
    const matches = globSync(pattern, { cwd: extracted });
    if (matches.length === 0) throw new Error(`${part.package} has no ${pattern}: review image/recipe.ts`);
    for (const path of matches) {
      mkdirSync(dirname(join(out, path)), { recursive: true });
      cpSync(join(extracted, path), join(out, path), { recursive: true, verbatimSymlinks: true });
    }
  }
  if (part.concatenate) {
    const files = globSync(part.concatenate.files, { cwd: extracted }).sort();
    if (files.length === 0) {
      throw new Error(`${part.package} has no ${part.concatenate.files}: review image/recipe.ts`);
    }
    const into = join(out, part.concatenate.into);
    mkdirSync(dirname(into), { recursive: true });
    writeFileSync(into, "");
    for (const file of files) {
      const text = readFileSync(join(extracted, file), "utf8");
      appendFileSync(into, text.endsWith("\n") ? text : `${text}\n`);
    }
  }
}

/** Folders 0755 (but the writable ones), files 0755 or 0644 by their execute bit, every mtime the epoch. */
function normalise(root: string, path: string, epoch: number) {
  const stats = lstatSync(path);
  if (stats.isDirectory()) {
    for (const name of readdirSync(path)) normalise(root, join(path, name), epoch);
    chmodSync(path, WRITABLE_DIRS[relative(root, path)] ?? 0o755);
  } else if (stats.isFile()) {
    chmodSync(path, stats.mode & 0o111 ? 0o755 : 0o644);
  }
  lutimesSync(path, epoch, epoch);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2];
  if (!out || process.argv.length > 3) {
    console.error("usage: SOURCE_DATE_EPOCH=<seconds> node image/rootfs.ts <out>");
    process.exit(2);
  }
  const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? "0");
  if (!Number.isInteger(epoch) || epoch < 0) {
    console.error(`SOURCE_DATE_EPOCH must be whole seconds since 1970, not ${process.env.SOURCE_DATE_EPOCH}`);
    process.exit(2);
  }
  const downloads = mkdtempSync(join(tmpdir(), "tradingbot-image-downloads-"));
  try {
    const entries = assembleRootfs({
      repoRoot: join(import.meta.dirname, ".."),
      out: resolve(out),
      downloads,
      sourceDateEpoch: epoch,
      log: (line) => console.log(line),
    });
    const bytes = entries.reduce((sum, entry) => sum + entry.size, 0);
    console.log(`rootfs in ${out}: ${entries.length} entries, ${(bytes / 1e6).toFixed(1)} MB`);
  } finally {
    rmSync(downloads, { recursive: true, force: true });
  }
}
