// Builds the image without a container engine: the rootfs of image/recipe.ts packed by umoci into an OCI
// image layout, one layer, with the recipe's configuration. Builds are cached under
// $TRADINGBOT_CACHE_DIR/image/, keyed by everything that goes into them, so an unchanged tree is not
// rebuilt; `--archive` writes the layout as one tar (skopeo's oci-archive, `ctr images import`).
// Usage: node image/oci.ts [--archive dist/image/tradingbot-operator-oci.tar]
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { binaryCacheDir, parseVersions } from "../test/cluster/binaries.ts";
import {
  IMAGE_REPOSITORY,
  type ImageConfig,
  type ImageMetadata,
  imageConfig,
  leftOutOfImage,
  nodeVersion,
} from "./recipe.ts";
import { assembleRootfs, type RootfsEntry } from "./rootfs.ts";
import { formatSizeBreakdown, sizeBreakdown } from "./size.ts";

const REPO_ROOT = join(import.meta.dirname, "..");
const VERSIONS_FILE = join(REPO_ROOT, "test", "cluster", "versions.env");
/** Builds kept in the cache: the current one and a few before it, for a tree that goes back and forth. */
const BUILDS_KEPT = 3;

export interface BuiltImage {
  /** The OCI image layout. */
  layout: string;
  /** Its one tag: the version. */
  tag: string;
  metadata: ImageMetadata;
  config: ImageConfig;
  sourceDateEpoch: number;
  /** What the image's one layer holds, as assembled. */
  files: RootfsEntry[];
  /** Whether the cache already held this build. */
  reused: boolean;
}

/** The umoci that test/cluster/build-binaries.sh builds, at the version versions.env pins. */
export function locateUmoci(env: NodeJS.ProcessEnv = process.env): { path: string; version: string } {
  const version = parseVersions(readFileSync(VERSIONS_FILE, "utf8")).UMOCI_VERSION;
  if (!version) throw new Error("test/cluster/versions.env has no UMOCI_VERSION: umoci is pinned there");
  const path = join(binaryCacheDir(env), `umoci-${version}`, "umoci");
  if (!existsSync(path)) {
    throw new Error(`umoci ${version} is not built (missing ${path}): run \`make cluster-binaries\``);
  }
  return { path, version };
}

