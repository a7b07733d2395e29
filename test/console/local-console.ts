import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { consoleRbac } from "../../console/rbac.ts";
import { hashPassword } from "../../console/server/passwords.ts";
import { type RunningConsole, type StartOptions, startConsole } from "../../console/server/start.ts";
import { applyObjects, type ClusterAccess, kubectlRun } from "../operator/harness.ts";
import { createTestNamespace, serviceAccountKubeconfig } from "../support/kube.ts";
import { createCertificateAuthority, issueCertificate } from "../support/pki.ts";

// The console as the tests, the demo and the benchmarks run it: as its own ServiceAccount with exactly the
// RBAC of console/rbac.ts, its users and session keys read from files as a Secret would mount them, serving
// HTTPS with a certificate from a cert-manager-shaped directory (or plain HTTP, which it allows only on
// loopback).

export interface Person {
  name: string;
  groups: string[];
  password: string;
}

export interface LocalConsole {
  running: RunningConsole;
  /** The certificate authority of the console's serving certificate (PEM); undefined over plain HTTP. */
  ca: string | undefined;
  /** Every line the console logged. */
  logs: string[];
  /** The console's own credentials (its ServiceAccount's token). */
  kubeconfig: string;
  /** The namespace of the console's ServiceAccount. */
  identityNamespace: string;
  close(): Promise<void>;
}

export async function startLocalConsole(options: {
  access: ClusterAccess;
  adminKubeConfig: KubeConfig;
  /** Names the console's RBAC objects and its identity's namespace. */
  prefix: string;
  people: Person[];
  /** The groups the console may impersonate. */
  groups: string[];
  workDir: string;
  /** Plain HTTP on loopback instead of HTTPS. */
  plainHttp?: boolean;
  /** More options for startConsole (limits, proxies, origins, an OIDC issuer and its users). */
  extra?: Partial<StartOptions>;
}): Promise<LocalConsole> {
  const { access, prefix, people, groups, workDir } = options;
  const adminKc = options.adminKubeConfig;
  const identityNs = await createTestNamespace(adminKc, "conid");
  const identity = {
    name: prefix,
    namespace: identityNs.name,
    serviceAccount: "tradingbot-console",
    // The local users and the OIDC users it may sign in (--impersonate-users).
    users: [...people.map((p) => p.name), ...(options.extra?.impersonateUsers ?? [])],
    groups,
  };
  await applyObjects(access, consoleRbac(identity));
  mkdirSync(workDir, { recursive: true });
  const kubeconfig = join(workDir, "console.kubeconfig");
  await serviceAccountKubeconfig(adminKc, identityNs.name, identity.serviceAccount, { writeTo: kubeconfig });

  // No people: the console signs people in only through its OIDC issuer (options.extra.oidc).
  const usersFile = people.length > 0 ? join(workDir, "users.yaml") : undefined;
  if (usersFile) {
    const entries = await Promise.all(
      people.map(async (p) => ({
        username: p.name,
        passwordHash: await hashPassword(p.password),
        groups: p.groups,
      })),
    );
    writeFileSync(usersFile, JSON.stringify({ users: entries }), { mode: 0o600 });
  }
  const sessionKeysFile = join(workDir, "session-keys");
  writeFileSync(sessionKeysFile, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
  const tls = options.plainHttp ? undefined : await servingCertificate(workDir);

  const logs: string[] = [];
  const running = await startConsole({
    listen: "127.0.0.1:0",
    ...(tls ? { tlsDir: tls.dir } : {}),
    ...(usersFile ? { usersFile } : {}),
    sessionKeysFile,
    sessionKeyGraceMs: 3_600_000,
    allowedOrigins: [],
    trustedProxies: 0,
    kubeconfig,
    impersonateGroups: groups,
    metricsListen: "127.0.0.1:0",
    logger: pino({ level: "info" }, { write: (line: string) => logs.push(line) }),
    ...options.extra,
  });
  return {
    running,
    ca: tls?.ca,
    logs,
    kubeconfig,
    identityNamespace: identityNs.name,
    async close() {
      await running.close();
      await identityNs.cleanup();
      for (const kind of ["ClusterRoleBinding", "ClusterRole"]) {
        await kubectlRun(access, ["delete", kind, prefix, "--ignore-not-found"]).catch(() => {});
      }
    },
  };
}

/** A certificate for 127.0.0.1 in a cert-manager-shaped directory, and the authority that signed it. */
async function servingCertificate(workDir: string): Promise<{ dir: string; ca: string }> {
  const pki = join(workDir, "pki");
  const dir = join(workDir, "tls");
  mkdirSync(pki, { recursive: true });
  mkdirSync(dir, { recursive: true });
  const authority = await createCertificateAuthority(pki, "console test CA");
  const serving = await issueCertificate(authority, pki, {
    name: "console",
    commonName: "console",
    ipAddresses: ["127.0.0.1"],
    usage: "server",
  });
  copyFileSync(serving.certPath, join(dir, "tls.crt"));
  copyFileSync(serving.keyPath, join(dir, "tls.key"));
  return { dir, ca: readFileSync(authority.certPath, "utf8") };
}
