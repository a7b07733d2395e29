import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessObjects } from "../../api/access/policies.ts";
import { DEFAULT_TRADING_POLICY } from "../../api/access/trading-policy.ts";
import { API_VERSION, TRADING_POLICY } from "../../api/v1alpha1/index.ts";
import { ClusterView, condition } from "../operator/cluster-view.ts";
import { botManifest, exchangeSecret } from "../operator/fixtures.ts";
import { applyObjects } from "../operator/harness.ts";
import { type OperatorSuite, startOperatorSuite } from "../operator/suite.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";

// The attacks a bot author could try through the operator, tried as one: a user who may only create and
// change TradingBots in one namespace (the editor role), impersonated against the real API server, with
// the chart's access objects, its default TradingPolicy and the operator running. Each attack is refused
// at admission or by the operator, and nothing in the namespace but the attacker's own TradingBots (and
// what the operator made for them) changes.

const tag = randomBytes(3).toString("hex");
const prefix = `attack-${tag}`;
const attacker = `mallory-${tag}`;
// The operator-grants policy names a user no operator of this suite is: inert here.
const policies = accessObjects(prefix, `system:serviceaccount:${prefix}:none`);
const policyName = `${prefix}-policy`;

let suite: OperatorSuite;
let view: ClusterView;
let ns: string;
let access: OperatorSuite["access"];

interface Outcome {
  attack: string;
  where: "admission" | "operator";
  message: string;
}
const outcomes: Outcome[] = [];

/** A TradingBot applied as the attacker: the sample, renamed, with `change` made to its spec. */
async function applyAsAttacker(
  name: string,
  change: (spec: Record<string, unknown>) => void = () => {},
  dryRun = false,
) {
  const bot = botManifest(ns, name, { spec: change });
  const args = ["apply", "--server-side", ...(dryRun ? ["--dry-run=server"] : []), "-f", "-"];
  return kubectl([`--as=${attacker}`, ...args], {
    input: JSON.stringify(bot),
    allowFailure: true,
  });
}

async function refusedAtAdmission(
  attack: string,
  name: string,
  change: (spec: Record<string, unknown>) => void,
) {
  const result = await applyAsAttacker(name, change);
  expect(result.exitCode, attack).not.toBe(0);
  const message = result.stderr.replace(/^.*denied request: /s, "").trim();
  outcomes.push({ attack, where: "admission", message });
  const exists = await kubectl(["get", "tradingbot", name, "-n", ns], { allowFailure: true });
  expect(exists.exitCode, `${attack}: no TradingBot was created`).not.toBe(0);
  return message;
}

/** Everything in the namespace that no TradingBot controls, as the API server holds it. */
async function foreignObjects(): Promise<string[]> {
  const kinds = "configmaps,secrets,serviceaccounts,networkpolicies,pods,roles,rolebindings,services";
  const { stdout } = await kubectl(["get", kinds, "-n", ns, "-o", "json"]);
  const items = (
    JSON.parse(stdout) as {
      items: {
        kind: string;
        metadata: { name: string; resourceVersion: string; ownerReferences?: { kind: string }[] };
      }[];
    }
  ).items;
  return items
    .filter((item) => !item.metadata.ownerReferences?.some((o) => o.kind === "TradingBot"))
    .map((item) => `${item.kind}/${item.metadata.name}@${item.metadata.resourceVersion}`)
    .sort();
}

let before: string[] = [];

