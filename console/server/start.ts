import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Server } from "node:https";
import { join } from "node:path";
import { type Logger, pino } from "pino";
import { BotData } from "../db/bot-data.ts";
import { BotFeed } from "../kube/bot-feed.ts";
import { KubeClient } from "../kube/client.ts";
import { TradingApi } from "../kube/trading-api.ts";
import { buildConsoleApp, type RequestLimits } from "./app.ts";
import { LoginThrottle } from "./login-throttle.ts";
import { buildMetricsApp, ConsoleMetrics } from "./metrics.ts";
import { OidcClient } from "./oidc-client.ts";
import {
  type ConsoleOptions,
  checkConsoleOptions,
  type FirstUser,
  isLoopback,
  type OidcOptions,
  OptionsError,
  parseEndpoint,
} from "./options.ts";
import { hashPassword, parsePasswordHash } from "./passwords.ts";
import { nextKeyRing, parseSessionKeys, type SessionKeyRing } from "./session-seal.ts";
import { type ConsoleUser, loadUsers, passwordAuthenticator, type UserDirectory } from "./users.ts";

// Starts the console: reads its Secrets (users, session keys, TLS), connects to the API server with its
// own identity, starts the shared TradingBot watch and listens. Session keys and the certificate are
// read again periodically, so a rotated Secret takes effect without a restart.

export interface RunningConsole {
  url: string;
  metricsUrl: string;
  close(): Promise<void>;
}

export interface StartOptions extends ConsoleOptions {
  logger?: Logger;
  limits?: RequestLimits;
  heartbeatMs?: number;
  /** How often rotated Secrets (session keys, certificate) are read again. */
  reloadIntervalMs?: number;
  /** The clock of sessions and login throttles (tests move it to see a session expire). */
  now?: () => number;
}

/**
 * The users file's users and the first user, whose password file (a Secret's key) is hashed here, into
 * memory only. Errors name the file, never its content.
 */
