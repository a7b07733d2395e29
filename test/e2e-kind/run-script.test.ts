// What of `make e2e-kind` can be checked without Docker: it stops at once, saying what is missing, when
// Docker or kind is not there; and the manifests it applies pass the API server's validation.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { kubectl } from "../support/kubectl.ts";

const HERE = import.meta.dirname;
const RUN = join(HERE, "run.sh");

/** A PATH (one folder) holding node, the basics the script uses and the given stand-in programs, and nothing else. */
function pathWith(programs: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "e2e-kind-path-"));
  for (const [name, script] of Object.entries(programs)) {
    writeFileSync(join(dir, name), `#!/bin/sh\n${script}\n`);
    chmodSync(join(dir, name), 0o755);
  }
  for (const tool of ["dirname", "grep", "mkdir", "date"]) {
    const found = ["/usr/bin", "/bin"]
      .map((d) => join(d, tool))
      .find((p) => spawnSync(p, ["--version"]).status === 0);
    if (found) symlinkSync(found, join(dir, tool));
  }
  symlinkSync(process.execPath, join(dir, "node"));
  return dir;
}

function runScript(path: string) {
  return spawnSync("/bin/bash", [RUN], {
    encoding: "utf8",
    env: { PATH: path, HOME: tmpdir(), TRADINGBOT_CACHE_DIR: join(tmpdir(), "e2e-kind-no-cache") },
    timeout: 30_000,
  });
}

describe("make e2e-kind (test/e2e-kind/run.sh)", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("stops with exit code 2 and says so when Docker is not installed", () => {
    const path = pathWith({});
    dirs.push(path);
    const result = runScript(path);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("e2e-kind: docker is not installed");
  });

  it("stops with exit code 2 when the Docker daemon does not answer", () => {
    const path = pathWith({ docker: 'echo "Cannot connect to the Docker daemon" >&2; exit 1' });
    dirs.push(path);
    const result = runScript(path);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("no Docker daemon answers");
  });

  it("stops with exit code 2 and says how to get kind when kind is missing", () => {
    const path = pathWith({ docker: "exit 0" });
    dirs.push(path);
    const result = runScript(path);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("kind is not installed: go install sigs.k8s.io/kind@");
  });

  it("applies manifests that pass the API server's validation", async () => {
    const manifests = join(HERE, "manifests", "infra.yaml");
    // The namespace first (for real), then everything in it as a server-side dry run.
    const namespace = await kubectl([
      "create",
      "namespace",
      "e2e-infra",
      "--dry-run=client",
      "--output=json",
    ]);
    await kubectl(["apply", "--server-side", "--filename=-"], { input: namespace.stdout });
    try {
      const result = await kubectl(["apply", "--server-side", "--dry-run=server", `--filename=${manifests}`]);
      expect(result.stdout).toContain("deployment.apps/exchange-sim serverside-applied (server dry run)");
      expect(result.stdout).toContain("job.batch/migrate serverside-applied (server dry run)");
    } finally {
      await kubectl(["delete", "namespace", "e2e-infra", "--wait=false"]);
    }
  });
});
