// The image built without a container engine, by the recipe `make image-oci` runs (image/oci.ts: the rootfs of
// image/recipe.ts packed by umoci), read back as a runtime reads it: its configuration, the headers of its
// one layer, and its programs run from a read-only copy of that layer as uid 65532. The build is cached by
// its inputs, so an unchanged tree is not rebuilt.
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuiltImage, buildImage, locateUmoci } from "../../image/oci.ts";
import { IMAGE_REPOSITORY, IMAGE_USER, leftOutOfImage, nodeVersion, programs } from "../../image/recipe.ts";
import { formatSizeBreakdown, sizeBreakdown } from "../../image/size.ts";
import { blobPath, type LayerEntry, type OciImage, readLayer, readOciImage } from "./oci-layout.ts";

const REPO_ROOT = join(import.meta.dirname, "..", "..");
/**
 * Uncompressed, in MB: Node's binary alone is 127, the programs' bundles about 8 (docs/install.md, "The
 * container image"). The budget stops silent growth.
 */
const SIZE_BUDGET_MB = 150;

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };

let image: BuiltImage;
let oci: OciImage;
let layer: LayerEntry[];

beforeAll(() => {
  image = buildImage({ log: (line) => console.log(`[image] ${line}`) });
  oci = readOciImage(image.layout);
  const [only] = oci.manifest.layers;
  if (!only) throw new Error(`${image.layout}: the manifest has no layer`);
  layer = readLayer(blobPath(image.layout, only));
}, 600_000);

/** Files, folders and links of the layer but its root folder, without owner and time, as the build listed them. */
const contents = () =>
  layer
    .filter((entry) => entry.path !== "")
    .map(({ path, type, mode, size, target }) => ({ path, type, mode, size, ...(target ? { target } : {}) }));

