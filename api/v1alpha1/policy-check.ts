import { BlockList, isIPv4 } from "node:net";
import type { TradingBotSpec } from "./tradingbot.ts";
import type { AllowedToleration, TradingPolicySpec } from "./tradingpolicy.ts";

// What a TradingPolicy refuses in a TradingBot, as the operator decides it. The admission policy of
// api/access/trading-policy.ts decides the same in CEL, with the same messages, in the same order;
// test/access/trading-policy-parity.test.ts holds the two to each other on generated cases.

export interface PolicyViolation {
  /** The TradingBot field the rule is about. */
  field: string;
  message: string;
}

/** Whether the policy applies to bots of `namespace`. */
export function policyApplies(policy: TradingPolicySpec, namespace: string): boolean {
  return policy.namespaces.length === 0 || policy.namespaces.includes(namespace);
}

/** The host of an endpoint the TradingBot schema admitted (http(s)://host[:port][/path]), lower case. */
export function endpointHost(endpoint: string): string {
  const authority = endpoint.replace(/^https?:\/\//, "").split("/")[0] ?? "";
  const host = authority.startsWith("[")
    ? authority.slice(1, authority.indexOf("]"))
    : authority.split(":")[0];
  return (host ?? "").toLowerCase();
}

export function hostMatches(pattern: string, host: string): boolean {
  return pattern === host || (pattern.startsWith("*.") && host.endsWith(pattern.slice(1)));
}

function parseCidr(cidr: string): { address: string; prefix: number; family: "ipv4" | "ipv6" } {
  const [address = "", prefix = ""] = cidr.split("/");
  return { address, prefix: Number(prefix), family: isIPv4(address) ? "ipv4" : "ipv6" };
}

/** Whether every address of `inner` lies within `outer` (of the same family). */
export function cidrContains(outer: string, inner: string): boolean {
  const a = parseCidr(outer);
  const b = parseCidr(inner);
  if (a.family !== b.family || b.prefix < a.prefix) return false;
  const range = new BlockList();
  try {
    range.addSubnet(a.address, a.prefix, a.family);
    return range.check(b.address, b.family);
  } catch {
    return false;
  }
}

function tolerationAllowed(
  allowed: AllowedToleration,
  t: NonNullable<TradingBotSpec["pod"]["tolerations"]>[number],
) {
  return (
    (allowed.key ?? "") === (t.key ?? "") &&
    (allowed.operator === undefined || allowed.operator === t.operator) &&
    (allowed.effect === undefined || allowed.effect === t.effect)
  );
}

const describeToleration = (t: { key?: string | undefined; operator: string; effect?: string | undefined }) =>
  `${t.key ?? "(any key)"} ${t.operator}${t.effect === undefined ? "" : ` ${t.effect}`}`;

/**
 * Every rule of `policy` that `spec`, in `namespace`, breaks, in the order the admission policy checks
 * them. Empty when the policy does not apply to the namespace.
 */
export function policyViolations(
  policyName: string,
  policy: TradingPolicySpec,
  namespace: string,
  spec: TradingBotSpec,
): PolicyViolation[] {
  if (!policyApplies(policy, namespace)) return [];
  const violations: PolicyViolation[] = [];
  const refuse = (field: string, what: string) =>
    violations.push({ field, message: `${field}: ${what} (TradingPolicy ${policyName})` });
  const { pod, exchange, network } = spec;

  const image = pod.image;
  const repositories = policy.images?.repositories;
  if (image !== undefined && repositories !== undefined && !repositories.some((p) => image.startsWith(p))) {
    refuse(
      "spec.pod.image",
      `${image} is not from an allowed repository: ${repositories.join(", ") || "none"}`,
    );
  }
  if (image !== undefined && policy.images?.digestsOnly && !image.includes("@sha256:")) {
    refuse("spec.pod.image", `${image} names no digest; only images pinned by @sha256: digest are allowed`);
  }

  if (exchange.mode === "paper" && exchange.endpoint !== undefined) {
    const host = endpointHost(exchange.endpoint);
    const hosts = policy.paperEndpoints.hosts;
    if (!hosts.some((pattern) => hostMatches(pattern, host))) {
      refuse(
        "spec.exchange.endpoint",
        `host ${host} is not one paper bots may use: ${hosts.join(", ") || "none"}`,
      );
    }
  }

  const peers = [...(network?.exchangeEgress ?? []), ...(network?.databaseEgress ?? [])];
  const cidrs = policy.egress?.cidrs;
  if (cidrs !== undefined) {
    for (const peer of peers) {
      const cidr = peer.cidr;
      if (cidr !== undefined && !cidrs.some((range) => cidrContains(range, cidr))) {
        refuse(
          "spec.network",
          `egress to ${cidr} is outside the allowed ranges: ${cidrs.join(", ") || "none"}`,
        );
        break;
      }
    }
  }
  if (policy.egress?.selectors === false && peers.some((p) => p.namespaceSelector || p.podSelector)) {
    refuse("spec.network", "egress peers may not be chosen by namespace or pod selector, only by cidr");
  }
  if (
    policy.egress?.requirePeers &&
    (network?.exchangeEgress === undefined || network.databaseEgress === undefined)
  ) {
    refuse("spec.network", "exchangeEgress and databaseEgress must both be set");
  }

  const keys = policy.scheduling?.nodeSelectorKeys;
  const selectorKeys = Object.keys(pod.nodeSelector ?? {}).sort();
  const foreignKey = keys === undefined ? undefined : selectorKeys.find((key) => !keys.includes(key));
  if (keys !== undefined && foreignKey !== undefined) {
    refuse("spec.pod.nodeSelector", `key ${foreignKey} is not allowed: ${keys.join(", ") || "none"}`);
  }
  const tolerations = policy.scheduling?.tolerations;
  const foreignToleration =
    tolerations === undefined
      ? undefined
      : (pod.tolerations ?? []).find((t) => !tolerations.some((allowed) => tolerationAllowed(allowed, t)));
  if (foreignToleration !== undefined) {
    refuse("spec.pod.tolerations", `${describeToleration(foreignToleration)} is not an allowed toleration`);
  }
  const classes = policy.scheduling?.priorityClasses;
  if (
    classes !== undefined &&
    pod.priorityClassName !== undefined &&
    !classes.includes(pod.priorityClassName)
  ) {
    refuse(
      "spec.pod.priorityClassName",
      `${pod.priorityClassName} is not allowed: ${classes.join(", ") || "none"}`,
    );
  }
  const maxGrace = policy.maxGracePeriodSeconds;
  if (maxGrace !== undefined && pod.terminationGracePeriodSeconds > maxGrace) {
    refuse(
      "spec.pod.terminationGracePeriodSeconds",
      `${pod.terminationGracePeriodSeconds} is more than the allowed ${maxGrace}`,
    );
  }
  const live = policy.liveNamespaces;
  if (exchange.mode === "live" && live !== undefined && !live.includes(namespace)) {
    refuse("spec.exchange.mode", `live trading is not allowed in namespace ${namespace}`);
  }
  return violations;
}
