import {
  API_VERSION,
  TRADING_BOT,
  TRADING_POLICY,
  TradingBotSpec,
  type TradingPolicySpecInput,
} from "../v1alpha1/index.ts";
import { type AccessObject, ADMISSION, binding, changed, resourceRule } from "./objects.ts";

// The admission half of a TradingPolicy: a ValidatingAdmissionPolicy that takes every TradingPolicy as
// its parameter and checks, in CEL, what api/v1alpha1/policy-check.ts checks in TypeScript, rule for
// rule, with the same messages in the same order (test/access/trading-policy-parity.test.ts holds them to
// each other). It looks only at a creation and at an update that changes more than the kill switch: a
// halt is never refused.

/** CEL: a list as `a, b`, or `none`. */
const listText = (list: string) => `(size(${list}) == 0 ? 'none' : ${list}.join(', '))`;

interface Rule {
  /** CEL: true when the bot keeps the rule (params, object and variables in scope). */
  holds: string;
  /** CEL: what is wrong, without the field (a string). */
  what: string;
  field: string;
}

const policy = "params.spec";
const images = `${policy}.images`;
const image = "object.spec.pod.image";
const pod = "object.spec.pod";
const scheduling = `${policy}.scheduling`;
const egress = `${policy}.egress`;

const RULES: Rule[] = [
  {
    field: "spec.pod.image",
    holds: `!has(${image}) || !has(${images}) || !has(${images}.repositories) || ${images}.repositories.exists(p, ${image}.startsWith(p))`,
    what: `${image} + ' is not from an allowed repository: ' + ${listText(`${images}.repositories`)}`,
  },
  {
    field: "spec.pod.image",
    holds: `!has(${image}) || !has(${images}) || !${images}.digestsOnly || ${image}.contains('@sha256:')`,
    what: `${image} + ' names no digest; only images pinned by @sha256: digest are allowed'`,
  },
  {
    field: "spec.exchange.endpoint",
    holds:
      "object.spec.exchange.mode != 'paper' || !has(object.spec.exchange.endpoint) || " +
      `${policy}.paperEndpoints.hosts.exists(h, h == variables.host || (h.startsWith('*.') && variables.host.endsWith(h.substring(1))))`,
    what: `'host ' + variables.host + ' is not one paper bots may use: ' + ${listText(`${policy}.paperEndpoints.hosts`)}`,
  },
  {
    field: "spec.network",
    holds: `!has(${egress}) || !has(${egress}.cidrs) || size(variables.foreignCidrs) == 0`,
    what: `'egress to ' + variables.foreignCidrs[0] + ' is outside the allowed ranges: ' + ${listText(`${egress}.cidrs`)}`,
  },
  {
    field: "spec.network",
    holds: `!has(${egress}) || ${egress}.selectors || !variables.peers.exists(p, has(p.namespaceSelector) || has(p.podSelector))`,
    what: "'egress peers may not be chosen by namespace or pod selector, only by cidr'",
  },
  {
    field: "spec.network",
    holds:
      `!has(${egress}) || !${egress}.requirePeers || ` +
      "(has(object.spec.network) && has(object.spec.network.exchangeEgress) && has(object.spec.network.databaseEgress))",
    what: "'exchangeEgress and databaseEgress must both be set'",
  },
  {
    field: "spec.pod.nodeSelector",
    holds: `!has(${scheduling}) || !has(${scheduling}.nodeSelectorKeys) || size(variables.foreignNodeSelectorKeys) == 0`,
    what: `'key ' + variables.foreignNodeSelectorKeys.min() + ' is not allowed: ' + ${listText(`${scheduling}.nodeSelectorKeys`)}`,
  },
  {
    field: "spec.pod.tolerations",
    holds: `!has(${scheduling}) || !has(${scheduling}.tolerations) || size(variables.foreignTolerations) == 0`,
    what:
      "(has(variables.foreignTolerations[0].key) ? variables.foreignTolerations[0].key : '(any key)') + ' ' + " +
      "variables.foreignTolerations[0].operator + " +
      "(has(variables.foreignTolerations[0].effect) ? ' ' + variables.foreignTolerations[0].effect : '') + " +
      "' is not an allowed toleration'",
  },
  {
    field: "spec.pod.priorityClassName",
    holds: `!has(${scheduling}) || !has(${scheduling}.priorityClasses) || !has(${pod}.priorityClassName) || ${pod}.priorityClassName in ${scheduling}.priorityClasses`,
    what: `${pod}.priorityClassName + ' is not allowed: ' + ${listText(`${scheduling}.priorityClasses`)}`,
  },
  {
    field: "spec.pod.terminationGracePeriodSeconds",
    holds: `!has(${policy}.maxGracePeriodSeconds) || ${pod}.terminationGracePeriodSeconds <= ${policy}.maxGracePeriodSeconds`,
    what: `string(${pod}.terminationGracePeriodSeconds) + ' is more than the allowed ' + string(${policy}.maxGracePeriodSeconds)`,
  },
  {
    field: "spec.exchange.mode",
    holds: `object.spec.exchange.mode != 'live' || !has(${policy}.liveNamespaces) || request.namespace in ${policy}.liveNamespaces`,
    what: "'live trading is not allowed in namespace ' + request.namespace",
  },
];