beforeAll(async () => {
  suite = await startOperatorSuite("attack");
  ({ namespace: ns, access } = suite);
  view = new ClusterView(suite.adminKc);
  await applyObjects(access, [
    ...policies,
    // The chart's default policy, for this namespace only (the suites share one cluster).
    {
      apiVersion: API_VERSION,
      kind: TRADING_POLICY.kind,
      metadata: { name: policyName },
      spec: { ...DEFAULT_TRADING_POLICY, namespaces: [ns] },
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: `${attacker}-editor`, namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${prefix}-editor` },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: attacker }],
    },
    // A live key: the attacker may name it, and must never get it into a paper bot.
    exchangeSecret(ns, suite.planted, "live-exchange-credentials", undefined, {
      "trading.botops.dev/credentials": "exchange",
      "trading.botops.dev/exchange-modes": "live",
    }),
    // Objects whose names a bot would derive: a ConfigMap, a ServiceAccount with a cloud role, the
    // namespace's deny-all NetworkPolicy and a pod.
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "ledger-network", namespace: ns },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    },
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "vault-runtime", namespace: ns, labels: { app: "vault" } },
      spec: {
        securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
        containers: [
          {
            name: "vault",
            image: "registry.local/vault:1",
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
          },
        ],
      },
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "payroll-config", namespace: ns },
      data: { important: "yes" },
    },
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: {
        name: "billing-runtime",
        namespace: ns,
        annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/billing" },
      },
    },
  ]);
  // The admission policy sees its parameter once it refuses what only the policy refuses.
  const probe = (s: Record<string, unknown>) => {
    s.pod = { terminationGracePeriodSeconds: 600 };
  };
  await waitFor(async () => (await applyAsAttacker("probe", probe, true)).exitCode !== 0, {
    what: "the TradingPolicy to be enforced at admission",
    timeoutMs: 60_000,
  });
  await waitFor(async () => (await view.pod(ns, "vault-runtime"))?.status?.phase === "Running", {
    what: "the foreign pod to run",
  });
  before = await foreignObjects();
});

afterAll(async () => {
  console.log(
    `attack suite:\n| attack | refused at | message |\n| --- | --- | --- |\n${outcomes
      .map((o) => `| ${o.attack} | ${o.where} | ${o.message.replaceAll("|", "\\|")} |`)
      .join("\n")}`,
  );
  await suite?.stop();
  await kubectl(["delete", "tradingpolicy", policyName, "--ignore-not-found"], { allowFailure: true });
  for (const object of [...policies].reverse()) {
    await kubectl(["delete", object.kind, object.metadata.name, "--ignore-not-found"], {
      allowFailure: true,
    });
  }
});

describe("a bot author's attacks through the operator", () => {
  it("runs the sample, which the default policy allows", async () => {
    const result = await applyAsAttacker("honest");
    expect(result.stderr).toBe("");
    await view.waitForBot(ns, "honest", (b) => b.status?.phase === "Running", "Running");
  });

  it("cannot run a foreign image", async () => {
    const message = await refusedAtAdmission("a foreign image", "foreign-image", (s) => {
      s.pod = { image: "evil.example/miner:1" };
    });
    expect(message).toContain("spec.pod.image: evil.example/miner:1 is not from an allowed repository");
  });

  it("cannot send a paper bot's signed requests to an endpoint outside the policy", async () => {
    const message = await refusedAtAdmission("a paper endpoint outside the cluster", "exfiltrate", (s) => {
      (s.exchange as Record<string, unknown>).endpoint = "http://collector.attacker.example:8080";
    });
    expect(message).toContain(
      "spec.exchange.endpoint: host collector.attacker.example is not one paper bots may use",
    );
  });

  it("cannot tolerate every taint, take a system PriorityClass, open egress to 0.0.0.0/0, stretch the grace period or trade live", async () => {
    const attempts: [string, string, (s: Record<string, unknown>) => void, string][] = [
      [
        "a wildcard toleration",
        "wildcard",
        (s) => {
          s.pod = { tolerations: [{ operator: "Exists" }] };
        },
        "spec.pod.tolerations: (any key) Exists is not an allowed toleration",
      ],
      [
        "a system PriorityClass",
        "priority",
        (s) => {
          s.pod = { priorityClassName: "system-node-critical" };
        },
        "spec.pod.priorityClassName: system-node-critical is not allowed",
      ],
      [
        "a node selector",
        "placement",
        (s) => {
          s.pod = { nodeSelector: { "node-role.kubernetes.io/control-plane": "" } };
        },
        "spec.pod.nodeSelector: key node-role.kubernetes.io/control-plane is not allowed",
      ],
      [
        "a 0.0.0.0/0 egress peer",
        "open-egress",
        (s) => {
          s.network = { exchangeEgress: [{ cidr: "0.0.0.0/0" }] };
        },
        "spec.network: egress to 0.0.0.0/0 is outside the allowed ranges",
      ],
      [
        "a 600 s grace period",
        "grace",
        (s) => {
          s.pod = { terminationGracePeriodSeconds: 600 };
        },
        "spec.pod.terminationGracePeriodSeconds: 600 is more than the allowed 120",
      ],
      [
        "live trading in a namespace not allowed to",
        "live",
        (s) => {
          s.exchange = {
            name: "binance",
            mode: "live",
            credentialsSecretRef: { name: "live-exchange-credentials" },
          };
        },
        `spec.exchange.mode: live trading is not allowed in namespace ${ns}`,
      ],
    ];
    for (const [attack, name, change, expected] of attempts) {
      expect(await refusedAtAdmission(attack, name, change), attack).toContain(expected);
    }
  });

  it("cannot mount a live key into a paper bot", async () => {
    const result = await applyAsAttacker("borrowed-key", (s) => {
      (s.exchange as Record<string, unknown>).credentialsSecretRef = { name: "live-exchange-credentials" };
    });
    expect(result.stderr).toBe("");
    const bot = await view.waitForBot(
      ns,
      "borrowed-key",
      (b) => condition(b, "CredentialsAvailable")?.status === "False",
      "CredentialsAvailable=False",
    );
    const message = condition(bot, "CredentialsAvailable")?.message ?? "";
    expect(condition(bot, "CredentialsAvailable")?.reason).toBe("SecretNotAllowed");
    expect(message).toContain("a key allowed for live never serves paper or testnet");
    expect(await view.pod(ns, "borrowed-key-runtime")).toBeUndefined();
    outcomes.push({ attack: "a live key in a paper bot", where: "operator", message });
  });

  it("cannot take over a ConfigMap, a ServiceAccount, a NetworkPolicy or a Pod by naming a bot after it", async () => {
    for (const [attack, name, kind] of [
      ["a name collision with a ConfigMap", "payroll", "ConfigMap"],
      ["a name collision with a ServiceAccount (and its cloud role)", "billing", "ServiceAccount"],
      ["a name collision with the namespace's deny-all NetworkPolicy", "ledger", "NetworkPolicy"],
      ["a name collision with a Pod", "vault", "Pod"],
    ] as const) {
      expect((await applyAsAttacker(name)).stderr, attack).toBe("");
      const bot = await view.waitForBot(
        ns,
        name,
        (b) => condition(b, "Ready")?.reason === "NameConflict",
        "NameConflict",
      );
      const message = condition(bot, "Ready")?.message ?? "";
      expect(message, attack).toContain(`A ${kind} named ${ns}/${name}-`);
      outcomes.push({ attack, where: "operator", message });
    }
  });

  it("stops a running bot that a tightened policy refuses, and starts it again once allowed", async () => {
    const tighten = (maxGracePeriodSeconds: number) =>
      applyObjects(access, [
        {
          apiVersion: API_VERSION,
          kind: TRADING_POLICY.kind,
          metadata: { name: policyName },
          spec: { ...DEFAULT_TRADING_POLICY, namespaces: [ns], maxGracePeriodSeconds },
        },
      ]);
    await tighten(20);
    const refused = await view.waitForBot(
      ns,
      "honest",
      (b) => condition(b, "Ready")?.reason === "PolicyViolation",
      "PolicyViolation",
    );
    const message = condition(refused, "Ready")?.message ?? "";
    expect(message).toContain(
      `spec.pod.terminationGracePeriodSeconds: 30 is more than the allowed 20 (TradingPolicy ${policyName})`,
    );
    await waitFor(async () => (await view.pod(ns, "honest-runtime")) === undefined, {
      what: "the refused bot's pod to go",
    });
    outcomes.push({ attack: "(a policy tightened after admission)", where: "operator", message });
    await tighten(120);
    await view.waitForBot(ns, "honest", (b) => b.status?.phase === "Running", "Running again");
  });

  it("changed nothing in the namespace but the attacker's own TradingBots and what the operator made for them", async () => {
    expect(await foreignObjects()).toEqual(before);
  });
});
