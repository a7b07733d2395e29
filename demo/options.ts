// What the demo runs against and how, decided from its command line and environment (no I/O here).

import type { PostgresEndpoint } from "../test/postgres/connection-string.ts";

export const USAGE = `usage: node demo/main.ts [--tour] [--prefix NAME]

  (default)       start everything, apply the paper samples and show the fleet live until Ctrl-C
  --tour          run the scripted tour (apply, trade, halt, resume, fleet halt), then stop and exit
  --prefix NAME   name the demo's namespaces NAME-trading and NAME-research (and its KillSwitch
                  NAME-halt-trading), so it can share a cluster with others; also DEMO_PREFIX=NAME

environment:
  USE_EXISTING_CLUSTER=true KUBECONFIG=FILE   use that cluster instead of starting the local control plane
  USE_EXISTING_POSTGRES=true                  use a running PostgreSQL instead of starting one, as its
    PGHOST PGPORT PGUSER PGPASSWORD             superuser (the demo creates a database and two roles),
    PGSSLROOTCERT                               over TLS verified against that CA certificate`;

export type DemoMode = "live" | "tour";

export type ClusterChoice = { kind: "local" } | { kind: "existing"; kubeconfigPath: string };
export type PostgresChoice = { kind: "local" } | { kind: "existing"; endpoint: PostgresEndpoint };

export interface DemoOptions {
  mode: DemoMode;
  /** The environment's name: its operator namespace, the agent's Node and its database are named after it. */
  name: string;
  /** Where the bots run: `trading` is the namespace the fleet halt selects, `research` keeps trading. */
  namespaces: { trading: string; research: string };
  /** Name of the KillSwitch the fleet halt applies. */
  killSwitchName: string;
  cluster: ClusterChoice;
  postgres: PostgresChoice;
}

export type DemoArgs = { help: true } | { help: false; options: DemoOptions };

/** The name of config/samples/killswitch-namespace.yaml, and the namespace it selects. */
export const SAMPLE_KILL_SWITCH_NAME = "halt-trading-namespace";
export const SAMPLE_KILL_SWITCH_NAMESPACE = "trading";

const PREFIX = /^[a-z]([-a-z0-9]{0,22}[a-z0-9])?$/;

export class DemoUsageError extends Error {}

function prefixFrom(argv: readonly string[], env: Readonly<Record<string, string | undefined>>) {
  const index = argv.findIndex((arg) => arg === "--prefix" || arg.startsWith("--prefix="));
  if (index === -1) return env.DEMO_PREFIX || undefined;
  const arg = argv[index] as string;
  const value = arg === "--prefix" ? argv[index + 1] : arg.slice("--prefix=".length);
  if (value === undefined || value === "") throw new DemoUsageError("--prefix needs a name");
  return value;
}

function required(env: Readonly<Record<string, string | undefined>>, names: readonly string[], why: string) {
  const missing = names.filter((name) => !env[name]);
  if (missing.length > 0) throw new DemoUsageError(`${why} needs ${missing.join(", ")} to be set`);
}

export function parseDemoArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): DemoArgs {
  if (argv.includes("--help") || argv.includes("-h")) return { help: true };
  const known = new Set(["--tour", "--prefix"]);
  argv.forEach((arg, index) => {
    if (argv[index - 1] === "--prefix") return;
    if (!known.has(arg) && !arg.startsWith("--prefix=")) {
      throw new DemoUsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  });

  const prefix = prefixFrom(argv, env);
  if (prefix !== undefined && !PREFIX.test(prefix)) {
    throw new DemoUsageError(
      `prefix ${JSON.stringify(prefix)} must be 1 to 24 lowercase letters, digits or '-', starting with a letter`,
    );
  }

  let cluster: ClusterChoice = { kind: "local" };
  if (env.USE_EXISTING_CLUSTER === "true") {
    required(env, ["KUBECONFIG"], "USE_EXISTING_CLUSTER=true");
    cluster = { kind: "existing", kubeconfigPath: env.KUBECONFIG as string };
  }

  let postgres: PostgresChoice = { kind: "local" };
  if (env.USE_EXISTING_POSTGRES === "true") {
    const names = ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGSSLROOTCERT"];
    required(env, names, "USE_EXISTING_POSTGRES=true");
    const port = Number(env.PGPORT);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new DemoUsageError(`PGPORT must be a port number (got ${JSON.stringify(env.PGPORT)})`);
    }
    postgres = {
      kind: "existing",
      endpoint: {
        host: env.PGHOST as string,
        port,
        user: env.PGUSER as string,
        password: env.PGPASSWORD as string,
        caCertPath: env.PGSSLROOTCERT as string,
      },
    };
  }

  return {
    help: false,
    options: {
      mode: argv.includes("--tour") ? "tour" : "live",
      name: prefix ?? "demo",
      // Without a prefix the namespace is the one the KillSwitch sample selects, so it applies unchanged.
      namespaces:
        prefix === undefined
          ? { trading: SAMPLE_KILL_SWITCH_NAMESPACE, research: "research" }
          : { trading: `${prefix}-trading`, research: `${prefix}-research` },
      killSwitchName: prefix === undefined ? SAMPLE_KILL_SWITCH_NAME : `${prefix}-halt-trading`,
      cluster,
      postgres,
    },
  };
}
