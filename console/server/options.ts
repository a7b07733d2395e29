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
    if (!isIdentity(group)) {
      throw new OptionsError(
        `--impersonate-groups: ${JSON.stringify(group)} is not allowed: letters, digits, '.', '_', '@', '-', and not a system group`,
      );
    }
  }
  if (!options.usersFile && !options.firstUser) {
    throw new OptionsError(
      "--users-file: required (unless --first-user and --first-password-file are given)",
    );
  }
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
  const options: ConsoleOptions = {
    listen: String(values.listen),
    tlsDir: values["tls-dir"] as string | undefined,
    ...(firstUserName === undefined || values["users-file"] !== undefined
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
  };
  checkConsoleOptions(options);
  return options;
}
