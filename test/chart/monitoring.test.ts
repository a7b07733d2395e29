// The chart's monitoring speaks about metrics and pods that exist: every metric an alert or a dashboard
// panel names is exported by the operator or the bot runtime, and the PodMonitor selects the pods the
// operator builds, on the port their metrics are served on.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { TradingBot } from "../../api/v1alpha1/index.ts";
import { createMetrics as createRuntimeMetrics } from "../../bot-runtime/observability/metrics.ts";
import { ALERT_GROUPS } from "../../charts/alerts.ts";
import { dashboardExpressions, grafanaDashboard } from "../../charts/dashboard.ts";
import { BOT_PODS } from "../../charts/generate.ts";
import { buildBotPod } from "../../operator/desired-state/bot-pod.ts";
import { createMetrics as createOperatorMetrics } from "../../operator/ops/metrics.ts";
import { ALL_OPTIONS_VALUES, findManifest, REPO_ROOT, renderChart } from "./helm.ts";

/** Every series name the two registries can expose (histograms as _bucket, _sum and _count). */
async function exportedSeries(): Promise<Set<string>> {
  const operator = createOperatorMetrics(() => ({ botsByPhase: new Map(), haltedBySource: new Map() }));
  const runtime = createRuntimeMetrics();
  const names = new Set<string>();
  for (const registry of [operator.registry, runtime.registry]) {
    for (const metric of await registry.getMetricsAsJSON()) {
      if (String(metric.type) === "histogram") {
        for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${metric.name}${suffix}`);
      } else {
        names.add(metric.name);
      }
    }
  }
  return names;
}

const METRIC_NAME = /\btradingbot_[a-z0-9_]+/g;

describe("the chart's alerts and dashboard", () => {
  const alertExpressions = ALERT_GROUPS.flatMap((group) => group.rules.map((rule) => rule.expr));

  it("name only metrics the operator or the bot runtime exports", async () => {
    const exported = await exportedSeries();
    const named = [...alertExpressions, ...dashboardExpressions()].flatMap(
      (expr) => expr.match(METRIC_NAME) ?? [],
    );
    expect(named.length).toBeGreaterThan(30);
    expect([...new Set(named)].filter((name) => !exported.has(name))).toEqual([]);
  });

  it("alert on a halted bot, a risk event, a stale runtime heartbeat, reconcile errors and watch restarts", () => {
    const byMetric = (metric: string) =>
      ALERT_GROUPS.flatMap((group) => group.rules)
        .filter((rule) => rule.expr.includes(metric))
        .map((r) => r.alert);
    expect(byMetric("tradingbot_operator_halted_bots")).toContain("TradingBotHalted");
    expect(byMetric("tradingbot_runtime_risk_events_total")).toContain("TradingBotRiskEvent");
    expect(byMetric("tradingbot_runtime_last_heartbeat_timestamp_seconds")).toContain(
      "TradingBotHeartbeatStale",
    );
    expect(byMetric('tradingbot_operator_reconcile_total{result="error"}')).toContain(
      "TradingBotOperatorReconcileErrors",
    );
    expect(byMetric("tradingbot_operator_watch_restarts_total")).toContain("TradingBotOperatorWatchRestarts");
  });

  it("give every alert a severity, a summary and a description, under a unique name", () => {
    const rules = ALERT_GROUPS.flatMap((group) => group.rules);
    expect(new Set(rules.map((rule) => rule.alert)).size).toBe(rules.length);
    for (const rule of rules) {
      expect(["critical", "warning", "info"]).toContain(rule.severity);
      expect(rule.summary.length, rule.alert).toBeGreaterThan(10);
      expect(rule.description.length, rule.alert).toBeGreaterThan(40);
    }
  });

  it("lay out dashboard panels without overlaps, on Grafana's 24-column grid", () => {
    const panels = grafanaDashboard().panels as {
      title: string;
      gridPos: { x: number; y: number; w: number; h: number };
    }[];
    const cells = new Map<string, string>();
    for (const { title, gridPos } of panels) {
      expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24);
      for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
        for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
          const key = `${x},${y}`;
          expect(cells.get(key), `${title} overlaps ${cells.get(key)}`).toBeUndefined();
          cells.set(key, title);
        }
      }
    }
  });

  it("render into a PrometheusRule with the extra rule labels and without the disabled alerts", async () => {
    const { manifests } = await renderChart({ valuesFiles: [ALL_OPTIONS_VALUES] });
    const rule = findManifest(manifests, "PrometheusRule") as unknown as {
      spec: {
        groups: { name: string; rules: { alert: string; expr: string; labels: Record<string, string> }[] }[];
      };
    };
    const rendered = rule.spec.groups.flatMap((group) => group.rules);
    const all = ALERT_GROUPS.flatMap((group) => group.rules);
    expect(rendered.map((r) => r.alert)).toEqual(
      all.map((r) => r.alert).filter((name) => name !== "TradingBotHalted"),
    );
    for (const renderedRule of rendered) {
      const source = all.find((r) => r.alert === renderedRule.alert);
      expect(renderedRule.expr).toBe(source?.expr);
      expect(renderedRule.labels).toEqual({ severity: source?.severity, team: "trading-platform" });
    }
  });

  it("ship the dashboard in the ConfigMap exactly as config/grafana has it", async () => {
    const { manifests } = await renderChart({ set: ["metrics.dashboard.enabled=true"] });
    const configMap = findManifest(manifests, "ConfigMap") as unknown as { data: Record<string, string> };
    const shipped = JSON.parse(configMap.data["tradingbot-operator.json"] ?? "{}") as unknown;
    expect(shipped).toEqual(
      JSON.parse(readFileSync(join(REPO_ROOT, "config/grafana/tradingbot-operator.json"), "utf8")),
    );
  });
});

describe("the bots' PodMonitor", () => {
  it("selects the pods the operator builds, on the port their metrics are served on", async () => {
    const sample = TradingBot.parse(
      load(readFileSync(join(REPO_ROOT, "config/samples/tradingbot-grid-paper.yaml"), "utf8")),
    );
    const pod = buildBotPod({
      bot: { name: "grid-btc-paper", namespace: "trading", uid: "uid-1" },
      spec: sample.spec,
      defaultImage: "ghcr.io/botops/tradingbot-operator:0.1.0",
      configHash: "c0ffee",
      secretVersions: { exchange: "1", database: "2" },
    });
    const { manifests } = await renderChart({ set: ["metrics.botPodMonitor.enabled=true"] });
    const monitor = findManifest(manifests, "PodMonitor") as unknown as {
      spec: {
        selector: { matchLabels: Record<string, string> };
        podMetricsEndpoints: { port: string; path: string; relabelings: { sourceLabels: string[] }[] }[];
      };
    };
    const labels = pod.metadata.labels ?? {};
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels))
      expect(labels[key], key).toBe(value);
    const endpoint = monitor.spec.podMetricsEndpoints[0];
    const ports = (
      pod.spec as { containers: { ports?: { name: string; containerPort: number }[] }[] }
    ).containers.flatMap((c) => c.ports ?? []);
    expect(ports).toContainEqual({
      name: endpoint?.port,
      containerPort: BOT_PODS.statusPort,
      protocol: "TCP",
    });
    expect(endpoint?.path).toBe("/metrics");
    // The relabeling reads the pod label that names the bot.
    expect(labels[BOT_PODS.botNameLabel]).toBe("grid-btc-paper");
    expect(endpoint?.relabelings[0]?.sourceLabels).toEqual([
      "__meta_kubernetes_pod_label_trading_botops_dev_bot",
    ]);
  });
});
