import {
  type PolicyViolation,
  policyViolations,
  type TradingBotSpec,
  TradingPolicySpec,
} from "../../api/v1alpha1/index.ts";
import type { TradingPolicyObject } from "../resources.ts";

// The operator's half of TradingPolicy enforcement (admission is the other): what every policy that
// applies to a bot's namespace refuses in its spec. A policy that cannot be read (a CRD newer than the
// operator, say) refuses every bot it might apply to, saying why: a bot that does not run loses no money.

type ReadPolicy =
  | { ok: true; spec: TradingPolicySpec }
  | { ok: false; namespaces: string[]; problem: string };

// Cache objects are replaced, never mutated, on change: a policy is parsed once per object version.
const read = new WeakMap<object, ReadPolicy>();

function readPolicy(object: TradingPolicyObject): ReadPolicy {
  let policy = read.get(object);
  if (policy === undefined) {
    const parsed = TradingPolicySpec.safeParse(object.spec);
    if (parsed.success) {
      policy = { ok: true, spec: parsed.data };
    } else {
      const listed = (object.spec as { namespaces?: unknown } | undefined)?.namespaces;
      const namespaces =
        Array.isArray(listed) && listed.every((n) => typeof n === "string") ? (listed as string[]) : [];
      const problem = parsed.error.issues.map((i) => `spec.${i.path.join(".")}: ${i.message}`).join("; ");
      policy = { ok: false, namespaces, problem };
    }
    read.set(object, policy);
  }
  return policy;
}

/** What the TradingPolicies refuse in a bot of `namespace`, policy by policy (by name), rule by rule. */
export function botPolicyViolations(
  policies: Iterable<TradingPolicyObject>,
  namespace: string,
  spec: TradingBotSpec,
): PolicyViolation[] {
  const sorted = [...policies].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return sorted.flatMap((object): PolicyViolation[] => {
    const name = object.metadata.name;
    const policy = readPolicy(object);
    if (policy.ok) return policyViolations(name, policy.spec, namespace, spec);
    if (policy.namespaces.length > 0 && !policy.namespaces.includes(namespace)) return [];
    return [
      {
        field: "spec",
        message: `TradingPolicy ${name} cannot be read (${policy.problem}): no bot it may apply to runs until it is fixed`,
      },
    ];
  });
}
