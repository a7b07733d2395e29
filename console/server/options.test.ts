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

describe("OIDC flags", () => {
  const oidc = [
    "--session-keys-file=keys",
    "--oidc-issuer-url=https://login.example.com/realms/desk",
    "--oidc-client-id=tradingbot-console",
    "--oidc-client-secret-file=/secrets/oidc/client-secret",
    "--oidc-redirect-url=https://console.example.com/auth/oidc/callback",
    "--impersonate-users=oidc:alice@example.com,oidc:bob@example.com",
    "--impersonate-groups=oidc:desk",
    "--listen=0.0.0.0:8443",
    "--tls-dir=/tls",
  ];

  it("takes an issuer instead of local users, with kube-apiserver's defaults for claims and prefixes", () => {
    const options = parseConsoleFlags(oidc);
    expect(options.usersFile).toBeUndefined();
    expect(options.impersonateUsers).toEqual(["oidc:alice@example.com", "oidc:bob@example.com"]);
    expect(options.oidc).toEqual({
      issuerUrl: "https://login.example.com/realms/desk",
      clientId: "tradingbot-console",
      clientSecretFile: "/secrets/oidc/client-secret",
      redirectUrl: "https://console.example.com/auth/oidc/callback",
      usernameClaim: "email",
      groupsClaim: "groups",
      usernamePrefix: "oidc:",
      groupsPrefix: "oidc:",
      scopes: ["openid", "email", "groups"],
      displayName: "login.example.com",
    });
    const custom = parseConsoleFlags([
      ...oidc.filter((flag) => !flag.startsWith("--impersonate-users")),
      "--oidc-username-claim=preferred_username",
      "--oidc-groups-claim=roles",
      "--oidc-username-prefix=sso-",
      "--oidc-groups-prefix=sso:",
      "--oidc-scopes=openid,profile",
      "--oidc-ca-file=/etc/oidc/ca.crt",
      "--oidc-display-name=Desk SSO",
      "--impersonate-users=sso-alice",
      "--users-file=users.yaml",
    ]);
    expect(custom.oidc).toMatchObject({
      usernameClaim: "preferred_username",
      groupsClaim: "roles",
      usernamePrefix: "sso-",
      groupsPrefix: "sso:",
      scopes: ["openid", "profile"],
      caFile: "/etc/oidc/ca.crt",
      displayName: "Desk SSO",
    });
    expect(custom.usersFile).toBe("users.yaml");
  });

  it("allows plain http only for an issuer or a callback on a loopback address", () => {
    const withIssuer = (url: string) => [
      ...oidc.filter((flag) => !flag.startsWith("--oidc-issuer-url")),
      `--oidc-issuer-url=${url}`,
    ];
    expect(parseConsoleFlags(withIssuer("http://127.0.0.1:5556/dex")).oidc?.issuerUrl).toBe(
      "http://127.0.0.1:5556/dex",
    );
    expect(parseConsoleFlags(withIssuer("http://[::1]:5556")).oidc?.issuerUrl).toBe("http://[::1]:5556");
    for (const url of [
      "http://login.example.com",
      "http://localhost:5556",
      "ftp://x",
      "https://x/?a=b",
      "not a url",
    ]) {
      expect(() => parseConsoleFlags(withIssuer(url)), url).toThrow(
        /^--oidc-issuer-url: .* is not allowed: an https URL without query or fragment/,
      );
    }
    const withRedirect = (url: string) => [
      ...oidc.filter((flag) => !flag.startsWith("--oidc-redirect-url")),
      `--oidc-redirect-url=${url}`,
    ];
    expect(() => parseConsoleFlags(withRedirect("http://console.example.com/auth/oidc/callback"))).toThrow(
      /^--oidc-redirect-url: .* is not allowed/,
    );
    expect(() => parseConsoleFlags(withRedirect("https://console.example.com/callback"))).toThrow(
      /^--oidc-redirect-url: .* must end in the console's callback path \/auth\/oidc\/callback/,
    );
    expect(
      parseConsoleFlags(withRedirect("http://127.0.0.1:8443/auth/oidc/callback")).oidc?.redirectUrl,
    ).toBe("http://127.0.0.1:8443/auth/oidc/callback");
  });

  it("needs the client's flags, and an allowlist of prefixed names, naming the flag", () => {
    const without = (prefix: string) => oidc.filter((flag) => !flag.startsWith(prefix));
    expect(() => parseConsoleFlags(without("--oidc-client-id"))).toThrow("--oidc-client-id: required");
    expect(() => parseConsoleFlags(without("--oidc-client-secret-file"))).toThrow(
      "--oidc-client-secret-file: required",
    );
    expect(() => parseConsoleFlags(without("--oidc-redirect-url"))).toThrow("--oidc-redirect-url: required");
    expect(() => parseConsoleFlags(without("--impersonate-users"))).toThrow(
      /^--impersonate-users: required with --oidc-issuer-url/,
    );
    expect(() => parseConsoleFlags([...without("--impersonate-users"), "--impersonate-users=alice"])).toThrow(
      /^--impersonate-users: "alice" is not allowed: each is a prefixed OIDC username such as oidc:alice@example.com/,
    );
    expect(() => parseConsoleFlags([...base, "--impersonate-users=oidc:alice"])).toThrow(
      /^--impersonate-users: needs --oidc-issuer-url/,
    );
    expect(() => parseConsoleFlags([...base, "--oidc-client-id=x"])).toThrow(
      /^--oidc-client-id: needs --oidc-issuer-url/,
    );
    // The secret comes from a file only: there is no flag that takes it.
    expect(() => parseConsoleFlags([...oidc, "--oidc-client-secret=s3cret"])).toThrow(/oidc-client-secret/);
    expect(() => parseConsoleFlags([...oidc, "--oidc-ca-file="])).toThrow(/^--oidc-ca-file: empty/);
  });

  it("refuses a prefix that could mint Kubernetes' own names, and scopes without openid", () => {
    for (const [flag, value] of [
      ["oidc-username-prefix", "system:"],
      ["oidc-groups-prefix", "system:"],
      ["oidc-username-prefix", ""],
      ["oidc-groups-prefix", "a b"],
    ] as const) {
      expect(() => parseConsoleFlags([...oidc, `--${flag}=${value}`]), `${flag}=${value}`).toThrow(
        new RegExp(`^--${flag}: .* is not allowed: .*not starting with 'system'`),
      );
    }
    expect(() => parseConsoleFlags([...oidc, "--oidc-scopes=email,groups"])).toThrow(
      /^--oidc-scopes: must include openid/,
    );
    expect(() => parseConsoleFlags([...oidc, "--oidc-username-claim=e mail"])).toThrow(
      /^--oidc-username-claim: "e mail" is not a claim name/,
    );
    expect(() => parseConsoleFlags([...oidc, "--impersonate-groups=system:masters"])).toThrow(
      /^--impersonate-groups: "system:masters" is not allowed/,
    );
  });
});
