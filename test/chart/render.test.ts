// What the chart renders, checked without installing it: lint, kube-score, the operator's own flag parser
// and rule list, the bots' NetworkPolicy, and the schema's answers to bad values.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { accessObjects } from "../../api/access/policies.ts";
import { DEFAULT_TRADING_POLICY } from "../../api/access/trading-policy.ts";
import { CHART_DIR, staleChartFiles } from "../../charts/generate.ts";
import { loadConfig } from "../../operator/config.ts";
import { buildBotNetworkPolicy } from "../../operator/desired-state/bot-network-policy.ts";
import {
  BOT_NAMESPACE_RULES,
  CLUSTER_RULES,
  LEADER_ELECTION_RULES,
  type PolicyRule,
} from "../../operator/ops/rbac-rules.ts";
import {
  ALL_OPTIONS_VALUES,
  CHART_PATH,
  findManifest,
  helm,
  type KubeManifest,
  parseManifests,
  REPO_ROOT,
  renderChart,
} from "./helm.ts";
import { documentedIgnores, kubeScore } from "./kube-score.ts";

interface Container {
  name: string;
  image: string;
  args: string[];
  env?: { name: string; value?: string }[];
}
interface DeploymentManifest extends KubeManifest {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } };
  };
}

/** The operator's Deployment (the console has one too). */
function operatorDeployment(manifests: KubeManifest[]): DeploymentManifest {
  const deployment = manifests.find(
    (m) => m.kind === "Deployment" && m.metadata.labels?.["app.kubernetes.io/component"] === "operator",
  );
  if (!deployment) throw new Error("no operator Deployment among the rendered manifests");
  return deployment as DeploymentManifest;
}

function operatorContainer(manifests: KubeManifest[]): Container {
  const deployment = operatorDeployment(manifests);
  const container = deployment.spec.template.spec.containers.find((c) => c.name === "operator");
  if (!container) throw new Error("the Deployment has no container named operator");
  return container;
}

/** Rules as the API server compares them: no comments, no reasons. */
function bare(rules: PolicyRule[]) {
  return rules.map(({ why: _why, ...rule }) => rule);
}

const renderings = [
  { name: "the default values", valuesFiles: [] as string[] },
  { name: "every option on (ci/all-options-values.yaml)", valuesFiles: [ALL_OPTIONS_VALUES] },
];