export async function withFirstUser(
  users: UserDirectory,
  first: FirstUser | undefined,
): Promise<UserDirectory> {
  if (!first) return users;
  if (users.has(first.name)) {
    throw new OptionsError(`--first-user: ${first.name} is also in the users file; name a user only once`);
  }
  let password: string;
  try {
    password = readFileSync(first.passwordFile, "utf8").replace(/\r?\n$/, "");
  } catch (error) {
    throw new OptionsError(
      `--first-password-file: cannot read ${first.passwordFile} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
  if (password.length < 12 || password.length > 1024) {
    throw new OptionsError(
      `--first-password-file: ${first.passwordFile} must hold a password of 12 to 1024 characters`,
    );
  }
  const user: ConsoleUser = {
    name: first.name,
    groups: first.groups,
    passwordHash: parsePasswordHash(await hashPassword(password)),
  };
  return new Map([...users, [first.name, user]]);
}

/** A mounted Secret's or ConfigMap's file: errors name the flag and the file, never what it holds. */
function readMountedFile(flag: string, path: string, what: string, maxLength: number): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8").replace(/\r?\n$/, "");
  } catch (error) {
    throw new OptionsError(
      `--${flag}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
  if (text.length < 1 || text.length > maxLength)
    throw new OptionsError(`--${flag}: ${path} must hold ${what} of 1 to ${maxLength} characters`);
  return text;
}

/** The OIDC client of the flags: its secret and CA read from their files, here, once. */
export function oidcClientOf(oidc: OidcOptions): OidcClient {
  const ca = oidc.caFile
    ? readMountedFile("oidc-ca-file", oidc.caFile, "PEM certificates", 1024 * 1024)
    : undefined;
  if (ca !== undefined) {
    const certificates = ca.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    try {
      if (certificates.length === 0) throw new Error("none");
      for (const pem of certificates) new X509Certificate(pem);
    } catch {
      throw new OptionsError(
        `--oidc-ca-file: ${oidc.caFile} must hold PEM certificates (-----BEGIN CERTIFICATE----- blocks) that parse`,
      );
    }
  }
  return new OidcClient({
    issuerUrl: oidc.issuerUrl,
    clientId: oidc.clientId,
    clientSecret: readMountedFile("oidc-client-secret-file", oidc.clientSecretFile, "a client secret", 4096),
    redirectUrl: oidc.redirectUrl,
    scopes: oidc.scopes,
    ...(ca ? { ca } : {}),
  });
}

const urlHost = (host: string) => (host.includes(":") ? `[${host}]` : host);

export async function startConsole(options: StartOptions): Promise<RunningConsole> {
  checkConsoleOptions(options);
  const logger = options.logger ?? pino({ name: "tradingbot-console" });
  const listen = parseEndpoint("listen", options.listen);
  const metricsListen = parseEndpoint("metrics-listen", options.metricsListen);

  const users = await withFirstUser(
    options.usersFile ? loadUsers(options.usersFile, options.impersonateGroups) : new Map(),
    options.firstUser,
  );
  const impersonateUsers = options.impersonateUsers ?? [];
  const twice = impersonateUsers.find((name) => users.has(name));
  if (twice !== undefined) {
    throw new OptionsError(
      `--impersonate-users: ${twice} is also a local user; one Kubernetes identity cannot be both (choose another --oidc-username-prefix)`,
    );
  }
  const oidcClient = options.oidc ? oidcClientOf(options.oidc) : undefined;
  let keyRing: SessionKeyRing = nextKeyRing(
    parseSessionKeys(readFileSync(options.sessionKeysFile, "utf8")),
    undefined,
    options.sessionKeyGraceMs,
    Date.now(),
  );
  const readTls = () =>
    options.tlsDir
      ? {
          cert: readFileSync(join(options.tlsDir, "tls.crt"), "utf8"),
          key: readFileSync(join(options.tlsDir, "tls.key"), "utf8"),
        }
      : undefined;
  const tls = readTls();

  const kube = KubeClient.load(options.kubeconfig);
  const trading = new TradingApi(kube);
  const feed = new BotFeed(kube, logger);
  await feed.start();

  // Read-only: the role `bot-runtime migrate --console-role` grants SELECT alone.
  const botData = options.databaseCredentials ? BotData.open(options.databaseCredentials) : undefined;

  const metrics = new ConsoleMetrics({ processMetrics: true });
  const app = await buildConsoleApp({
    logger,
    allowedOrigins: options.allowedOrigins,
    trustedProxies: options.trustedProxies,
    // Browsers drop Secure cookies over plain HTTP; plain HTTP is only ever served on loopback.
    secureCookies: tls !== undefined || !isLoopback(listen.host),
    keyRing: () => keyRing,
    ...(users.size > 0 ? { authenticate: passwordAuthenticator(users) } : {}),
    ...(options.oidc && oidcClient
      ? {
          oidc: {
            signIn: oidcClient,
            displayName: options.oidc.displayName,
            mapping: {
              usernameClaim: options.oidc.usernameClaim,
              groupsClaim: options.oidc.groupsClaim,
              usernamePrefix: options.oidc.usernamePrefix,
              groupsPrefix: options.oidc.groupsPrefix,
              allowedUsers: new Set(impersonateUsers),
              allowedGroups: new Set(options.impersonateGroups),
            },
          },
        }
      : {}),
    throttle: new LoginThrottle(undefined, options.now),
    metrics,
    trading,
    feed,
    ...(botData ? { botData } : {}),
    webDir: options.webDir,
    ...(tls ? { https: tls } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const metricsApp = await buildMetricsApp(metrics);

  let lastTls = tls;
  const reload = setInterval(() => {
    try {
      keyRing = nextKeyRing(
        parseSessionKeys(readFileSync(options.sessionKeysFile, "utf8")),
        keyRing,
        options.sessionKeyGraceMs,
        Date.now(),
      );
      const current = readTls();
      if (current && (current.cert !== lastTls?.cert || current.key !== lastTls?.key)) {
        (app.server as Server).setSecureContext(current);
        lastTls = current;
        logger.info("serving a renewed certificate");
      }
    } catch (error) {
      logger.error(
        { err: error },
        "could not read the rotated session keys or certificate; keeping the previous ones",
      );
    }
  }, options.reloadIntervalMs ?? 30_000);
  reload.unref();

  await app.listen({ host: listen.host, port: listen.port });
  await metricsApp.listen({ host: metricsListen.host, port: metricsListen.port });
  const port = (app.server.address() as { port: number }).port;
  const metricsPort = (metricsApp.server.address() as { port: number }).port;
  logger.info(
    {
      listen: options.listen,
      tls: tls !== undefined,
      localUsers: users.size,
      ...(options.oidc ? { oidcIssuer: options.oidc.issuerUrl, oidcUsers: impersonateUsers.length } : {}),
    },
    "console serving",
  );
  return {
    url: `${tls ? "https" : "http"}://${urlHost(listen.host)}:${port}`,
    metricsUrl: `http://${urlHost(metricsListen.host)}:${metricsPort}/metrics`,
    async close() {
      clearInterval(reload);
      await Promise.all([app.close(), metricsApp.close()]);
      await feed.stop();
      await botData?.close();
      await oidcClient?.close();
      kube.close();
    },
  };
}
