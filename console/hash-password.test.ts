import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parsePasswordHash, verifyPassword } from "./server/passwords.ts";
import { parseUsers, passwordAuthenticator } from "./server/users.ts";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const run = (args: string[], input: string) =>
  spawnSync(process.execPath, [main, ...args], { input, encoding: "utf8", timeout: 30_000 });

describe("console hash-password", () => {
  it("prints an argon2id hash of the password read from stdin, which verifies it", async () => {
    const result = run(["hash-password"], "correct horse battery staple\n");
    expect(result.status).toBe(0);
    const hash = result.stdout.trim();
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyPassword("correct horse battery staple", parsePasswordHash(hash))).toBe(true);
    expect(await verifyPassword("correct horse battery stapl", parsePasswordHash(hash))).toBe(false);
  });

  it("takes no password on the command line, and refuses an empty one", () => {
    const argv = run(["hash-password", "hunter2"], "");
    expect(argv.status).toBe(2);
    expect(argv.stderr).toContain("hash-password: takes no arguments; the password is read from stdin");
    expect(argv.stdout).toBe("");
    const empty = run(["hash-password"], "");
    expect(empty.status).not.toBe(0);
    expect(empty.stderr).toContain("no password on stdin");
  });

  it("builds a users file the console reads, and costs an unknown user a full hash", async () => {
    const hash = run(["hash-password"], "pw-of-vera").stdout.trim();
    const users = parseUsers(
      `users:\n  - username: vera\n    passwordHash: "${hash}"\n    groups: [desk]\n`,
      ["desk"],
    );
    const authenticate = passwordAuthenticator(users);
    expect(await authenticate("vera", "pw-of-vera")).toMatchObject({
      ok: true,
      user: { name: "vera", groups: ["desk"] },
    });
    expect(await authenticate("vera", "nope")).toEqual({ ok: false, reason: "wrong_password" });
    const started = performance.now();
    expect(await authenticate("nobody", "nope")).toEqual({ ok: false, reason: "unknown_user" });
    // The stand-in hash has the users' own parameters (19 MiB, 2 passes): never a quick answer.
    expect(performance.now() - started).toBeGreaterThan(5);
    expect(() =>
      parseUsers(`users:\n  - username: vera\n    passwordHash: "${hash}"\n    groups: [root]\n`, ["desk"]),
    ).toThrow("users file: users.0.groups: root not in --impersonate-groups (desk)");
    expect(() => parseUsers(`users:\n  - username: system:admin\n    passwordHash: "${hash}"\n`, [])).toThrow(
      /users\.0\.username/,
    );
    expect(() => parseUsers("users:\n  - username: vera\n    passwordHash: plain\n", [])).toThrow(
      /^users file: users\.0\.passwordHash: must be an argon2id PHC string/,
    );
  });
});