describe("the image built by image/oci.ts", () => {
  it("is one linux/amd64 layer, tagged with the version and named for containerd", () => {
    expect(oci.manifest.layers).toHaveLength(1);
    expect(oci.config.rootfs.diff_ids).toHaveLength(1);
    expect(oci.manifest.layers[0]?.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    expect({ os: oci.config.os, architecture: oci.config.architecture }).toEqual({
      os: "linux",
      architecture: "amd64",
    });
    expect(oci.index.manifests).toHaveLength(1);
    expect(oci.index.manifests[0]?.annotations).toEqual({
      "org.opencontainers.image.ref.name": pkg.version,
      "io.containerd.image.name": `${IMAGE_REPOSITORY}:${pkg.version}`,
    });
  });

  it("runs tradingbot-operator as uid 65532 in /app, with no entrypoint, and carries the OCI labels", () => {
    const config = oci.config.config;
    expect(config.User).toBe("65532:65532");
    expect(config.WorkingDir).toBe("/app");
    expect(config.Cmd).toEqual(["tradingbot-operator"]);
    expect(config.Entrypoint ?? []).toEqual([]);
    expect(config.Env).toEqual(["NODE_ENV=production", "PATH=/usr/local/bin:/usr/bin"]);
    const head = spawnSync("git", ["rev-parse", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).stdout.trim();
    const created = new Date(image.sourceDateEpoch * 1000).toISOString().replace(".000Z", "Z");
    expect(config.Labels).toMatchObject({
      "org.opencontainers.image.title": "tradingbot-operator",
      "org.opencontainers.image.version": pkg.version,
      "org.opencontainers.image.revision": head,
      "org.opencontainers.image.created": created,
      "org.opencontainers.image.source": "https://github.com/botops/tradingbot-operator",
      "org.opencontainers.image.licenses": "Apache-2.0",
    });
    expect(oci.config.created).toBe(created);
  });

  it("holds what image/rootfs.ts assembled, all of it root's and none of it newer than SOURCE_DATE_EPOCH", () => {
    expect(contents()).toEqual(image.files);
    expect(layer.filter((entry) => entry.uid !== 0 || entry.gid !== 0).map((entry) => entry.path)).toEqual(
      [],
    );
    expect(layer.filter((entry) => entry.mtime > image.sourceDateEpoch).map((entry) => entry.path)).toEqual(
      [],
    );
    expect(layer.filter((entry) => entry.type === "hardlink" || entry.type === "other")).toEqual([]);
  });

  it("holds no shell, no package manager, and no program but node and env", () => {
    const names = new Set(layer.map((entry) => entry.path.split("/").at(-1)));
    for (const tool of [
      "sh",
      "bash",
      "dash",
      "busybox",
      "apt",
      "apt-get",
      "dpkg",
      "npm",
      "npx",
      "corepack",
      "yarn",
    ]) {
      expect(names.has(tool), tool).toBe(false);
    }
    const executables = layer
      .filter((entry) => entry.type === "file" && entry.mode & 0o111 && !entry.path.startsWith("app/"))
      .map((entry) => entry.path)
      // Shared objects are mapped, not run (ld-linux can run one, but only what the image already holds).
      .filter((path) => !/\/(lib[^/]*|ld-linux[^/]*)\.so(\.[\d.]+)?$/.test(path));
    expect(executables).toEqual(["usr/bin/env", "usr/local/bin/node"]);
  });

  it("holds, besides /app, Node, the programs' links, glibc and the C++ runtime, time zones, CA certificates, users and /tmp", () => {
    const allowed = [
      /^etc(\/ssl(\/certs(\/ca-certificates\.crt)?)?)?$/,
      /^etc\/(passwd|group|nsswitch\.conf)$/,
      /^lib(\/x86_64-linux-gnu(\/(ld-linux-x86-64\.so\.2|lib[^/]+\.so[.\d]*))?)?$/,
      /^lib64(\/ld-linux-x86-64\.so\.2)?$/,
      /^tmp$/,
      /^usr(\/bin(\/env)?|\/local(\/bin(\/node)?)?)?$/,
      /^usr\/lib(\/x86_64-linux-gnu(\/libstdc\+\+\.so\.6[.\d]*)?)?$/,
      /^usr\/share(\/zoneinfo(\/.*)?)?$/,
      /^app$/,
    ];
    const programLinks = Object.keys(programs(REPO_ROOT)).map((name) => `usr/local/bin/${name}`);
    const unexpected = contents()
      .map((entry) => entry.path)
      .filter((path) => !path.startsWith("app/") && !programLinks.includes(path))
      .filter((path) => !allowed.some((pattern) => pattern.test(path)));
    expect(unexpected).toEqual([]);
    const byPath = new Map(contents().map((entry) => [entry.path, entry]));
    expect(byPath.get("tmp")).toMatchObject({ type: "dir", mode: 0o1777 });
    expect(byPath.get("lib64/ld-linux-x86-64.so.2")).toMatchObject({ type: "symlink" });
    expect(byPath.get("usr/share/zoneinfo/Europe/Berlin")).toMatchObject({ type: "file" });
    expect(byPath.get("etc/ssl/certs/ca-certificates.crt")?.size).toBeGreaterThan(100_000);
    expect(byPath.get("usr/local/bin/node")?.size).toBeGreaterThan(50_000_000);
  });

  it("holds the application: package.json and dist/ as built but its source maps, and no node_modules", () => {
    const byPath = new Map(contents().map((entry) => [entry.path, entry]));
    expect(byPath.get("app/package.json")).toMatchObject({ type: "file", mode: 0o644 });
    for (const [name, path] of Object.entries(programs(REPO_ROOT))) {
      expect(byPath.get(`usr/local/bin/${name}`)).toMatchObject({ type: "symlink", target: `/app/${path}` });
      expect(byPath.get(`app/${path}`)).toMatchObject({ type: "file", mode: 0o755 });
    }
    // dist/, file by file (its build output `make image-oci` writes beside it and the source maps left out).
    const built: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir).sort()) {
        const full = join(dir, name);
        const path = relative(join(REPO_ROOT, "dist"), full);
        if (leftOutOfImage(path)) continue;
        if (statSync(full).isDirectory()) walk(full);
        else built.push(`app/dist/${path}:${statSync(full).size}`);
      }
    };
    walk(join(REPO_ROOT, "dist"));
    const inImage = contents()
      .filter((entry) => entry.type === "file" && entry.path.startsWith("app/dist/"))
      .map((entry) => `${entry.path}:${entry.size}`);
    expect(inImage.sort()).toEqual(built.sort());
    expect(inImage.filter((file) => /\.map:/.test(file))).toEqual([]);
    expect(byPath.get("app/dist/THIRD_PARTY_LICENSES")).toMatchObject({ type: "file" });
    expect(
      contents()
        .filter((entry) => entry.path.split("/").includes("node_modules"))
        .map((entry) => entry.path),
    ).toEqual([]);
  });

  it(`reports what takes the space, within its budget of ${SIZE_BUDGET_MB} MB uncompressed`, () => {
    const rows = sizeBreakdown(image.files);
    console.log(
      `[image] uncompressed size of ${IMAGE_REPOSITORY}:${image.tag}:\n${formatSizeBreakdown(rows)}`,
    );
    const total = rows.reduce((sum, row) => sum + row.bytes, 0);
    expect(total).toBe(contents().reduce((sum, entry) => sum + (entry.type === "file" ? entry.size : 0), 0));
    expect(total / 1e6).toBeLessThanOrEqual(SIZE_BUDGET_MB);
  });
});