describe("the Helm chart", () => {
  it.each(renderings)("passes helm lint --strict with $name", async ({ valuesFiles }) => {
    const result = await helm(["lint", "--strict", CHART_PATH, ...valuesFiles.map((f) => `--values=${f}`)], {
      allowFailure: true,
    });
    const output = `${result.stdout}${result.stderr}`;
    expect(result.exitCode, output).toBe(0);
    expect(output).toContain("1 chart(s) linted, 0 chart(s) failed");
    expect(output).not.toMatch(/\[(WARNING|ERROR)\]/);
  });

  it("holds exactly the generated CRDs, RBAC rules, bot pod facts, alerts and dashboard", () => {
    expect(staleChartFiles()).toEqual([]);
    for (const file of ["trading.botops.dev_tradingbots.yaml", "trading.botops.dev_killswitches.yaml"]) {
      expect(readFileSync(join(REPO_ROOT, CHART_DIR, "crds", file), "utf8")).toBe(
        readFileSync(join(REPO_ROOT, "crds", file), "utf8"),
      );
    }
  });

  it("has the operator's version as appVersion", () => {
    const chart = load(readFileSync(join(CHART_PATH, "Chart.yaml"), "utf8")) as { appVersion: string };
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    expect(chart.appVersion).toBe(pkg.version);
  });

  it.each(renderings)(
    "renders manifests in which kube-score, every optional check on, finds nothing beyond the documented ignores, with $name",
    async ({ valuesFiles }) => {
      const { yaml } = await renderChart({ valuesFiles });
      const ignores = documentedIgnores();
      expect(ignores.length).toBeGreaterThan(0);
      for (const ignore of ignores) expect(ignore.reason.length, ignore.check).toBeGreaterThan(40);
      const scored = await kubeScore(
        yaml,
        ignores.map((ignore) => ignore.check),
      );
      expect(scored.findings).toEqual([]);
      expect(scored.objects.some((name) => name.startsWith("Deployment/"))).toBe(true);
      expect(scored.checked).toBeGreaterThan(25);
    },
  );

  it("documents no kube-score ignore that is not needed", async () => {
    const { yaml } = await renderChart();
    const { findings } = await kubeScore(yaml);
    const failing = new Set(findings.map((finding) => finding.check));
    for (const ignore of documentedIgnores()) expect(failing, ignore.check).toContain(ignore.check);
  });

  it("gives the operator flags its own parser accepts, saying what the default values say", async () => {
    const { manifests } = await renderChart({
      release: "tradingbot-operator",
      namespace: "tradingbot-system",
    });
    const container = operatorContainer(manifests);
    const config = loadConfig(container.args, { POD_NAME: "tradingbot-operator-abc12-xyz34" });
    const deployment = operatorDeployment(manifests);
    expect(container.image).toBe("ghcr.io/botops/tradingbot-operator:0.1.0");
    expect(config).toMatchObject({
      namespaces: "all",
      operatorNamespace: "tradingbot-system",
      leaderElect: true,
      leaderElectionId: "tradingbot-operator-leader",
      identity: "tradingbot-operator-abc12-xyz34",
      botImage: container.image,
      metricsPort: 8080,
      healthPort: 8081,
      logLevel: "info",
      killSwitchStatus: true,
      monitoringNamespaceSelector: { "kubernetes.io/metadata.name": "monitoring" },
    });
    expect(config.operatorPodLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(deployment.spec.replicas).toBe(2);
    const lease = findManifest(manifests, "Lease");
    expect(lease.metadata.name).toBe(config.leaderElectionId);
    expect(lease.metadata.namespace).toBe(config.operatorNamespace);
  });

  it("gives the operator flags its own parser accepts with every option on", async () => {
    const { manifests } = await renderChart({ valuesFiles: [ALL_OPTIONS_VALUES] });
    const container = operatorContainer(manifests);
    const config = loadConfig(container.args, { POD_NAME: "p" });
    expect(container.image).toBe(
      "registry.example.com/trading/tradingbot-operator@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    );
    expect(config).toMatchObject({
      namespaces: ["desk-a", "desk-b"],
      killSwitchStatus: true,
      leaderElectionId: "trading-operator-lease",
      botImage: "registry.example.com/trading/bot-runtime:0.1.0-custom",
      metricsPort: 9440,
      healthPort: 9441,
      logLevel: "debug",
      concurrency: 16,
      qps: 200,
      burst: 400,
      runtimePollInterval: 10_000,
      runtimeMirrorInterval: 30_000,
      resyncPeriod: 300_000,
      maxGracePeriod: 90_000,
      deletionMargin: 45_000,
      auditAnchorRows: 500,
      auditAnchorInterval: 300_000,
      monitoringNamespaceSelector: { "kubernetes.io/metadata.name": "observability" },
    });
  });

  it("grants cluster-wide exactly the operator's rules, and the leader Lease by name", async () => {
    const { manifests } = await renderChart({ release: "tbo" });
    const clusterRole = findManifest(manifests, "ClusterRole", "tbo-tradingbot-operator");
    expect(clusterRole.rules).toEqual(bare([...BOT_NAMESPACE_RULES, ...CLUSTER_RULES]));
    expect(manifests.filter((m) => m.kind === "Role").map((m) => m.metadata.name)).toEqual([
      "tbo-tradingbot-operator-leader-election",
    ]);
    const leaderRole = findManifest(manifests, "Role", "tbo-tradingbot-operator-leader-election");
    expect(leaderRole.rules).toEqual(
      bare(LEADER_ELECTION_RULES).map((rule) =>
        rule.resourceNames ? { ...rule, resourceNames: ["tbo-tradingbot-operator-leader"] } : rule,
      ),
    );
    const binding = findManifest(manifests, "ClusterRoleBinding", "tbo-tradingbot-operator");
    expect(binding.subjects).toEqual([
      { kind: "ServiceAccount", name: "tbo-tradingbot-operator", namespace: "tradingbot-system" },
    ]);
  });

  it("grants the bot rules only in the watched namespaces in namespace-scoped mode", async () => {
    const { manifests } = await renderChart({ release: "tbo", set: ["watch.namespaces={desk-a,desk-b}"] });
    expect(findManifest(manifests, "ClusterRole", "tbo-tradingbot-operator").rules).toEqual(
      bare(CLUSTER_RULES),
    );
    for (const namespace of ["desk-a", "desk-b"]) {
      const role = manifests.find(
        (m) =>
          m.kind === "Role" &&
          m.metadata.name === "tbo-tradingbot-operator" &&
          m.metadata.namespace === namespace,
      );
      expect(role?.rules, namespace).toEqual(bare(BOT_NAMESPACE_RULES));
      const binding = manifests.find((m) => m.kind === "RoleBinding" && m.metadata.namespace === namespace);
      expect(binding?.roleRef).toEqual({
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: "tbo-tradingbot-operator",
      });
    }
  });

  it("installs the access objects make install applies, named after the release and labelled as its own", async () => {
    const { manifests } = await renderChart({ release: "tbo" });
    const accessKinds = new Set(accessObjects("x", "x").map((object) => object.kind));
    // The operator's own ClusterRole and the one it binds for halt watches are RBAC, not access objects.
    const operatorRoles = ["tbo-tradingbot-operator", "tbo-tradingbot-operator-halt-watch"];
    // The console's RBAC is its own (console/rbac.ts), checked by console-render.test.ts.
    const rendered = manifests.filter(
      (m) =>
        accessKinds.has(m.kind) &&
        !operatorRoles.includes(m.metadata.name) &&
        m.metadata.labels?.["app.kubernetes.io/component"] !== "console",
    );
    const withoutLabels = ({ metadata: { labels: _labels, ...metadata }, ...object }: KubeManifest) => ({
      ...object,
      metadata,
    });
    // Helm orders what it renders by kind.
    const byKindAndName = (a: KubeManifest, b: KubeManifest) =>
      `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`);
    // The release namespace renderChart installs into.
    const operatorUser = "system:serviceaccount:tradingbot-system:tbo-tradingbot-operator";
    const expected = (accessObjects("tbo-tradingbot-operator", operatorUser) as KubeManifest[]).sort(
      byKindAndName,
    );
    rendered.sort(byKindAndName);
    expect(rendered.map(withoutLabels)).toEqual(expected.map(withoutLabels));
    rendered.forEach((object, index) => {
      expect(object.metadata.labels, object.metadata.name).toEqual({
        // The chart's own labels, as on the operator's ClusterRole.
        ...findManifest(manifests, "ClusterRole", "tbo-tradingbot-operator").metadata.labels,
        ...expected[index]?.metadata.labels,
      });
    });
    const { manifests: without } = await renderChart({ set: ["rbac.accessPolicies=false"] });
    expect(without.filter((m) => m.kind.endsWith("AdmissionPolicy"))).toEqual([]);
    // Before Kubernetes 1.36 there is no MutatingAdmissionPolicy: no stamp, and no refusal of one.
    const { stdout } = await helm(["template", "tbo", CHART_PATH, "--kube-version=1.35.0"]);
    const older = parseManifests(stdout).filter((m) => m.metadata.name.endsWith("-kill-switch-changed-by"));
    expect(older).toEqual([]);
  });

  it("creates the release's TradingPolicy with the default make install creates", async () => {
    const values = load(readFileSync(join(CHART_PATH, "values.yaml"), "utf8")) as {
      tradingPolicy: { spec: unknown };
    };
    expect(values.tradingPolicy.spec).toEqual(DEFAULT_TRADING_POLICY);
    const { manifests } = await renderChart({ release: "tbo" });
    expect(findManifest(manifests, "TradingPolicy", "tbo-tradingbot-operator").spec).toEqual(
      DEFAULT_TRADING_POLICY,
    );
    const { manifests: without } = await renderChart({ set: ["tradingPolicy.create=false"] });
    expect(without.filter((m) => m.kind === "TradingPolicy")).toEqual([]);
  });

  it("writes each rule's reason next to it", async () => {
    const { yaml } = await renderChart();
    for (const rule of [...BOT_NAMESPACE_RULES, ...CLUSTER_RULES, ...LEADER_ELECTION_RULES]) {
      const firstWords = rule.why.split(" ").slice(0, 6).join(" ");
      expect(yaml).toContain(`# ${firstWords}`);
    }
  });

  it("runs pods that the bots' NetworkPolicies admit to the runtime's status port", async () => {
    const { manifests } = await renderChart({ namespace: "ops" });
    const container = operatorContainer(manifests);
    const config = loadConfig(container.args, {});
    const deployment = operatorDeployment(manifests);
    const botPolicy = buildBotNetworkPolicy({
      bot: { name: "grid", namespace: "desk-a", uid: "u" },
      settings: {
        operatorNamespace: config.operatorNamespace,
        operatorPodLabels: config.operatorPodLabels,
        monitoringNamespaceSelector: config.monitoringNamespaceSelector,
        dnsNamespace: config.dnsNamespace,
        apiServer: { ports: config.apiServerPorts, cidrs: config.apiServerCidrs },
      },
      egress: { allowed: false },
    });
    const fromOperator = botPolicy.spec?.ingress?.[0]?.from?.[0];
    expect(fromOperator?.namespaceSelector?.matchLabels).toEqual({ "kubernetes.io/metadata.name": "ops" });
    const podLabels = deployment.spec.template.metadata.labels;
    for (const [key, value] of Object.entries(fromOperator?.podSelector?.matchLabels ?? {})) {
      expect(podLabels[key], key).toBe(value);
    }
  });
});

describe("values.schema.json and the chart's own checks", () => {
  const rejected: { set: string; message: string }[] = [
    { set: "replicas=3", message: "at '': additional properties 'replicas' not allowed" },
    { set: "replicaCount=0", message: "at '/replicaCount': minimum: got 0, want 1" },
    {
      set: "operator.logLevel=verbose",
      message:
        "at '/operator/logLevel': value must be one of 'trace', 'debug', 'info', 'warn', 'error', 'fatal'",
    },
    {
      set: "watch.namespaces={Team_A}",
      message: "at '/watch/namespaces/0': 'Team_A' does not match pattern",
    },
    { set: "metrics.port=70000", message: "at '/metrics/port': maximum: got 70,000, want 65,535" },
    { set: "image.digest=latest", message: "at '/image/digest': 'latest' does not match pattern" },
    {
      set: "operator.resyncPeriod=often",
      message: "at '/operator/resyncPeriod': 'often' does not match pattern",
    },
    { set: "networkPolicy.enabled=yes", message: "at '/networkPolicy/enabled': got string, want boolean" },
    {
      set: "leaderElection.enabled=false",
      message:
        "replicaCount is 2 but leaderElection.enabled is false: without a Lease every replica would reconcile",
    },
    { set: "operator.resyncPeriod=5s", message: "operator.resyncPeriod is 5s: it must be at least 10s" },
    { set: "health.port=8080", message: "metrics.port and health.port are both 8080: they must differ" },
  ];

  it.each(rejected)("rejects --set $set, saying why", async ({ set, message }) => {
    const result = await helm(["template", "tbo", CHART_PATH, `--set=${set}`], { allowFailure: true });
    expect(result.exitCode).not.toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(message);
  });
});
