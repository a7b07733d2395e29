import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { clusterContext } from "../support/context.ts";
import { kubectl } from "../support/kubectl.ts";
import { parseVersions } from "./binaries.ts";

const pinned = parseVersions(readFileSync(new URL("./versions.env", import.meta.url), "utf8"));

describe("the tools built with the control plane", () => {
  it("kubectl reports the pinned Kubernetes version (set at link time), as does the local API server", async () => {
    const { stdout } = await kubectl(["version", "--output=json"]);
    const versions = JSON.parse(stdout) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    expect(versions.clientVersion.gitVersion).toBe(pinned.KUBERNETES_VERSION);
    if (clusterContext().kind === "local") {
      expect(versions.serverVersion.gitVersion).toBe(pinned.KUBERNETES_VERSION);
    }
  });

  it("helm reports the pinned Helm version", async () => {
    const { stdout } = await promisify(execFile)(clusterContext().helmPath, ["version", "--short"]);
    expect(stdout.trim()).toMatch(new RegExp(`^${pinned.HELM_VERSION?.replaceAll(".", "\\.")}\\b`));
  });
});
