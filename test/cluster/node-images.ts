// The real node's images, built without a registry: the sandbox (pause) image from Kubernetes' own pause.c
// and the test probe from node-probe/main.go, each one static binary packaged as a one-layer OCI archive with
// umoci, ready for `importOciArchive` (real-node.ts).
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseVersions } from "./binaries.ts";

const run = promisify(execFile);

export interface OciArchive {
  /** A tar of an OCI image layout whose index names one image `<tag>`. */
  path: string;
  /** The name containerd gives it on import: `<repository>:<tag>`. */
  image: string;
  repository: string;
}

/** Repository of the images built here: a name with a domain, so containerd never expands it to docker.io. */
export const localRepository = "tradingbot.local";
const pauseTag = "3.10.2";
export const pauseImage = `${localRepository}/pause:${pauseTag}`;
export const probeImage = `${localRepository}/probe:1`;

/** Builds both images into `dir` (a few seconds: gcc, a cached `go build`, umoci). */
export async function buildNodeImages(
  umoci: string,
  dir: string,
): Promise<{ pause: OciArchive; probe: OciArchive }> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const [pauseBinary, probeBinary] = await Promise.all([buildPause(dir), buildProbe(dir)]);
  return {
    pause: await packageBinary(umoci, dir, pauseBinary, pauseImage),
    probe: await packageBinary(umoci, dir, probeBinary, probeImage),
  };
}

/** pause.c of the pinned Kubernetes module, compiled as upstream's build/pause/Makefile does. */
async function buildPause(dir: string): Promise<string> {
  const versions = parseVersions(readFileSync(new URL("./versions.env", import.meta.url), "utf8"));
  const { stdout } = await run(
    "go",
    ["mod", "download", "-json", `k8s.io/kubernetes@${versions.KUBERNETES_VERSION}`],
    {
      env: { ...process.env, GOWORK: "off", GOFLAGS: "-mod=mod" },
      cwd: dir,
    },
  );
  const source = join((JSON.parse(stdout) as { Dir: string }).Dir, "build", "pause", "linux", "pause.c");
  const output = join(dir, "pause");
  await run("gcc", [
    "-Os",
    "-Wall",
    "-Werror",
    "-static",
    `-DVERSION=v${pauseTag}-tradingbot`,
    "-o",
    output,
    source,
  ]);
  return output;
}

async function buildProbe(dir: string): Promise<string> {
  const output = join(dir, "probe");
  const source = fileURLToPath(new URL("./node-probe/main.go", import.meta.url));
  await run("go", ["build", "-ldflags=-s -w", "-o", output, source], {
    env: { ...process.env, CGO_ENABLED: "0", GOWORK: "off", GOFLAGS: "-trimpath -buildvcs=false" },
    cwd: dir,
  });
  return output;
}

/** One binary at /<name>, its entrypoint, run as nobody; tarred into an OCI archive. */
async function packageBinary(umoci: string, dir: string, binary: string, image: string): Promise<OciArchive> {
  const [repository, tag] = image.split(/:(?=[^:]*$)/) as [string, string];
  const name = repository.slice(repository.lastIndexOf("/") + 1);
  const layout = join(dir, `${name}-layout`);
  const ref = `${layout}:${tag}`;
  await run(umoci, ["init", "--layout", layout]);
  await run(umoci, ["new", "--image", ref]);
  await run(umoci, ["insert", "--image", ref, binary, `/${name}`]);
  await run(umoci, ["config", "--image", ref, `--config.entrypoint=/${name}`, "--config.user=65534:65534"]);
  const path = join(dir, `${name}.oci.tar`);
  await run("tar", ["-C", layout, "-cf", path, "."]);
  return { path, image, repository };
}
