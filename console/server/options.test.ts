import { describe, expect, it } from "vitest";
import { parseConsoleFlags } from "./options.ts";

const base = ["--users-file=users.yaml", "--session-keys-file=keys"];

describe("console flags", () => {
  it("refuses a wildcard origin at startup, naming the flag", () => {
    for (const origin of ["*", "https://*.example.com"]) {
      expect(() => parseConsoleFlags([...base, `--allowed-origin=${origin}`])).toThrow(
        /^--allowed-origin: .* is refused: a wildcard would let any site call the console/,
      );
    }
    expect(() => parseConsoleFlags([...base, "--allowed-origin=https://console.example.com/"])).toThrow(
      /^--allowed-origin: .* is not an exact origin/,
    );
  });

  it("serves plain HTTP only on a loopback address", () => {
    expect(parseConsoleFlags([...base, "--listen=127.0.0.1:8080"]).tlsDir).toBeUndefined();
    expect(parseConsoleFlags([...base, "--listen=[::1]:8080"]).listen).toBe("[::1]:8080");
    for (const listen of ["0.0.0.0:8080", "localhost:8080", "10.0.0.1:443"]) {
      expect(() => parseConsoleFlags([...base, `--listen=${listen}`])).toThrow(
        /^--tls-dir: required to listen on .*: plain HTTP is allowed only on a loopback address/,
      );
    }
    expect(parseConsoleFlags([...base, "--listen=0.0.0.0:8443", "--tls-dir=/tls"]).tlsDir).toBe("/tls");
  });

  it("reads every flag, and names the flag of a bad value", () => {
    const options = parseConsoleFlags([
      ...base,
      "--allowed-origin=https://a.example",
      "--allowed-origin=https://b.example:8443",
      "--trusted-proxies=2",
      "--impersonate-groups=desk, risk",
      "--session-key-grace=24h",
      "--kubeconfig=kc",
      "--web-dir=web",
    ]);
    expect(options).toMatchObject({
      allowedOrigins: ["https://a.example", "https://b.example:8443"],
      trustedProxies: 2,
      impersonateGroups: ["desk", "risk"],
      sessionKeyGraceMs: 24 * 3_600_000,
      kubeconfig: "kc",
      webDir: "web",
    });
    expect(() => parseConsoleFlags(["--session-keys-file=k"])).toThrow("--users-file: required");
    expect(() => parseConsoleFlags([...base, "--trusted-proxies=-1"])).toThrow(/^--trusted-proxies: /);
    expect(() => parseConsoleFlags([...base, "--session-key-grace=1y"])).toThrow(/^--session-key-grace: /);
    expect(() => parseConsoleFlags([...base, "--impersonate-groups=system:masters"])).toThrow(
      /^--impersonate-groups: "system:masters" is not allowed/,
    );
    expect(() => parseConsoleFlags([...base, "--listen=8080"])).toThrow(/^--listen: "8080" is not host:port/);
    expect(() => parseConsoleFlags([...base, "--password=x"])).toThrow(/password/);
  });

  it("takes a first user with a password file instead of, or besides, a users file", () => {
    const first = [
      "--session-keys-file=keys",
      "--first-user=admin",
      "--first-password-file=/secrets/password",
      "--first-user-groups=console-admins",
      "--impersonate-groups=console-admins,desk",
    ];
    const options = parseConsoleFlags(first);
    expect(options.usersFile).toBeUndefined();
    expect(options.firstUser).toEqual({
      name: "admin",
      groups: ["console-admins"],
      passwordFile: "/secrets/password",
    });
    expect(parseConsoleFlags([...first, "--users-file=users.yaml"]).usersFile).toBe("users.yaml");
    expect(() => parseConsoleFlags([...base, "--first-user=admin"])).toThrow(
      /^--first-user: needs --first-password-file/,
    );
    expect(() => parseConsoleFlags([...base, "--first-password-file=p"])).toThrow(
      /^--first-password-file: needs --first-user/,
    );
    expect(() => parseConsoleFlags([...base, "--first-user-groups=desk"])).toThrow(
      /^--first-user-groups: needs --first-user/,
    );
    expect(() =>
      parseConsoleFlags([...base, "--first-user=system:admin", "--first-password-file=p"]),
    ).toThrow(/^--first-user: "system:admin" is not allowed/);
    expect(() =>
      parseConsoleFlags([
        ...base,
        "--first-user=admin",
        "--first-password-file=p",
        "--first-user-groups=risk",
      ]),
    ).toThrow(/^--first-user-groups: risk not in --impersonate-groups/);
  });
});