function git(args: string[]): string | undefined {
  const result = spawnSync("git", args, { cwd: REPO_ROOT, encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** SOURCE_DATE_EPOCH when set, else the time of the checked-out commit: the image's every timestamp. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.SOURCE_DATE_EPOCH ?? git(["log", "-1", "--format=%ct"]) ?? "0";
  const epoch = Number(text);
  if (!Number.isInteger(epoch) || epoch < 0) {
    throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since 1970, not ${JSON.stringify(text)}`);
  }
  return epoch;
}

export function imageMetadata(epoch: number): ImageMetadata {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
  return {
    version: pkg.version,
    revision: git(["rev-parse", "HEAD"]) ?? "unknown",
    created: new Date(epoch * 1000).toISOString().replace(/\.000Z$/, "Z"),
  };
}

/** A digest of everything the build reads: the recipe, the pins, package.json, dist/, the labels. */
function inputsKey(parts: Record<string, unknown>, distDir: string): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify(parts));
  /** Every file under `top` but those `skip` names by their path under `top`. */
  const tree = (top: string, skip: (path: string) => boolean = () => false) => {
    const walk = (dir: string) => {
      for (const name of readdirSync(dir).sort()) {
        const full = join(dir, name);
        if (skip(relative(top, full))) continue;
        const stats = lstatSync(full);
        hash.update(`\0${relative(REPO_ROOT, full)}\0${stats.mode & 0o111 ? "x" : "-"}`);
        if (stats.isSymbolicLink()) hash.update(readlinkSync(full));
        else if (stats.isDirectory()) walk(full);
        else hash.update(readFileSync(full));
      }
    };
    walk(top);
  };
  tree(join(REPO_ROOT, "image"));
  hash.update(readFileSync(join(REPO_ROOT, "package.json")));
  tree(distDir, leftOutOfImage);
  return hash.digest("hex");
}

/** Removes builds interrupted by a process that is gone, and all but the most recently used builds. */
function pruneBuilds(buildsDir: string) {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "EPERM";
    }
  };
  const builds: { dir: string; used: number }[] = [];
  for (const name of readdirSync(buildsDir)) {
    const staged = /^\.staged-(\d+)-/.exec(name);
    if (staged) {
      if (!alive(Number(staged[1]))) rmSync(join(buildsDir, name), { recursive: true, force: true });
    } else {
      builds.push({ dir: join(buildsDir, name), used: statSync(join(buildsDir, name)).mtimeMs });
    }
  }
  builds.sort((a, b) => b.used - a.used);
  for (const old of builds.slice(BUILDS_KEPT)) rmSync(old.dir, { recursive: true, force: true });
}

/** The image of the current tree (dist/ must be built), from the cache when its inputs have not changed. */
export function buildImage(
  options: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): BuiltImage {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const umociBinary = locateUmoci(env);
  const epoch = sourceDateEpoch(env);
  const metadata = imageMetadata(epoch);
  const config = imageConfig(metadata);
  const tag = metadata.version;
  const distDir = join(REPO_ROOT, "dist");
  if (!existsSync(distDir)) throw new Error("dist/ is missing: run `make build` first");
  const keyOfInputs = () =>
    inputsKey({ node: nodeVersion(REPO_ROOT), umoci: umociBinary.version, metadata, epoch }, distDir);
  const key = keyOfInputs();
  const cacheDir = join(dirname(binaryCacheDir(env)), "image");
  const buildsDir = join(cacheDir, "builds");
  const buildDir = join(buildsDir, key.slice(0, 24));
  const layout = join(buildDir, "layout");
  const filesPath = join(buildDir, "files.json");
  mkdirSync(buildsDir, { recursive: true });

  let reused = existsSync(filesPath);
  if (reused) {
    log(`image ${IMAGE_REPOSITORY}:${tag}: inputs unchanged, reusing ${buildDir}`);
    const now = new Date();
    utimesSync(buildDir, now, now);
  } else {
    const staged = join(buildsDir, `.staged-${process.pid}-${Date.now()}`);
    mkdirSync(staged);
    try {
      const rootfs = join(staged, "rootfs");
      const files = assembleRootfs({
        repoRoot: REPO_ROOT,
        distDir,
        out: rootfs,
        downloads: join(cacheDir, "downloads"),
        sourceDateEpoch: epoch,
        log,
      });
      log(`packing with umoci ${umociBinary.version}`);
      packWithUmoci(umociBinary.path, rootfs, join(staged, "layout"), tag, config, epoch);
      rmSync(rootfs, { recursive: true, force: true });
      // A build of dist/ (or an edit) meanwhile would put a mix of two trees under this key.
      if (keyOfInputs() !== key) {
        throw new Error(
          "dist/ or the recipe changed while the image was built (a build ran meanwhile?): run again",
        );
      }
      writeFileSync(join(staged, "files.json"), JSON.stringify(files));
      try {
        renameSync(staged, buildDir);
      } catch (error) {
        // Another build of the same inputs finished first: same result, keep that one.
        if (!existsSync(join(buildDir, "files.json"))) throw error;
        reused = true;
      }
    } finally {
      rmSync(staged, { recursive: true, force: true });
    }
  }
  pruneBuilds(buildsDir);
  const files = JSON.parse(readFileSync(filesPath, "utf8")) as RootfsEntry[];
  return { layout, tag, metadata, config, sourceDateEpoch: epoch, files, reused };
}

/** A layout with one image, tagged `tag`: the rootfs as its one layer, and the recipe's configuration. */
function packWithUmoci(
  umociPath: string,
  rootfs: string,
  layout: string,
  tag: string,
  config: ImageConfig,
  epoch: number,
) {
  const image = `${layout}:${tag}`;
  const umoci = (args: string[]) => {
    const result = spawnSync(umociPath, args, {
      encoding: "utf8",
      env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
    });
    if (result.status !== 0) {
      throw new Error(
        `umoci ${args.join(" ")} failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stderr}`,
      );
    }
  };
  umoci(["init", "--layout", layout]);
  umoci(["new", "--image", image]);
  // --rootless: files owned by whoever builds are root's in the layer, so a build needs no root.
  umoci(["insert", "--rootless", "--image", image, "--history.created_by", "image/rootfs.ts", rootfs, "/"]);
  umoci([
    "config",
    "--no-history",
    "--image",
    image,
    "--platform.os=linux",
    "--platform.arch=amd64",
    `--config.user=${config.user}`,
    ...Object.entries(config.env).map(([name, value]) => `--config.env=${name}=${value}`),
    `--config.workingdir=${config.workingDir}`,
    ...config.entrypoint.map((word) => `--config.entrypoint=${word}`),
    ...config.cmd.map((word) => `--config.cmd=${word}`),
    ...Object.entries(config.labels).map(([name, value]) => `--config.label=${name}=${value}`),
  ]);
  // The blobs of the steps before the last one.
  umoci(["gc", "--layout", layout]);
  nameForContainerd(layout, `${IMAGE_REPOSITORY}:${tag}`);
}

/** containerd names an imported image by this annotation (as BuildKit's OCI exporter writes it). */
function nameForContainerd(layout: string, reference: string) {
  const indexPath = join(layout, "index.json");
  const index = JSON.parse(readFileSync(indexPath, "utf8")) as {
    manifests: { annotations?: Record<string, string> }[];
  };
  for (const manifest of index.manifests) {
    manifest.annotations = { ...manifest.annotations, "io.containerd.image.name": reference };
  }
  writeFileSync(indexPath, JSON.stringify(index));
}

/** The layout as one tar, the same bytes for the same image (sorted, owned by root, at the epoch). */
export function writeArchive(image: BuiltImage, archive: string) {
  mkdirSync(dirname(archive), { recursive: true });
  const partial = `${archive}.partial-${process.pid}`;
  const result = spawnSync(
    "tar",
    [
      "--create",
      `--file=${partial}`,
      `--directory=${image.layout}`,
      "--sort=name",
      "--format=posix",
      "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
      `--mtime=@${image.sourceDateEpoch}`,
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "--mode=u=rwX,go=rX",
      "oci-layout",
      "index.json",
      "blobs",
    ],
    { encoding: "utf8" },
  );
  if (result.status !== 0) {
    rmSync(partial, { force: true });
    throw new Error(`tar (GNU tar) failed writing ${archive}: ${result.error?.message ?? result.stderr}`);
  }
  renameSync(partial, archive);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const archiveFlag = args.indexOf("--archive");
  const archive = archiveFlag >= 0 ? args[archiveFlag + 1] : undefined;
  if (args.length !== (archiveFlag >= 0 ? 2 : 0) || (archiveFlag >= 0 && !archive)) {
    console.error("usage: node image/oci.ts [--archive <file.tar>]");
    process.exit(2);
  }
  try {
    const image = buildImage({ log: (line) => console.log(line) });
    console.log(`OCI layout: ${image.layout} (tag ${image.tag})`);
    console.log(formatSizeBreakdown(sizeBreakdown(image.files)));
    if (archive) {
      writeArchive(image, resolve(archive));
      console.log(`OCI archive: ${archive} (${(statSync(archive).size / 1e6).toFixed(1)} MB)`);
      console.log(
        `load it with: ctr -n k8s.io images import ${archive}  |  skopeo copy oci-archive:${archive} <destination>`,
      );
    }
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
