// A private PostgreSQL server for tests, the demo and benchmarks: Debian's server binaries, a fresh initdb in
// a temporary folder, TLS on with a generated certificate, SCRAM passwords, listening on 127.0.0.1 only.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "../support/free-port.ts";
import { createCertificateAuthority, issueCertificate } from "../support/pki.ts";
import { failOnExit, startProcess } from "../support/processes.ts";
import { waitFor } from "../support/wait-for.ts";
import {
  createDatabaseStatement,
  type PostgresEndpoint,
  postgresConnectionString,
  type SslMode,
} from "./connection-string.ts";

export { type PostgresEndpoint, postgresConnectionString, type SslMode } from "./connection-string.ts";

const run = promisify(execFile);

export interface PostgresServer extends PostgresEndpoint {
  host: "127.0.0.1";
  /** `user` is the superuser. */
  stateDir: string;
  logPath: string;
  /** See postgresConnectionString. */
  connectionString(database: string, sslmode?: SslMode): string;
  /** Creates an empty database owned by the superuser. */
  createDatabase(name: string): Promise<void>;
  /** Fast shutdown (clients are disconnected), then the state dir is removed if this module created it. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Where the data directory, certificates and log go; a new temporary folder by default. */
  stateDir?: string;
  log?: (line: string) => void;
}

/** Server binaries of the newest PostgreSQL under /usr/lib/postgresql (Debian's layout). */
export function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter(
          (v) => existsSync(join(root, v, "bin", "postgres")) && existsSync(join(root, v, "bin", "initdb")),
        )
        .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    : [];
  if (versions[0] === undefined) {
    throw new Error(`no PostgreSQL server under ${root}/<version>/bin: run \`make postgres-server\``);
  }
  return join(root, versions[0], "bin");
}

/** PostgreSQL refuses to run as root: as root, the server runs as the `postgres` system user. */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const [uid, gid] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const binDir = postgresBinDir();
  const ownStateDir = options.stateDir === undefined;
  const stateDir = resolve(options.stateDir ?? mkdtempSync(join(tmpdir(), "tradingbot-postgres-")));
  const dataDir = join(stateDir, "data");
  const tlsDir = join(stateDir, "tls");
  const passwordFile = join(stateDir, "superuser-password");
  const logPath = join(stateDir, "postgres.log");
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(tlsDir, { recursive: true, force: true });
  mkdirSync(tlsDir, { recursive: true });

  const user = "postgres";
  const password = randomBytes(18).toString("hex");
  writeFileSync(passwordFile, password, { mode: 0o600 });
  const ca = await createCertificateAuthority(tlsDir, "tradingbot-postgres-ca");
  const serverCert = await issueCertificate(ca, tlsDir, {
    name: "server",
    commonName: "127.0.0.1",
    usage: "server",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
  });
  const owner = await serverUser();
  if (owner) {
    // The server reads its key and writes its data as `postgres`; the folder must be reachable by that user.
    for (const path of [stateDir, tlsDir, serverCert.keyPath, serverCert.certPath, passwordFile]) {
      chownSync(path, owner.uid, owner.gid);
    }
  }
  const asServerUser = owner ? [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, "--clear-groups"] : [];
  try {
    await run("setpriv", [
      ...asServerUser,
      "--",
      join(binDir, "initdb"),
      `--pgdata=${dataDir}`,
      `--username=${user}`,
      `--pwfile=${passwordFile}`,
      "--auth-local=scram-sha-256",
      "--auth-host=scram-sha-256",
      "--encoding=UTF8",
      "--no-locale",
      "--no-sync",
    ]);
  } catch (error) {
    const output = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(
      `initdb into ${dataDir} failed${owner ? " (running as the postgres user: every parent folder must be traversable by it)" : ""}:\n${output}`,
    );
  } finally {
    rmSync(passwordFile, { force: true });
  }
  // Password (SCRAM) over TCP on loopback, with or without TLS, so tests can tell the two apart; no other way in.
  writeFileSync(
    join(dataDir, "pg_hba.conf"),
    [
      "# TYPE   DATABASE  USER  ADDRESS       METHOD",
      "hostssl  all       all   127.0.0.1/32  scram-sha-256",
      "host     all       all   127.0.0.1/32  scram-sha-256",
      "",
    ].join("\n"),
  );

  const port = await freePort();
  const server = startProcess({
    name: "postgres",
    command: join(binDir, "postgres"),
    args: [
      `-D${dataDir}`,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      `port=${port}`,
      "-c",
      "unix_socket_directories=",
      "-c",
      "ssl=on",
      "-c",
      `ssl_cert_file=${serverCert.certPath}`,
      "-c",
      `ssl_key_file=${serverCert.keyPath}`,
      "-c",
      "password_encryption=scram-sha-256",
      "-c",
      "max_connections=300",
      // A throwaway server: crash safety buys nothing here, and fsync would dominate the tests' time.
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
    ],
    logPath,
    user: owner,
  });

  const endpoint: PostgresEndpoint = { host: "127.0.0.1", port, user, password, caCertPath: ca.certPath };
  const connectionString = (database: string, sslmode?: SslMode) =>
    postgresConnectionString(endpoint, database, sslmode);
  const withClient = async <T>(database: string, use: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: connectionString(database) });
    await client.connect();
    try {
      return await use(client);
    } finally {
      await client.end();
    }
  };

  const stop = async () => {
    // SIGINT is PostgreSQL's fast shutdown: open connections are rolled back and closed, not waited for.
    await server.stop(15_000, "SIGINT");
    if (ownStateDir) rmSync(stateDir, { recursive: true, force: true });
    log("postgres stopped");
  };

  const crashed = failOnExit([server]);
  try {
    await Promise.race([
      waitFor(() => withClient("postgres", async () => true), {
        what: `PostgreSQL to accept connections on 127.0.0.1:${port}`,
        timeoutMs: 30_000,
        intervalMs: 100,
      }),
      crashed.promise,
    ]);
  } catch (error) {
    await stop();
    throw error;
  } finally {
    crashed.cancel();
  }
  log(
    `postgres ${readFileSync(join(dataDir, "PG_VERSION"), "utf8").trim()} is up on 127.0.0.1:${port} (${Date.now() - started} ms)`,
  );

  return {
    ...endpoint,
    host: "127.0.0.1",
    stateDir,
    logPath,
    connectionString,
    async createDatabase(name: string) {
      await withClient("postgres", (client) => client.query(createDatabaseStatement(name)));
    },
    stop,
  };
}
