import { isIP } from "node:net";
import { parseArgs } from "node:util";

// The console's settings, from its flags. Every refusal names the flag and what it allows; the checks
// that keep the console safe to expose (no `*` origin, no plain HTTP beyond loopback) happen here, at
// startup, before anything listens.

export interface ConsoleOptions {
  /** host:port to serve on. */
  listen: string;
  /** Directory with tls.crt and tls.key (a cert-manager Secret mount); without it, plain HTTP on loopback only. */
  tlsDir?: string;
  /** Optional with a first user: the console may serve that one user alone. */
  usersFile?: string;
  /**
   * A user named by flags whose password is read from a file and hashed (argon2id) at startup, in memory:
   * the Helm chart's generated first user, whose hash no template can compute.
   */
  firstUser?: FirstUser;
  /** One base64 key per line, the first seals sessions (a Secret mount). */
  sessionKeysFile: string;
  /** How long a key still opens sessions after it stopped being the first. */
  sessionKeyGraceMs: number;
  allowedOrigins: string[];
  trustedProxies: number;
  /** Without it, the in-cluster ServiceAccount files. */
  kubeconfig?: string;
  impersonateGroups: string[];
  webDir?: string;
  /** host:port of the metrics endpoint (GET /metrics, plain HTTP, no session). */
  metricsListen: string;
  /** The read-only database role's Secret folder; without it, a bot's orders, fills and audit trail are not shown. */
  databaseCredentials?: string;
  /** Sign-in at an OpenID Connect issuer, besides (or instead of) local users. */
  oidc?: OidcOptions;
  /**
   * Prefixed OIDC usernames the console may impersonate (besides the local users): only these may sign in
   * through the issuer, since the console's ClusterRole may impersonate no one else.
   */
  impersonateUsers?: string[];
}

export interface OidcOptions {
  issuerUrl: string;
  clientId: string;
  /** A file holding the client secret (a Secret's key): never a flag value, never logged. */
  clientSecretFile: string;
  /** This console's callback as registered at the issuer: https://<host>/auth/oidc/callback. */
  redirectUrl: string;
  usernameClaim: string;
  groupsClaim: string;
  usernamePrefix: string;
  groupsPrefix: string;
  scopes: string[];
  /** PEM certificates trusted for the issuer's TLS (instead of the system's); without it, the system's. */
  caFile?: string;
  /** Shown on the login page: "Sign in with <displayName>". */
  displayName: string;
}

export interface FirstUser {
  name: string;
  groups: string[];
  passwordFile: string;
}

export class OptionsError extends Error {}

/** What Kubernetes accepts in an Impersonate-User / Impersonate-Group header, and no system identity. */
const IDENTITY = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
const isIdentity = (name: string) => IDENTITY.test(name) && !name.startsWith("system");
/** Groups may also carry an OIDC groups prefix such as `oidc:`. */
const GROUP = /^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,255}$/;
const isGroup = (name: string) => GROUP.test(name) && !name.startsWith("system");
/** A prefixed OIDC username: an email after a prefix such as `oidc:` (kube-apiserver's style). */
const OIDC_USER = /^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,255}$/;
/** A prefix such as `oidc:`: it keeps issued names apart from local users and `system:` identities. */
const PREFIX = /^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,63}$/;
/** A claim name of the ID token. */
const CLAIM = /^[A-Za-z0-9_:./-]{1,128}$/;
/** An OAuth scope token (RFC 6749 section 3.3). */
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;
/** The callback route (oidc-routes.ts); the redirect URL must name it. */
export const OIDC_CALLBACK_PATH = "/auth/oidc/callback";

export interface Endpoint {
  host: string;
  port: number;
}

export function parseEndpoint(flag: string, value: string): Endpoint {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port > 65_535) {
    throw new OptionsError(
      `--${flag}: ${JSON.stringify(value)} is not host:port, such as 0.0.0.0:8443 or [::1]:8443`,
    );
  }
  return { host: (match[1] as string).replace(/^\[|\]$/g, ""), port };
}

/** Loopback by address only: a name such as localhost could resolve elsewhere. */
export function isLoopback(host: string): boolean {
  return (isIP(host) === 4 && host.startsWith("127.")) || host === "::1";
}