const listOr = (path: string) => `(has(${path}) ? ${path} : [])`;

const VARIABLES = [
  {
    name: "applies",
    expression: `size(${policy}.namespaces) == 0 || request.namespace in ${policy}.namespaces`,
  },
  {
    name: "host",
    expression:
      "has(object.spec.exchange.endpoint) ? url(object.spec.exchange.endpoint).getHostname().lowerAscii() : ''",
  },
  {
    name: "peers",
    expression: `has(object.spec.network) ? ${listOr("object.spec.network.exchangeEgress")} + ${listOr("object.spec.network.databaseEgress")} : []`,
  },
  {
    name: "foreignCidrs",
    expression: `!has(${egress}) || !has(${egress}.cidrs) ? [] : variables.peers.filter(p, has(p.cidr)).map(p, p.cidr).filter(c, !${egress}.cidrs.exists(a, isCIDR(c) && cidr(a).ip().family() == cidr(c).ip().family() && cidr(a).containsCIDR(c)))`,
  },
  {
    name: "foreignNodeSelectorKeys",
    expression: `!has(${scheduling}) || !has(${scheduling}.nodeSelectorKeys) || !has(${pod}.nodeSelector) ? [] : ${pod}.nodeSelector.filter(k, !(k in ${scheduling}.nodeSelectorKeys))`,
  },
  {
    name: "foreignTolerations",
    expression:
      `!has(${scheduling}) || !has(${scheduling}.tolerations) || !has(${pod}.tolerations) ? [] : ` +
      `${pod}.tolerations.filter(t, !${scheduling}.tolerations.exists(a, ` +
      "(has(a.key) ? a.key : '') == (has(t.key) ? t.key : '') && (!has(a.operator) || a.operator == t.operator) && " +
      "(!has(a.effect) || (has(t.effect) && a.effect == t.effect))))",
  },
];

/** CEL: whether an update changes the bot beyond its kill switch (and annotations, and labels). */
function configurationChanged(): string {
  return Object.keys(TradingBotSpec.shape)
    .filter((field) => field !== "killSwitch")
    .map((field) => changed(`spec.${field}`))
    .join(" || ");
}

/** The ValidatingAdmissionPolicy and its binding, named `<prefix>-trading-policy`. */
export function tradingPolicyAdmission(prefix: string): AccessObject[] {
  const name = `${prefix}-trading-policy`;
  return [
    {
      apiVersion: ADMISSION,
      kind: "ValidatingAdmissionPolicy",
      metadata: { name },
      spec: {
        failurePolicy: "Fail",
        paramKind: { apiVersion: API_VERSION, kind: TRADING_POLICY.kind },
        matchConstraints: {
          resourceRules: [resourceRule([TRADING_BOT.plural], ["CREATE", "UPDATE"])],
        },
        matchConditions: [
          {
            name: "configuration-changed",
            expression: `request.operation == 'CREATE' || ${configurationChanged()}`,
          },
        ],
        variables: VARIABLES,
        validations: RULES.map((rule) => ({
          expression: `!variables.applies || (${rule.holds})`,
          messageExpression: `'${rule.field}: ' + ${rule.what} + ' (TradingPolicy ' + params.metadata.name + ')'`,
          reason: "Forbidden",
        })),
      },
    },
    // Every TradingPolicy is a parameter and each must allow the bot; none at all restricts nothing.
    binding(name, "ValidatingAdmissionPolicyBinding", {
      paramRef: { selector: {}, parameterNotFoundAction: "Allow" },
      validationActions: ["Deny"],
    }),
  ];
}

/**
 * The policy the chart (tradingPolicy.spec in values.yaml, which a test holds to this) and `make install`
 * (config/access/trading-policy.yaml) start with: what the samples need and nothing more. Bots run
 * the operator's image, paper bots use Services inside the cluster, egress peers lie in private ranges,
 * no placement overrides, grace periods up to two minutes, and no namespace may trade live until you
 * name it.
 */
export const DEFAULT_TRADING_POLICY: TradingPolicySpecInput = {
  namespaces: [],
  images: { repositories: [], digestsOnly: false },
  paperEndpoints: { hosts: ["*.svc", "*.svc.cluster.local"] },
  egress: { cidrs: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"], selectors: true, requirePeers: false },
  scheduling: { nodeSelectorKeys: [], tolerations: [], priorityClasses: [] },
  maxGracePeriodSeconds: 120,
  liveNamespaces: [],
};
