import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { OidcOptions } from "./options.ts";
import { hashPassword, parsePasswordHash } from "./passwords.ts";
import { oidcClientOf, withFirstUser } from "./start.ts";
import { passwordAuthenticator, type UserDirectory } from "./users.ts";

const dir = mkdtempSync(join(tmpdir(), "console-first-user-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function passwordFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

describe("the first user", () => {
  it("is hashed at startup from its password file, which only the right password then opens", async () => {
    const password = "correct horse battery staple";
    const file = passwordFile("password", `${password}\n`);
    const users = await withFirstUser(new Map(), { name: "admin", groups: ["admins"], passwordFile: file });
    const admin = users.get("admin");
    expect(admin?.groups).toEqual(["admins"]);
    expect(admin?.passwordHash.params.memoryKiB).toBeGreaterThanOrEqual(19_456);
    const authenticate = passwordAuthenticator(users);
    expect(await authenticate("admin", password)).toMatchObject({ ok: true });
    expect(await authenticate("admin", `${password}x`)).toEqual({ ok: false, reason: "wrong_password" });
  });

  it("joins the users file's users, and refuses a name listed in both", async () => {
    const file = passwordFile("joined", "a-long-enough-password");
    const other = {
      name: "alice",
      groups: [],
      passwordHash: parsePasswordHash(await hashPassword("alice's password")),
    };
    const fromFile: UserDirectory = new Map([["alice", other]]);
    const users = await withFirstUser(fromFile, { name: "admin", groups: [], passwordFile: file });
    expect([...users.keys()]).toEqual(["alice", "admin"]);
    await expect(withFirstUser(fromFile, { name: "alice", groups: [], passwordFile: file })).rejects.toThrow(
      /^--first-user: alice is also in the users file/,
    );
  });

  it("refuses a missing or short password file without echoing its content", async () => {
    await expect(
      withFirstUser(new Map(), { name: "admin", groups: [], passwordFile: join(dir, "absent") }),
    ).rejects.toThrow(/^--first-password-file: cannot read .*absent \(ENOENT\)$/);
    const short = passwordFile("short", "hunter2\n");
    const error = await withFirstUser(new Map(), { name: "admin", groups: [], passwordFile: short }).catch(
      (caught: Error) => caught,
    );
    expect(String(error)).toMatch(/must hold a password of 12 to 1024 characters/);
    expect(String(error)).not.toContain("hunter2");
  });
});

describe("the OIDC client's files", () => {
  const oidc = (files: { secret: string; ca?: string }): OidcOptions => ({
    issuerUrl: "https://login.example.com",
    clientId: "console",
    clientSecretFile: files.secret,
    redirectUrl: "https://console.example.com/auth/oidc/callback",
    usernameClaim: "email",
    groupsClaim: "groups",
    usernamePrefix: "oidc:",
    groupsPrefix: "oidc:",
    scopes: ["openid"],
    displayName: "SSO",
    ...(files.ca ? { caFile: files.ca } : {}),
  });

  it("reads the client secret from its file, and refuses a missing or empty one without echoing it", async () => {
    const client = oidcClientOf(oidc({ secret: passwordFile("client-secret", "canary-client-secret\n") }));
    await client.close();
    expect(() => oidcClientOf(oidc({ secret: join(dir, "absent-secret") }))).toThrow(
      /^--oidc-client-secret-file: cannot read .*absent-secret \(ENOENT\)$/,
    );
    expect(() => oidcClientOf(oidc({ secret: passwordFile("empty-secret", "\n") }))).toThrow(
      /^--oidc-client-secret-file: .*empty-secret must hold a client secret of 1 to 4096 characters$/,
    );
  });

  it("refuses a CA file that holds no certificate, without echoing it", () => {
    const secret = passwordFile("secret-for-ca", "canary-client-secret");
    const error = (() => {
      try {
        oidcClientOf(
          oidc({
            secret,
            ca: passwordFile(
              "garbage-ca",
              "-----BEGIN CERTIFICATE-----\ncanary-not-a-cert\n-----END CERTIFICATE-----\n",
            ),
          }),
        );
      } catch (caught) {
        return String(caught);
      }
      return "";
    })();
    expect(error).toMatch(/--oidc-ca-file: .*garbage-ca must hold PEM certificates/);
    expect(error).not.toContain("canary");
  });
});