export function checkAllowedOrigin(origin: string): string {
  if (origin.includes("*")) {
    throw new OptionsError(
      `--allowed-origin: ${JSON.stringify(origin)} is refused: a wildcard would let any site call the console with its users' sessions; list each origin exactly, such as https://console.example.com`,
    );
  }
  let url: URL | undefined;
  try {
    url = new URL(origin);
  } catch {
    url = undefined;
  }
  if (!url || !["https:", "http:"].includes(url.protocol) || url.origin !== origin) {
    throw new OptionsError(
      `--allowed-origin: ${JSON.stringify(origin)} is not an exact origin (scheme://host[:port], no path or trailing slash), such as https://console.example.com`,
    );
  }
  return origin;
}

/** Refuses settings that would expose the console unsafely. */
export function checkConsoleOptions(options: ConsoleOptions): void {
  const listen = parseEndpoint("listen", options.listen);
  parseEndpoint("metrics-listen", options.metricsListen);
  if (!options.tlsDir && !isLoopback(listen.host)) {
    throw new OptionsError(
      `--tls-dir: required to listen on ${options.listen}: plain HTTP is allowed only on a loopback address (127.0.0.1, ::1); give a directory with tls.crt and tls.key`,
    );
  }
  options.allowedOrigins.forEach(checkAllowedOrigin);
  if (
    !Number.isInteger(options.trustedProxies) ||
    options.trustedProxies < 0 ||
    options.trustedProxies > 10
  ) {
    throw new OptionsError(
      `--trusted-proxies: must be a whole number from 0 to 10, got ${options.trustedProxies}`,
    );
  }
  for (const group of options.impersonateGroups) {
    if (!isGroup(group)) {
      throw new OptionsError(
        `--impersonate-groups: ${JSON.stringify(group)} is not allowed: letters, digits, '.', '_', '@', ':', '+', '-', and not a system group`,
      );
    }
  }
  if (!options.usersFile && !options.firstUser && !options.oidc) {
    throw new OptionsError(
      "--users-file: required (unless --first-user and --first-password-file, or --oidc-issuer-url, are given)",
    );
  }
  checkOidcOptions(options.oidc, options.impersonateUsers ?? []);
  const first = options.firstUser;
  if (first) {
    if (!isIdentity(first.name)) {
      throw new OptionsError(
        `--first-user: ${JSON.stringify(first.name)} is not allowed: letters, digits, '.', '_', '@', '-', and not a system user`,
      );
    }
    const outside = first.groups.filter((group) => !options.impersonateGroups.includes(group));
    if (outside.length > 0) {
      throw new OptionsError(
        `--first-user-groups: ${outside.join(", ")} not in --impersonate-groups (${options.impersonateGroups.join(", ") || "none"}); the console may only impersonate the groups it is allowed`,
      );
    }
  }
}

/** An https URL, or http on a loopback address; no query or fragment. */
function checkServiceUrl(flag: string, value: string, example: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  const host = url?.hostname.replace(/^\[|\]$/g, "") ?? "";
  const secure = url?.protocol === "https:" || (url?.protocol === "http:" && isLoopback(host));
  if (!url || !secure || url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    throw new OptionsError(
      `--${flag}: ${JSON.stringify(value)} is not allowed: an https URL without query or fragment, such as ${example} (plain http only on a loopback address, 127.0.0.1 or [::1])`,
    );
  }
  return url;
}

