import { type EgressPeer, RUNTIME_STATUS_PORT, type TradingBotSpec } from "../../api/v1alpha1/index.ts";
import type { NetworkPolicy, NetworkPolicyPeer } from "../kube/types.ts";
import { botLabelValue, LABELS, MANAGED_BY_VALUE, networkPolicyNameFor } from "../names.ts";
import { type BotIdentity, ownedMetadata } from "./bot-identity.ts";

export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";
const DNS_PORT = 53;

/** Where the operator and monitoring run: the only sources allowed to reach the runtime's port. */
export interface NetworkSettings {
  operatorNamespace: string;
  operatorPodLabels: Record<string, string>;
  /** Namespaces of monitoring (Prometheus); empty: no monitoring ingress. */
  monitoringNamespaceSelector: Record<string, string>;
  dnsNamespace: string;
  /**
   * The API server as bot pods reach it (after the `kubernetes` Service's translation), for the runtime's
   * own halt watch; no CIDRs: any address on those ports.
   */
  apiServer: { ports: number[]; cidrs: string[] };
}

export type NetworkEgress =
  | { allowed: true; spec: TradingBotSpec; databasePort: number }
  | { allowed: false };

export interface BotNetworkPolicyInput {
  bot: BotIdentity;
  settings: NetworkSettings;
  /**
   * Egress is open only while the bot may trade (or its pod is still stopping within its grace period,
   * cancelling orders); otherwise the policy denies all egress. The database port comes from the
   * database Secret.
   */
  egress: NetworkEgress;
}

/** The port of the exchange endpoint: its explicit port, else the scheme's (https: 443). */
export function exchangePort(spec: TradingBotSpec): number {
  if (spec.exchange.endpoint === undefined) return 443;
  const url = new URL(spec.exchange.endpoint);
  if (url.port !== "") return Number(url.port);
  return url.protocol === "http:" ? 80 : 443;
}

function toPeer(peer: EgressPeer): NetworkPolicyPeer {
  if (peer.cidr !== undefined) {
    return { ipBlock: peer.except ? { cidr: peer.cidr, except: peer.except } : { cidr: peer.cidr } };
  }
  const result: NetworkPolicyPeer = {};
  if (peer.namespaceSelector) result.namespaceSelector = { matchLabels: peer.namespaceSelector.matchLabels };
  if (peer.podSelector) result.podSelector = { matchLabels: peer.podSelector.matchLabels };
  return result;
}

/** A rule to `port` on the given peers; no peers means any address, on that port only. */
function egressRule(port: number, peers: EgressPeer[] | undefined) {
  const ports = [{ protocol: "TCP" as const, port }];
  return peers && peers.length > 0 ? { to: peers.map(toPeer), ports } : { ports };
}

function apiServerRule(apiServer: NetworkSettings["apiServer"]) {
  const ports = apiServer.ports.map((port) => ({ protocol: "TCP" as const, port }));
  return apiServer.cidrs.length > 0
    ? { to: apiServer.cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports }
    : { ports };
}

/**
 * Ingress: only the runtime's status/metrics port, only from the operator's pods and monitoring.
 * Egress: DNS, the API server (the runtime's halt watch), the exchange endpoint's port and the database
 * port — or nothing at all. Without the API server a policy-enforcing cluster would cut the halt watch
 * off, and halts would again wait for the operator.
 * Both lists are always written (possibly empty) so that the operator owns them outright.
 */
export function buildBotNetworkPolicy(input: BotNetworkPolicyInput): NetworkPolicy {
  const { bot, settings, egress } = input;
  const from: NetworkPolicyPeer[] = [
    {
      namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: settings.operatorNamespace } },
      podSelector: { matchLabels: settings.operatorPodLabels },
    },
  ];
  if (Object.keys(settings.monitoringNamespaceSelector).length > 0) {
    from.push({ namespaceSelector: { matchLabels: settings.monitoringNamespaceSelector } });
  }
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: ownedMetadata(bot, networkPolicyNameFor(bot.name)),
    spec: {
      podSelector: {
        matchLabels: { [LABELS.bot]: botLabelValue(bot.name), [LABELS.managedBy]: MANAGED_BY_VALUE },
      },
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from, ports: [{ protocol: "TCP", port: RUNTIME_STATUS_PORT }] }],
      egress: egress.allowed
        ? [
            {
              to: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: settings.dnsNamespace } } }],
              ports: [
                { protocol: "UDP", port: DNS_PORT },
                { protocol: "TCP", port: DNS_PORT },
              ],
            },
            apiServerRule(settings.apiServer),
            egressRule(exchangePort(egress.spec), egress.spec.network?.exchangeEgress),
            egressRule(egress.databasePort, egress.spec.network?.databaseEgress),
          ]
        : [],
    },
  };
}
