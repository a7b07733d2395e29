import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dump } from "js-yaml";
import { afterAll, describe, expect, it } from "vitest";
import { inClusterAccess, KubeAccessError, kubeconfigAccess } from "./kube-access.ts";

const dir = mkdtempSync(join(tmpdir(), "kube-access-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base64 = (text: string) => Buffer.from(text).toString("base64");
const CA = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n";

let files = 0;
function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  const path = join(dir, `config-${files++}`);
  writeFileSync(
    path,
    dump({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "reader@local",
      clusters: [
        { name: "other", cluster: { server: "https://elsewhere:6443" } },
        {
          name: "local",
          cluster: { server: "https://127.0.0.1:6443", "certificate-authority-data": base64(CA), ...cluster },
        },
      ],
      users: [{ name: "reader", user }],
      contexts: [{ name: "reader@local", context: { cluster: "local", user: "reader" } }],
      preferences: {},
    }),
  );
  return path;
}

describe("reading a kubeconfig", () => {
  it("takes the current context's server, CA and token, and hands the token over for scrubbing", () => {
    const access = kubeconfigAccess(kubeconfig({ token: "eyJhbGciOi.token-value" }));
    expect(access.server.href).toBe("https://127.0.0.1:6443/");
    expect(access.tls).toEqual({ ca: Buffer.from(CA), rejectUnauthorized: true });
    expect(access.token).toBe("eyJhbGciOi.token-value");
    expect(access.secrets).toEqual(["eyJhbGciOi.token-value"]);
    expect(access.origin).toMatch(/\(context reader@local\)$/);
  });

  it("reads a client certificate and key, inline or from files beside the kubeconfig", () => {
    mkdirSync(join(dir, "pki"), { recursive: true });
    writeFileSync(join(dir, "pki", "reader.crt"), "CERT");
    writeFileSync(join(dir, "pki", "reader.key"), "KEY-PEM-BODY");
    const fromFiles = kubeconfigAccess(
      kubeconfig({ "client-certificate": "pki/reader.crt", "client-key": "pki/reader.key" }),
    );
    expect(fromFiles.tls).toMatchObject({ cert: Buffer.from("CERT"), key: Buffer.from("KEY-PEM-BODY") });
    expect(fromFiles.token).toBeUndefined();
    expect(fromFiles.secrets).toEqual(["KEY-PEM-BODY"]);
    const inline = kubeconfigAccess(
      kubeconfig({ "client-certificate-data": base64("CERT"), "client-key-data": base64("KEY") }),
    );
    expect(inline.tls).toMatchObject({ cert: Buffer.from("CERT"), key: Buffer.from("KEY") });
  });

  it("reads a tokenFile, and honours tls-server-name and insecure-skip-tls-verify", () => {
    writeFileSync(join(dir, "token"), "file-token\n");
    const access = kubeconfigAccess(
      kubeconfig(
        { tokenFile: join(dir, "token") },
        { "tls-server-name": "kubernetes", "insecure-skip-tls-verify": true },
      ),
    );
    expect(access.token).toBe("file-token");
    expect(access.tls).toMatchObject({ servername: "kubernetes", rejectUnauthorized: false });
  });

  it("refuses credentials only a plugin can produce, saying what to use instead", () => {
    const path = kubeconfig({ exec: { command: "aws", args: ["eks", "get-token"] } });
    expect(() => kubeconfigAccess(path)).toThrow(KubeAccessError);
    expect(() => kubeconfigAccess(path)).toThrow(/plugin \(exec or auth-provider\).*kubectl create token/);
  });

  it("names what is missing: a context, a server, any credential, a key for a certificate", () => {
    const noContext = join(dir, "no-context");
    writeFileSync(noContext, dump({ clusters: [], users: [] }));
    expect(() => kubeconfigAccess(noContext)).toThrow(`kubeconfig ${noContext}: no current-context`);
    expect(() => kubeconfigAccess(kubeconfig({}))).toThrow(
      /user reader has neither a token .* nor a client certificate/,
    );
    expect(() => kubeconfigAccess(kubeconfig({ "client-certificate-data": base64("CERT") }))).toThrow(
      /certificate without its key/,
    );
    expect(() => kubeconfigAccess(kubeconfig({ token: "t0ken" }, { server: "not a url" }))).toThrow(
      /server that is not a URL/,
    );
    expect(() => kubeconfigAccess(join(dir, "absent"))).toThrow(/^kubeconfig .*absent: /);
  });
});

describe("the pod's ServiceAccount", () => {
  it("reads the token and CA from the mounted folder and the API server from the service variables", () => {
    const sa = join(dir, "serviceaccount");
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, "token"), "sa-token\n");
    writeFileSync(join(sa, "ca.crt"), CA);
    const access = inClusterAccess(sa, {
      KUBERNETES_SERVICE_HOST: "10.96.0.1",
      KUBERNETES_SERVICE_PORT: "443",
    });
    expect(access.server.href).toBe("https://10.96.0.1/");
    expect(access).toMatchObject({
      token: "sa-token",
      secrets: ["sa-token"],
      origin: "the pod's ServiceAccount",
    });
    expect(access.tls.ca).toEqual(Buffer.from(CA));
  });

  it("says to give --kubeconfig outside a pod", () => {
    expect(() => inClusterAccess(join(dir, "serviceaccount"), {})).toThrow(
      /outside a pod, give --kubeconfig FILE/,
    );
  });
});