function checkOidcOptions(oidc: OidcOptions | undefined, impersonateUsers: readonly string[]): void {
  if (!oidc) {
    if (impersonateUsers.length > 0) {
      throw new OptionsError(
        "--impersonate-users: needs --oidc-issuer-url (it lists who may sign in through the issuer; local users are the users file's)",
      );
    }
    return;
  }
  checkServiceUrl("oidc-issuer-url", oidc.issuerUrl, "https://login.example.com/realms/desk");
  const redirect = checkServiceUrl(
    "oidc-redirect-url",
    oidc.redirectUrl,
    `https://console.example.com${OIDC_CALLBACK_PATH}`,
  );
  if (redirect.pathname !== OIDC_CALLBACK_PATH) {
    throw new OptionsError(
      `--oidc-redirect-url: ${JSON.stringify(oidc.redirectUrl)} must end in the console's callback path ${OIDC_CALLBACK_PATH}, such as https://console.example.com${OIDC_CALLBACK_PATH}`,
    );
  }
  if (!/^[\x21-\x7E]{1,256}$/.test(oidc.clientId)) {
    throw new OptionsError(
      "--oidc-client-id: must be 1 to 256 printable characters without spaces, as the issuer registered the console",
    );
  }
  for (const [flag, claim] of [
    ["oidc-username-claim", oidc.usernameClaim],
    ["oidc-groups-claim", oidc.groupsClaim],
  ] as const) {
    if (!CLAIM.test(claim)) {
      throw new OptionsError(
        `--${flag}: ${JSON.stringify(claim)} is not a claim name (letters, digits, '_', ':', '.', '/', '-'; 1 to 128)`,
      );
    }
  }
  for (const [flag, prefix] of [
    ["oidc-username-prefix", oidc.usernamePrefix],
    ["oidc-groups-prefix", oidc.groupsPrefix],
  ] as const) {
    if (!PREFIX.test(prefix) || prefix.startsWith("system")) {
      throw new OptionsError(
        `--${flag}: ${JSON.stringify(prefix)} is not allowed: 1 to 64 letters, digits, '.', '_', '@', ':', '+', '-', not starting with 'system', such as oidc: (it keeps the issuer's names apart from local users and Kubernetes' own)`,
      );
    }
  }
  const badScope = oidc.scopes.find((scope) => !SCOPE.test(scope));
  if (badScope !== undefined || !oidc.scopes.includes("openid")) {
    throw new OptionsError(
      badScope !== undefined
        ? `--oidc-scopes: ${JSON.stringify(badScope)} is not a scope (printable characters, no space, quote or backslash)`
        : "--oidc-scopes: must include openid, such as openid,email,groups",
    );
  }
  if (oidc.caFile === "") throw new OptionsError("--oidc-ca-file: empty; name a file of PEM certificates");
  if (!/^[^\p{Cc}\p{Cf}]{1,64}$/u.test(oidc.displayName)) {
    throw new OptionsError("--oidc-display-name: must be 1 to 64 printable characters");
  }
  if (impersonateUsers.length === 0) {
    throw new OptionsError(
      `--impersonate-users: required with --oidc-issuer-url: list who may sign in through the issuer, as prefixed names such as ${oidc.usernamePrefix}alice@example.com (the console may impersonate no one else)`,
    );
  }
  for (const user of impersonateUsers) {
    if (!OIDC_USER.test(user) || !user.startsWith(oidc.usernamePrefix) || user === oidc.usernamePrefix) {
      throw new OptionsError(
        `--impersonate-users: ${JSON.stringify(user)} is not allowed: each is a prefixed OIDC username such as ${oidc.usernamePrefix}alice@example.com (--oidc-username-prefix, then letters, digits, '.', '_', '@', ':', '+', '-')`,
      );
    }
  }
}

export function parseDuration(flag: string, value: string): number {
  const match = /^([1-9][0-9]{0,5})(s|m|h)$/.exec(value);
  if (!match)
    throw new OptionsError(`--${flag}: ${JSON.stringify(value)} is not a duration such as 90s, 30m or 24h`);
  return Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as "s" | "m" | "h"];
}

