import { describe, expect, it } from "vitest";
import { cidrContains, endpointHost, policyViolations } from "./policy-check.ts";
import { TradingBotSpec, type TradingBotSpecInput } from "./tradingbot.ts";
import { TradingPolicySpec, type TradingPolicySpecInput } from "./tradingpolicy.ts";

const paperBot: TradingBotSpecInput = {
  exchange: {
    name: "binance",
    mode: "paper",
    endpoint: "http://exchange-sim.trading.svc:8080",
    credentialsSecretRef: { name: "keys" },
  },
  symbol: "BTC/USDT",
  strategy: { type: "grid", grid: { lowerPrice: "1", upperPrice: "2", levels: 3, quotePerOrder: "10" } },
  risk: {
    maxOrderQuote: "100",
    maxPositionQuote: "1000",
    maxDailyLossQuote: "50",
    maxDrawdownPct: "10",
    maxOpenOrders: 20,
  },
  database: { secretRef: { name: "db" } },
};

function violations(
  policy: TradingPolicySpecInput,
  change: (spec: TradingBotSpecInput) => TradingBotSpecInput = (s) => s,
  namespace = "desk",
) {
  const spec = TradingBotSpec.parse(change(structuredClone(paperBot)));
  return policyViolations("house", TradingPolicySpec.parse(policy), namespace, spec).map((v) => v.message);
}

const withPod = (pod: NonNullable<TradingBotSpecInput["pod"]>) => (s: TradingBotSpecInput) => ({ ...s, pod });

describe("policyViolations", () => {
  it("allows a bot that asks for nothing a policy restricts", () => {
    expect(violations({})).toEqual([]);
  });

  it("applies only to the namespaces it names", () => {
    const policy = { namespaces: ["other"], maxGracePeriodSeconds: 10 };
    expect(violations(policy)).toEqual([]);
    expect(violations({ ...policy, namespaces: ["desk"] })).toHaveLength(1);
  });

  it("allows images from the listed repositories only, and always the operator's own (no spec.pod.image)", () => {
    const policy = { images: { repositories: ["ghcr.io/botops/"] } };
    expect(violations(policy)).toEqual([]);
    expect(violations(policy, withPod({ image: "ghcr.io/botops/bot:1" }))).toEqual([]);
    expect(violations(policy, withPod({ image: "evil.example/bot:1" }))).toEqual([
      "spec.pod.image: evil.example/bot:1 is not from an allowed repository: ghcr.io/botops/ (TradingPolicy house)",
    ]);
  });

  it("refuses a tag where digests are required", () => {
    const policy = { images: { digestsOnly: true } };
    expect(violations(policy, withPod({ image: `ghcr.io/botops/bot@sha256:${"a".repeat(64)}` }))).toEqual([]);
    expect(violations(policy, withPod({ image: "ghcr.io/botops/bot:1" }))[0]).toContain("names no digest");
  });

  it("keeps paper bots on Services inside the cluster by default, and on the listed hosts otherwise", () => {
    const elsewhere = (s: TradingBotSpecInput) => ({
      ...s,
      exchange: { ...s.exchange, endpoint: "http://Exchange.Attacker.example:80/api" },
    });
    expect(violations({})).toEqual([]);
    expect(violations({}, elsewhere)).toEqual([
      "spec.exchange.endpoint: host exchange.attacker.example is not one paper bots may use: *.svc, *.svc.cluster.local (TradingPolicy house)",
    ]);
    expect(violations({ paperEndpoints: { hosts: ["*.attacker.example"] } }, elsewhere)).toEqual([]);
    const testnet = (s: TradingBotSpecInput) => ({
      ...elsewhere(s),
      exchange: { ...elsewhere(s).exchange, mode: "testnet" as const },
    });
    expect(violations({}, testnet)).toEqual([]);
  });

  it("keeps cidr peers inside the allowed ranges, and can forbid selector peers and unset egress", () => {
    const peers = (cidr: string) => (s: TradingBotSpecInput) => ({
      ...s,
      network: {
        exchangeEgress: [{ cidr }],
        databaseEgress: [{ podSelector: { matchLabels: { app: "db" } } }],
      },
    });
    const policy = { egress: { cidrs: ["10.0.0.0/8"] } };
    expect(violations(policy, peers("10.1.0.0/16"))).toEqual([]);
    expect(violations(policy, peers("0.0.0.0/0"))).toEqual([
      "spec.network: egress to 0.0.0.0/0 is outside the allowed ranges: 10.0.0.0/8 (TradingPolicy house)",
    ]);
    expect(violations({ egress: { selectors: false } }, peers("10.1.0.0/16"))[0]).toContain(
      "by namespace or pod selector",
    );
    expect(violations({ egress: { requirePeers: true } })[0]).toContain(
      "exchangeEgress and databaseEgress must both be set",
    );
  });

  it("allows only the listed node selector keys, tolerations and PriorityClasses", () => {
    const policy = {
      scheduling: {
        nodeSelectorKeys: ["pool"],
        tolerations: [{ key: "dedicated", effect: "NoSchedule" as const }],
        priorityClasses: ["trading"],
      },
    };
    const allowed = {
      nodeSelector: { pool: "bots" },
      tolerations: [{ key: "dedicated", value: "bots", effect: "NoSchedule" as const }],
      priorityClassName: "trading",
    };
    expect(violations(policy, withPod(allowed))).toEqual([]);
    expect(violations(policy, withPod({ ...allowed, nodeSelector: { pool: "x", zone: "a" } }))).toEqual([
      "spec.pod.nodeSelector: key zone is not allowed: pool (TradingPolicy house)",
    ]);
    expect(violations(policy, withPod({ ...allowed, tolerations: [{ operator: "Exists" }] }))).toEqual([
      "spec.pod.tolerations: (any key) Exists is not an allowed toleration (TradingPolicy house)",
    ]);
    expect(violations(policy, withPod({ ...allowed, priorityClassName: "system-node-critical" }))).toEqual([
      "spec.pod.priorityClassName: system-node-critical is not allowed: trading (TradingPolicy house)",
    ]);
  });

  it("caps the grace period", () => {
    expect(
      violations({ maxGracePeriodSeconds: 60 }, withPod({ terminationGracePeriodSeconds: 600 })),
    ).toEqual([
      "spec.pod.terminationGracePeriodSeconds: 600 is more than the allowed 60 (TradingPolicy house)",
    ]);
  });

  it("lets bots trade live only in the listed namespaces", () => {
    const live = (s: TradingBotSpecInput) => ({
      ...s,
      exchange: { ...s.exchange, mode: "live" as const, endpoint: undefined },
    });
    expect(violations({ liveNamespaces: ["desk"] }, live)).toEqual([]);
    expect(violations({ liveNamespaces: [] }, live)).toEqual([
      "spec.exchange.mode: live trading is not allowed in namespace desk (TradingPolicy house)",
    ]);
  });
});

describe("endpointHost and cidrContains", () => {
  it("reads the host of an endpoint, IPv6 included, in lower case", () => {
    expect(endpointHost("https://API.example:443/x")).toBe("api.example");
    expect(endpointHost("http://[fd00::1]:8080")).toBe("fd00::1");
  });

  it("contains a range only within the same family and a prefix at least as long", () => {
    expect(cidrContains("10.0.0.0/8", "10.2.3.0/24")).toBe(true);
    expect(cidrContains("10.0.0.0/8", "0.0.0.0/0")).toBe(false);
    expect(cidrContains("0.0.0.0/0", "::/0")).toBe(false);
    expect(cidrContains("2001:db8::/32", "2001:db8:1::/48")).toBe(true);
  });
});
