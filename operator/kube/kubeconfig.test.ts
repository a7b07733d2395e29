import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dump } from "js-yaml";
import { describe, expect, it } from "vitest";
import { loadConnection } from "./kubeconfig.ts";

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "kubeconfig-test-"));
  const path = join(dir, "config");
  writeFileSync(
    path,
    dump({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "ctx",
      contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }],
      clusters: [
        {
          name: "c",
          cluster: {
            server: "https://127.0.0.1:6443",
            "certificate-authority-data": Buffer.from("CA").toString("base64"),
            ...cluster,
          },
        },
      ],
      users: [{ name: "u", user }],
    }),
  );
  return { dir, path };
}

describe("loadConnection", () => {
  it("reads the server, the CA and a bearer token of the current context", async () => {
    const { path } = kubeconfig({ token: "t0ken" });
    const settings = await loadConnection(path)();
    expect(settings.server.href).toBe("https://127.0.0.1:6443/");
    expect(settings.tls.ca?.toString()).toBe("CA");
    expect(settings.headers).toEqual({ Authorization: "Bearer t0ken" });
  });

  it("re-reads a token file on every call, so a rotated token is used", async () => {
    const { dir, path } = kubeconfig({ tokenFile: "token" });
    writeFileSync(join(dir, "token"), "first\n");
    const source = loadConnection(path);
    expect((await source()).headers.Authorization).toBe("Bearer first");
    writeFileSync(join(dir, "token"), "second\n");
    expect((await source()).headers.Authorization).toBe("Bearer second");
  });

  it("reads client certificates from files relative to the kubeconfig", async () => {
    const { dir, path } = kubeconfig({ "client-certificate": "client.crt", "client-key": "client.key" });
    writeFileSync(join(dir, "client.crt"), "CERT");
    writeFileSync(join(dir, "client.key"), "KEY");
    const settings = await loadConnection(path)();
    expect([settings.tls.cert?.toString(), settings.tls.key?.toString()]).toEqual(["CERT", "KEY"]);
    expect(settings.headers).toEqual({});
  });

  it("honours insecure-skip-tls-verify and tls-server-name", async () => {
    const { path } = kubeconfig(
      { token: "x" },
      { "insecure-skip-tls-verify": true, "tls-server-name": "kubernetes" },
    );
    const settings = await loadConnection(path)();
    expect(settings.tls).toMatchObject({ rejectUnauthorized: false, servername: "kubernetes" });
  });

  it("says what to do when there is no connection at all", () => {
    expect(() => loadConnection(undefined, { HOME: "/nonexistent" })).toThrow(
      /pass --kubeconfig, set KUBECONFIG, or run in a cluster/,
    );
  });
});