const isRoot = process.getuid?.() === 0;

// Root only: a mount namespace and chroot need it. runc is not used yet: this is its file system and user,
// not its isolation.
describe.skipIf(!isRoot)("the image's programs, run as uid 65532 from its read-only rootfs", () => {
  let scratch: string;
  let rootfs: string;
  /**
   * In a mount namespace of its own: the rootfs bound read-only onto itself with an in-memory /tmp (as the
   * pods mount one), then the command run inside it as the image's user, in its working directory.
   */
  const inside = [
    "set -e",
    'root="$1" uid="$2" gid="$3" wd="$4"',
    "shift 4",
    'mount --bind "$root" "$root"',
    'mount -o remount,bind,ro "$root"',
    'mount -t tmpfs -o mode=1777,size=64m tmpfs "$root/tmp"',
    'exec unshare --root="$root" --wd="$wd" --setgid="$gid" --setuid="$uid" -- "$@"',
  ].join("\n");

  function run(args: string[], input?: string): SpawnSyncReturns<string> {
    const config = oci.config.config;
    const env = Object.fromEntries((config.Env ?? []).map((pair) => pair.split(/=(.*)/s).slice(0, 2)));
    return spawnSync(
      "unshare",
      [
        "--mount",
        "--fork",
        "--",
        "sh",
        "-c",
        inside,
        "sh",
        rootfs,
        ...(config.User ?? "").split(":"),
        config.WorkingDir ?? "/",
        ...args,
      ],
      { env, encoding: "utf8", timeout: 60_000, ...(input === undefined ? {} : { input }) },
    );
  }

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), "tbo-image-rootfs-"));
    rootfs = join(scratch, "rootfs");
    const unpack = spawnSync(
      locateUmoci().path,
      ["raw", "unpack", "--image", `${image.layout}:${image.tag}`, rootfs],
      { encoding: "utf8" },
    );
    if (unpack.status !== 0) throw new Error(`umoci raw unpack failed: ${unpack.stderr}`);
  }, 120_000);
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("node is the version the Makefile pins, and the process is nonroot's (65532) in /app", () => {
    const version = run(["node", "--version"]);
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(`v${nodeVersion(REPO_ROOT)}`);
    const who = run([
      "node",
      "-e",
      "const os=require('node:os');console.log(process.getuid(),process.getgid(),os.userInfo().username,process.cwd())",
    ]);
    expect(who.stdout.trim(), who.stderr).toBe(`${IMAGE_USER.uid} ${IMAGE_USER.gid} ${IMAGE_USER.name} /app`);
  });

  it("bot-runtime, tradingbot-operator and exchange-sim start by name from PATH and print their usage", () => {
    const expected: Record<string, string> = {
      "bot-runtime": "bot-runtime run",
      "tradingbot-operator": "--namespaces",
      "exchange-sim": "--accounts",
    };
    expect(Object.keys(programs(REPO_ROOT)).sort()).toEqual(Object.keys(expected).sort());
    for (const [program, usage] of Object.entries(expected)) {
      const help = run([program, "--help"]);
      expect(help.status, `${program}: ${help.stderr}`).toBe(0);
      expect(help.stdout, program).toContain(usage);
    }
  });

  it("the console loads its server and hashes a password (node dist/console/main.js, as the chart runs it)", () => {
    const hash = run(["node", "dist/console/main.js", "hash-password"], "correct horse battery staple\n");
    expect(hash.status, hash.stderr).toBe(0);
    expect(hash.stdout).toMatch(/^\$argon2id\$/);
  });

  it("writes nowhere but /tmp, and trusts the system CA bundle when asked to", () => {
    const write = run([
      "node",
      "-e",
      "const fs=require('node:fs');fs.writeFileSync('/tmp/x','x');try{fs.writeFileSync('/app/x','x')}catch(e){console.log(e.code)}",
    ]);
    expect(write.stdout.trim(), write.stderr).toBe("EROFS");
    const ca = run([
      "node",
      "--use-system-ca",
      "-e",
      "console.log(require('node:tls').getCACertificates('system').length)",
    ]);
    expect(Number(ca.stdout.trim()), ca.stderr).toBeGreaterThan(100);
  });
});
