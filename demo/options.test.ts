import { describe, expect, it } from "vitest";
import { DemoUsageError, parseDemoArgs, SAMPLE_KILL_SWITCH_NAME } from "./options.ts";

const options = (argv: string[], env: Record<string, string> = {}) => {
  const args = parseDemoArgs(argv, env);
  if (args.help) throw new Error("expected options, got --help");
  return args.options;
};

const PG = {
  USE_EXISTING_POSTGRES: "true",
  PGHOST: "127.0.0.1",
  PGPORT: "5433",
  PGUSER: "postgres",
  PGPASSWORD: "pw",
  PGSSLROOTCERT: "ca.crt",
};

describe("demo options", () => {
  it("by default show the fleet live on a local control plane and PostgreSQL, in the namespace the KillSwitch sample selects", () => {
    expect(options([])).toEqual({
      mode: "live",
      name: "demo",
      namespaces: { trading: "trading", research: "research" },
      killSwitchName: SAMPLE_KILL_SWITCH_NAME,
      cluster: { kind: "local" },
      postgres: { kind: "local" },
    });
  });

  it("run the tour with --tour", () => {
    expect(options(["--tour"]).mode).toBe("tour");
  });

  it("name everything after a prefix given as a flag or in DEMO_PREFIX, so runs can share a cluster", () => {
    for (const parsed of [
      options(["--prefix", "t-1a"]),
      options(["--prefix=t-1a"]),
      options([], { DEMO_PREFIX: "t-1a" }),
    ]) {
      expect(parsed.name).toBe("t-1a");
      expect(parsed.namespaces).toEqual({ trading: "t-1a-trading", research: "t-1a-research" });
      expect(parsed.killSwitchName).toBe("t-1a-halt-trading");
    }
    expect(options(["--prefix", "flag"], { DEMO_PREFIX: "env" }).name).toBe("flag");
  });

  it("refuse a prefix that cannot name a namespace, and unknown arguments", () => {
    expect(() => options(["--prefix", "Upper"])).toThrow(DemoUsageError);
    expect(() => options(["--prefix", "a".repeat(25)])).toThrow("1 to 24 lowercase");
    expect(() => options(["--prefix"])).toThrow("--prefix needs a name");
    expect(() => options(["--tuor"])).toThrow('unknown argument "--tuor"');
  });

  it("use the cluster of KUBECONFIG with USE_EXISTING_CLUSTER=true, and say when KUBECONFIG is missing", () => {
    expect(options([], { USE_EXISTING_CLUSTER: "true", KUBECONFIG: "/k/config" }).cluster).toEqual({
      kind: "existing",
      kubeconfigPath: "/k/config",
    });
    expect(() => options([], { USE_EXISTING_CLUSTER: "true" })).toThrow(
      "USE_EXISTING_CLUSTER=true needs KUBECONFIG to be set",
    );
    expect(options([], { USE_EXISTING_CLUSTER: "false", KUBECONFIG: "/k" }).cluster).toEqual({
      kind: "local",
    });
  });

  it("use an existing PostgreSQL from the libpq variables with USE_EXISTING_POSTGRES=true", () => {
    expect(options([], PG).postgres).toEqual({
      kind: "existing",
      endpoint: { host: "127.0.0.1", port: 5433, user: "postgres", password: "pw", caCertPath: "ca.crt" },
    });
    expect(() => options([], { ...PG, PGPASSWORD: "", PGSSLROOTCERT: "" })).toThrow(
      "USE_EXISTING_POSTGRES=true needs PGPASSWORD, PGSSLROOTCERT to be set",
    );
    expect(() => options([], { ...PG, PGPORT: "54x" })).toThrow('PGPORT must be a port number (got "54x")');
  });

  it("answer --help", () => {
    expect(parseDemoArgs(["--tour", "--help"], {})).toEqual({ help: true });
  });
});
