// The Dockerfile read as a file: the image carries the console the chart runs (`node dist/console/main.js`,
// bundled by build/bundle.ts, and its page in dist/console/web/), from sources the build context lets in.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROGRAM_BUNDLES } from "../../build/bundle.ts";
import { readRuntimeLayout } from "./runtime-layout.ts";

const REPO_ROOT = join(import.meta.dirname, "..", "..");

describe("the image's console", () => {
  it("is bundled in the build stage from console/, which the build context admits, and copied with dist/", () => {
    const dockerfile = readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8");
    const build = dockerfile.slice(dockerfile.indexOf(" AS build"), dockerfile.indexOf(" AS rootfs"));
    expect(build).toMatch(/^COPY console\/ console\/$/m);
    expect(build).toMatch(/^COPY build\/ build\/$/m);
    expect(build).toContain("test -f dist/console/main.js && test -f dist/console/web/index.html");
    const dockerignore = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8").split("\n");
    expect(dockerignore).toContain("!console/");
    expect(dockerignore).toContain("!build/");
    expect(PROGRAM_BUNDLES.map((bundle) => bundle.folder)).toContain("console");
    expect(readRuntimeLayout(REPO_ROOT).copied).toContain("dist/");
    // What `npm run build` writes the console and its page to.
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      scripts: { build: string };
    };
    expect(pkg.scripts.build).toContain("node build/bundle.ts");
    expect(pkg.scripts.build).toContain("node console/web/bundle.ts");
    const tsconfig = JSON.parse(readFileSync(join(REPO_ROOT, "tsconfig.build.json"), "utf8")) as {
      include: string[];
    };
    expect(tsconfig.include).toContain("console");
  });
});
