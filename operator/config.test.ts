import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseDurationMs } from "./config.ts";

describe("loadConfig", () => {
  it("fills every setting with its default", () => {
    const config = loadConfig([], {});
    expect(config.namespaces).toBe("all");
    expect(config.concurrency).toBe(64);
    expect(config.qps).toBe(200);
    expect(config.burst).toBe(500);
    expect(config.maxGracePeriod).toBe(60_000);
    expect(config.leaderElect).toBe(true);
    expect(config.runtimePollInterval).toBe(15_000);
    expect(config.operatorPodLabels).toEqual({ "app.kubernetes.io/name": "tradingbot-operator" });
    expect(config.identity).toMatch(/_\d+$/);
  });

  it("reads flags in both --name=value and --name value forms, over the environment", () => {
    const config = loadConfig(["--namespaces=team-a, team-b", "--concurrency", "8", "--leader-elect=false"], {
      TRADINGBOT_OPERATOR_CONCURRENCY: "4",
      TRADINGBOT_OPERATOR_LOG_LEVEL: "debug",
    });
    expect(config.namespaces).toEqual(["team-a", "team-b"]);
    expect(config.concurrency).toBe(8);
    expect(config.logLevel).toBe("debug");
    expect(config.leaderElect).toBe(false);
  });

  it("caps bot pods' grace period at 60 s unless told otherwise, and never above the API's 600 s", () => {
    expect(loadConfig([], {}).maxGracePeriod).toBe(60_000);
    expect(loadConfig(["--max-grace-period=2m"], {}).maxGracePeriod).toBe(120_000);
    expect(() => loadConfig(["--max-grace-period=11m"], {})).toThrow(
      /--max-grace-period: must be at most 600s/,
    );
  });

  it("anchors the audit chain in an Event every 1000 rows or 10 minutes unless told otherwise", () => {
    expect(loadConfig([], {})).toMatchObject({ auditAnchorRows: 1000, auditAnchorInterval: 600_000 });
    expect(loadConfig(["--audit-anchor-rows=50000", "--audit-anchor-interval=1h"], {})).toMatchObject({
      auditAnchorRows: 50_000,
      auditAnchorInterval: 3_600_000,
    });
    expect(() => loadConfig(["--audit-anchor-rows=0"], {})).toThrow(/--audit-anchor-rows: .*>=1 \(got "0"\)/);
  });

  it("lets bots' halt watch reach the API server on 443 and 6443 at any address unless told its ports and CIDRs", () => {
    expect(loadConfig([], {})).toMatchObject({ apiServerPorts: [443, 6443], apiServerCidrs: [] });
    expect(
      loadConfig(["--api-server-ports=6443", "--api-server-cidrs=10.0.0.1/32, fd00::/64"], {}),
    ).toMatchObject({ apiServerPorts: [6443], apiServerCidrs: ["10.0.0.1/32", "fd00::/64"] });
    expect(() => loadConfig(["--api-server-ports=0"], {})).toThrow(
      /--api-server-ports: must be a comma-separated list of ports/,
    );
    expect(() => loadConfig(["--api-server-cidrs=10.0.0.1"], {})).toThrow(
      /--api-server-cidrs: must be a comma-separated list of CIDRs such as 10.0.0.10\/32; "10.0.0.1" is not one/,
    );
    expect(() => loadConfig(["--api-server-cidrs=10.0.0.0/33"], {})).toThrow(/"10.0.0.0\/33" is not one/);
  });

  it("writes KillSwitch status only when it sees every namespace, unless told otherwise", () => {
    expect(loadConfig([], {}).killSwitchStatus).toBe(true);
    expect(loadConfig(["--namespaces=a"], {}).killSwitchStatus).toBe(false);
    expect(loadConfig(["--namespaces=a", "--kill-switch-status"], {}).killSwitchStatus).toBe(true);
  });

  it("takes the operator namespace and identity from the downward API variables", () => {
    const config = loadConfig([], { POD_NAMESPACE: "ops", POD_NAME: "operator-7d9f" });
    expect(config.operatorNamespace).toBe("ops");
    expect(config.identity).toBe("operator-7d9f");
  });

  it("parses label selectors given as k=v pairs", () => {
    const config = loadConfig(
      ["--monitoring-namespace-selector=team=obs,kubernetes.io/metadata.name=monitoring"],
      {},
    );
    expect(config.monitoringNamespaceSelector).toEqual({
      team: "obs",
      "kubernetes.io/metadata.name": "monitoring",
    });
  });

  it("names the flag, the value and what is allowed in every error, all at once", () => {
    let error: unknown;
    try {
      loadConfig(
        ["--concurrency=lots", "--runtime-poll-interval=soon", "--namespaces=Bad_NS", "--colour=red"],
        {
          TRADINGBOT_OPERATOR_LOG_LEVEL: "loud",
        },
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('--concurrency: must be an integer between 1 and 1000 (got "lots")');
    expect(message).toContain("--runtime-poll-interval: must be a duration such as 500ms, 15s, 5m or 1h");
    expect(message).toContain('"Bad_NS" is not one');
    expect(message).toContain("--colour: unknown flag");
    expect(message).toContain("TRADINGBOT_OPERATOR_LOG_LEVEL: Invalid option: expected one of");
  });

  it("rejects a concurrency out of range", () => {
    expect(() => loadConfig(["--concurrency=0"], {})).toThrow(/--concurrency/);
  });
});

describe("parseDurationMs", () => {
  it("understands ms, s, m and h", () => {
    expect([
      parseDurationMs("500ms"),
      parseDurationMs("15s"),
      parseDurationMs("2m"),
      parseDurationMs("1h"),
    ]).toEqual([500, 15_000, 120_000, 3_600_000]);
    expect(parseDurationMs("15")).toBeUndefined();
  });
});