export function parseConsoleFlags(argv: string[], defaults: { webDir?: string } = {}): ConsoleOptions {
  let values: Record<string, string | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        listen: { type: "string", default: "127.0.0.1:8443" },
        "tls-dir": { type: "string" },
        "users-file": { type: "string" },
        "session-keys-file": { type: "string" },
        "session-key-grace": { type: "string", default: "12h" },
        "allowed-origin": { type: "string", multiple: true, default: [] },
        "trusted-proxies": { type: "string", default: "0" },
        kubeconfig: { type: "string" },
        "impersonate-groups": { type: "string", default: "" },
        "web-dir": { type: "string" },
        "metrics-listen": { type: "string", default: "127.0.0.1:9464" },
        "database-credentials": { type: "string" },
        "first-user": { type: "string" },
        "first-user-groups": { type: "string", default: "" },
        "first-password-file": { type: "string" },
        "impersonate-users": { type: "string", default: "" },
        "oidc-issuer-url": { type: "string" },
        "oidc-client-id": { type: "string" },
        "oidc-client-secret-file": { type: "string" },
        "oidc-redirect-url": { type: "string" },
        "oidc-username-claim": { type: "string" },
        "oidc-groups-claim": { type: "string" },
        "oidc-username-prefix": { type: "string" },
        "oidc-groups-prefix": { type: "string" },
        "oidc-scopes": { type: "string" },
        "oidc-ca-file": { type: "string" },
        "oidc-display-name": { type: "string" },
      },
    }));
  } catch (error) {
    throw new OptionsError((error as Error).message);
  }
  const required = (flag: string) => {
    const value = values[flag];
    if (typeof value !== "string" || value === "") throw new OptionsError(`--${flag}: required`);
    return value;
  };
  const trustedProxies = String(values["trusted-proxies"]);
  if (!/^\d{1,2}$/.test(trustedProxies)) {
    throw new OptionsError(
      `--trusted-proxies: must be a whole number from 0 to 10, got ${JSON.stringify(trustedProxies)}`,
    );
  }
  const list = (flag: string) =>
    String(values[flag])
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "");
  const firstUserName = values["first-user"] as string | undefined;
  const firstPasswordFile = values["first-password-file"] as string | undefined;
  if ((firstUserName === undefined) !== (firstPasswordFile === undefined)) {
    throw new OptionsError(
      firstUserName === undefined
        ? "--first-password-file: needs --first-user (the name it is the password of)"
        : "--first-user: needs --first-password-file (a file holding the user's password, such as a Secret's key)",
    );
  }
  if (firstUserName === undefined && list("first-user-groups").length > 0)
    throw new OptionsError("--first-user-groups: needs --first-user");
  const oidc = oidcFlags(values, required, list);
  const options: ConsoleOptions = {
    listen: String(values.listen),
    tlsDir: values["tls-dir"] as string | undefined,
    ...((firstUserName === undefined && oidc === undefined) || values["users-file"] !== undefined
      ? { usersFile: required("users-file") }
      : {}),
    ...(firstUserName !== undefined && firstPasswordFile !== undefined
      ? {
          firstUser: {
            name: firstUserName,
            groups: list("first-user-groups"),
            passwordFile: required("first-password-file"),
          },
        }
      : {}),
    sessionKeysFile: required("session-keys-file"),
    sessionKeyGraceMs: parseDuration("session-key-grace", String(values["session-key-grace"])),
    allowedOrigins: values["allowed-origin"] as string[],
    trustedProxies: Number(trustedProxies),
    kubeconfig: values.kubeconfig as string | undefined,
    impersonateGroups: list("impersonate-groups"),
    webDir: (values["web-dir"] as string | undefined) ?? defaults.webDir,
    metricsListen: String(values["metrics-listen"]),
    ...(typeof values["database-credentials"] === "string"
      ? { databaseCredentials: values["database-credentials"] }
      : {}),
    ...(oidc ? { oidc } : {}),
    impersonateUsers: list("impersonate-users"),
  };
  checkConsoleOptions(options);
  return options;
}

/** The --oidc-* flags: all of them need --oidc-issuer-url, which needs the client's flags. */
function oidcFlags(
  values: Record<string, string | string[] | undefined>,
  required: (flag: string) => string,
  list: (flag: string) => string[],
): OidcOptions | undefined {
  const issuerUrl = values["oidc-issuer-url"] as string | undefined;
  if (issuerUrl === undefined) {
    const stray = Object.keys(values).find((flag) => flag.startsWith("oidc-") && values[flag] !== undefined);
    if (stray) throw new OptionsError(`--${stray}: needs --oidc-issuer-url`);
    return undefined;
  }
  const optional = (flag: string, fallback: string) => {
    const value = values[flag];
    return typeof value === "string" ? value : fallback;
  };
  const caFile = values["oidc-ca-file"] as string | undefined;
  return {
    issuerUrl,
    clientId: required("oidc-client-id"),
    clientSecretFile: required("oidc-client-secret-file"),
    redirectUrl: required("oidc-redirect-url"),
    usernameClaim: optional("oidc-username-claim", "email"),
    groupsClaim: optional("oidc-groups-claim", "groups"),
    usernamePrefix: optional("oidc-username-prefix", "oidc:"),
    groupsPrefix: optional("oidc-groups-prefix", "oidc:"),
    scopes: values["oidc-scopes"] === undefined ? ["openid", "email", "groups"] : list("oidc-scopes"),
    ...(caFile === undefined ? {} : { caFile }),
    displayName: optional("oidc-display-name", hostOf(issuerUrl)),
  };
}

const hostOf = (url: string) => {
  try {
    return new URL(url).host || url;
  } catch {
    return url;
  }
};
