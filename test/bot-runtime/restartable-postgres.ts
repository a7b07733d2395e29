// The database-outage suite stops its own PostgreSQL server and starts it again on the same data, port and
// certificate. startPostgres() has no restart, so the server is started again exactly as PostgreSQL itself
// recorded its command line (data/postmaster.opts).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { type PostgresServer, postgresConnectionString, startPostgres } from "../postgres/index.ts";
import { type ManagedProcess, startProcess } from "../support/processes.ts";
import { waitFor } from "../support/wait-for.ts";

export type RestartablePostgres = {
  server: PostgresServer;
  stop(): Promise<void>;
  start(): Promise<void>;
};

function postmasterCommand(dataDir: string): { command: string; args: string[] } {
  const text = readFileSync(join(dataDir, "postmaster.opts"), "utf8").trim();
  const command = text.slice(0, text.indexOf(" "));
  const args = [...text.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((match) =>
    (match[1] as string).replace(/\\(.)/g, "$1"),
  );
  return { command, args };
}

function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

export async function startRestartablePostgres(stateDir: string): Promise<RestartablePostgres> {
  const server = await startPostgres({ stateDir });
  const { command, args } = postmasterCommand(join(stateDir, "data"));
  let restarted: ManagedProcess | undefined;
  let running = true;
  const stop = async () => {
    if (!running) return;
    if (restarted === undefined) await server.stop();
    else await restarted.stop(15_000, "SIGINT");
    running = false;
  };
  return {
    server,
    stop,
    async start() {
      if (running) return;
      restarted = startProcess({
        name: "postgres (restarted)",
        command,
        args,
        logPath: join(stateDir, "postgres-restarted.log"),
        user: serverUser(),
      });
      running = true;
      await waitFor(
        async () => {
          const client = new pg.Client({ connectionString: postgresConnectionString(server, "postgres") });
          await client.connect();
          await client.end();
          return true;
        },
        { what: "the restarted PostgreSQL to accept connections", timeoutMs: 30_000, intervalMs: 100 },
      );
    },
  };
}
