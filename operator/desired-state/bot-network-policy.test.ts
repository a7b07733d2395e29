import { readFileSync } from "node:fs";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { TradingBot, type TradingBotSpec } from "../../api/v1alpha1/index.ts";
import { buildBotNetworkPolicy, exchangePort } from "./bot-network-policy.ts";

const sample = TradingBot.parse(
  load(readFileSync(new URL("../../config/samples/tradingbot-grid-paper.yaml", import.meta.url), "utf8")),
);
const bot = { name: "grid-btc-paper", namespace: "trading", uid: "uid-1" };
const settings = {
  operatorNamespace: "tradingbot-system",
  operatorPodLabels: { "app.kubernetes.io/name": "tradingbot-operator" },
  monitoringNamespaceSelector: { "kubernetes.io/metadata.name": "monitoring" },
  dnsNamespace: "kube-system",
  apiServer: { ports: [443, 6443], cidrs: [] },
};

function policy(spec: TradingBotSpec = sample.spec, allowed = true) {
  return buildBotNetworkPolicy({
    bot,
    settings,
    egress: allowed ? { allowed: true, spec, databasePort: 5432 } : { allowed: false },
  });
}

describe("buildBotNetworkPolicy", () => {
  it("selects exactly the bot's pod and governs both directions", () => {
    expect(policy().spec?.podSelector).toEqual({
      matchLabels: {
        "trading.botops.dev/bot": "grid-btc-paper",
        "app.kubernetes.io/managed-by": "tradingbot-operator",
      },
    });
    expect(policy().spec?.policyTypes).toEqual(["Ingress", "Egress"]);
  });

  it("admits ingress only on the status port, only from the operator's pods and monitoring", () => {
    expect(policy().spec?.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "tradingbot-system" } },
            podSelector: { matchLabels: { "app.kubernetes.io/name": "tradingbot-operator" } },
          },
          { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } },
        ],
        ports: [{ protocol: "TCP", port: 8080 }],
      },
    ]);
  });

  it("lets a trading bot reach only DNS, the API server (its halt watch), the exchange's port and the database's port", () => {
    expect(policy().spec?.egress).toEqual([
      {
        to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }],
        ports: [
          { protocol: "UDP", port: 53 },
          { protocol: "TCP", port: 53 },
        ],
      },
      {
        ports: [
          { protocol: "TCP", port: 443 },
          { protocol: "TCP", port: 6443 },
        ],
      },
      { ports: [{ protocol: "TCP", port: 8080 }] },
      { ports: [{ protocol: "TCP", port: 5432 }] },
    ]);
  });

  it("lets the halt watch reach only the API server's addresses when they are configured", () => {
    const narrowed = buildBotNetworkPolicy({
      bot,
      settings: { ...settings, apiServer: { ports: [6443], cidrs: ["10.0.0.1/32", "fd00::1/128"] } },
      egress: { allowed: true, spec: sample.spec, databasePort: 5432 },
    });
    expect(narrowed.spec?.egress?.[1]).toEqual({
      to: [{ ipBlock: { cidr: "10.0.0.1/32" } }, { ipBlock: { cidr: "fd00::1/128" } }],
      ports: [{ protocol: "TCP", port: 6443 }],
    });
  });

  it("restricts exchange and database egress to the peers the spec names", () => {
    const spec: TradingBotSpec = {
      ...sample.spec,
      network: {
        exchangeEgress: [{ cidr: "203.0.113.0/24", except: ["203.0.113.7/32"] }],
        databaseEgress: [
          { namespaceSelector: { matchLabels: { team: "db" } }, podSelector: { matchLabels: { app: "pg" } } },
        ],
      },
    };
    const [, , exchange, database] = policy(spec).spec?.egress ?? [];
    expect(exchange).toEqual({
      to: [{ ipBlock: { cidr: "203.0.113.0/24", except: ["203.0.113.7/32"] } }],
      ports: [{ protocol: "TCP", port: 8080 }],
    });
    expect(database).toEqual({
      to: [
        { namespaceSelector: { matchLabels: { team: "db" } }, podSelector: { matchLabels: { app: "pg" } } },
      ],
      ports: [{ protocol: "TCP", port: 5432 }],
    });
  });

  it("denies all egress while the bot may not trade, keeping ingress as it was", () => {
    const denied = policy(sample.spec, false);
    expect(denied.spec?.egress).toEqual([]);
    expect(denied.spec?.policyTypes).toContain("Egress");
    expect(denied.spec?.ingress).toEqual(policy().spec?.ingress);
  });

  it("carries the bot's labels and a controlling owner reference", () => {
    expect(policy().metadata.name).toBe("grid-btc-paper-network");
    expect(policy().metadata.ownerReferences?.[0]).toMatchObject({
      kind: "TradingBot",
      uid: "uid-1",
      controller: true,
    });
  });
});

describe("exchangePort", () => {
  it("is the endpoint's port, else its scheme's, else 443", () => {
    const withEndpoint = (endpoint?: string) => ({
      ...sample.spec,
      exchange: { ...sample.spec.exchange, endpoint },
    });
    expect(exchangePort(withEndpoint("http://sim:8080"))).toBe(8080);
    expect(exchangePort(withEndpoint("http://sim"))).toBe(80);
    expect(exchangePort(withEndpoint("https://api.binance.com"))).toBe(443);
    expect(exchangePort(withEndpoint(undefined))).toBe(443);
  });
});
