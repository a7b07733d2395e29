import { randomBytes } from "node:crypto";
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tradingPolicyAdmission } from "../../api/access/trading-policy.ts";
import {
  GROUP,
  policyViolations,
  TRADING_POLICY,
  TradingBotSpec,
  TradingPolicySpec,
  type TradingPolicySpecInput,
  VERSION,
} from "../../api/v1alpha1/index.ts";
import { dryRunCreate, installCrds, tradingBot } from "../api/fixtures.ts";
import { type SpecObject, validBotSpec } from "../api/spec-arbitraries.ts";
import { applyObjects } from "../operator/harness.ts";
import { clusterContext } from "../support/context.ts";
import { adminKubeConfig } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";

// One policy, two enforcers: the operator's TypeScript (api/v1alpha1/policy-check.ts) and the CEL of the
// ValidatingAdmissionPolicy (api/access/trading-policy.ts) must refuse the same TradingBots with the same
// first message. Generated policies, each drawn partly from the bot it is tried on so that both verdicts
// are common, each in a namespace of its own (the API server's parameter cache is eventually consistent:
// a namespace per policy keeps one case from seeing another's policy).

const POLICIES = 24;
const BOTS_PER_POLICY = 8;

const cluster = clusterContext();
const access = { kubectlPath: cluster.kubectlPath, kubeconfigPath: cluster.kubeconfigPath };
const kc = adminKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const tag = randomBytes(3).toString("hex");
const admission = tradingPolicyAdmission(`parity-${tag}`);
const namespaces = Array.from({ length: POLICIES }, (_, i) => `tpp-${tag}-${i}`);

/** Any subset of `values`, the whole of it as likely as any other. */
const subset = <T>(values: readonly T[]) => fc.subarray([...new Set(values)]);
/** Unset three times in four: a policy restricts a few things, not everything. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });

interface BotPod {
  image?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: { key?: string; operator?: string; effect?: string }[];
  priorityClassName?: string;
}

/** A policy for `bots`: each field unset, or a subset of the values these bots use and others. */
function policyFor(bots: SpecObject[]): fc.Arbitrary<TradingPolicySpecInput> {
  const pods = bots.map((bot) => (bot.pod ?? {}) as BotPod);
  const hosts = bots.flatMap((bot) => {
    const endpoint = (bot.exchange as { endpoint?: string }).endpoint;
    if (!endpoint) return [];
    const host = new URL(endpoint).hostname.replace(/^\[|\]$/g, "").toLowerCase();
    return [host, `*.${host.split(".").slice(1).join(".")}`];
  });
  const hostPatterns = ["*.svc", "*.svc.cluster.local", ...hosts].filter((p) =>
    /^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(p),
  );
  const imagePrefixes = [
    "ghcr.io/botops/",
    ...pods.flatMap((pod) => (pod.image ? [pod.image.slice(0, Math.max(1, pod.image.length - 3))] : [])),
  ];
  const keys = ["kubernetes.io/arch", ...pods.flatMap((pod) => Object.keys(pod.nodeSelector ?? {}))];
  const tolerations = [
    { key: "dedicated", operator: "Equal" as const, effect: "NoSchedule" as const },
    ...pods.flatMap((pod) => (pod.tolerations ?? []).map((t) => ({ ...(t.key ? { key: t.key } : {}) }))),
  ];
  const classes = [
    "trading",
    ...pods.flatMap((pod) => (pod.priorityClassName ? [pod.priorityClassName] : [])),
  ];
  return fc
    .record({
      images: sometimes(
        fc.record(
          { repositories: subset(imagePrefixes), digestsOnly: fc.boolean() },
          { requiredKeys: ["digestsOnly"] },
        ),
      ),
      paperEndpoints: fc.record({ hosts: subset(hostPatterns) }),
      egress: sometimes(
        fc.record(
          {
            cidrs: subset(["10.0.0.0/8", "192.168.0.0/16", "0.0.0.0/0", "2001:db8::/32", "::/0"]),
            selectors: fc.boolean(),
            requirePeers: fc.boolean(),
          },
          { requiredKeys: ["selectors", "requirePeers"] },
        ),
      ),
      scheduling: sometimes(
        fc.record({
          nodeSelectorKeys: subset(keys),
          tolerations: subset(tolerations),
          priorityClasses: subset(classes),
        }),
      ),
      // Always set, below 600: the probe that shows the policy is seen asks for 600 s.
      maxGracePeriodSeconds: fc.integer({ min: 10, max: 599 }),
      liveNamespaces: sometimes(subset(["elsewhere", "__own__"])),
    })
    .map((policy) => Object.fromEntries(Object.entries(policy).filter(([, v]) => v !== undefined)));
}

interface Case {
  namespace: string;
  policyName: string;
  policy: TradingPolicySpecInput;
  bots: SpecObject[];
}

/** The namespaces a policy lists: its own (under the placeholder) and another. */
const placed = (policy: TradingPolicySpecInput, namespace: string): TradingPolicySpecInput => ({
  ...policy,
  namespaces: [namespace],
  ...(policy.liveNamespaces
    ? { liveNamespaces: policy.liveNamespaces.map((n) => (n === "__own__" ? namespace : n)) }
    : {}),
});

/**
 * The same cases on every run (a fixed seed), so that the share of each verdict, which the test checks, is
 * too; PARITY_SEED=<n> tries others.
 */
const SEED = Number(process.env.PARITY_SEED ?? 20261204);

function generateCases(): Case[] {
  const validBots = fc.sample(
    validBotSpec.filter((s) => TradingBotSpec.safeParse(s).success),
    {
      numRuns: POLICIES * BOTS_PER_POLICY,
      seed: SEED,
    },
  );
  return namespaces.map((namespace, i) => {
    const bots = validBots.slice(i * BOTS_PER_POLICY, (i + 1) * BOTS_PER_POLICY);
    const [policy] = fc.sample(policyFor(bots), { numRuns: 1, seed: SEED + i });
    return { namespace, policyName: `parity-${tag}-${i}`, policy: placed(policy ?? {}, namespace), bots };
  });
}

/** What a refusal says after the name of the policy and binding. */
const refusal = (message: string) => message.replace(/^.*denied request: /s, "").trim();

let cases: Case[] = [];

beforeAll(async () => {
  await installCrds();
  cases = generateCases();
  await Promise.all(namespaces.map((name) => core.createNamespace({ body: { metadata: { name } } })));
  await applyObjects(access, admission);
  await applyObjects(
    access,
    cases.map((c) => ({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: TRADING_POLICY.kind,
      metadata: { name: c.policyName },
      spec: c.policy,
    })),
  );
  // Every policy refuses a grace period of 600 s: once each namespace's probe is refused naming its
  // policy, the admission policy sees that parameter.
  await waitFor(
    async () => {
      for (const c of cases) {
        const probe = tradingBot("probe", {
          ...(c.bots[0] ?? {}),
          pod: { terminationGracePeriodSeconds: 600 },
        });
        const verdict = await dryRunCreate(kc, c.namespace, probe, { admission: true });
        if (verdict.accepted || !verdict.message.includes(`(TradingPolicy ${c.policyName})`)) return false;
      }
      return true;
    },
    { what: "the admission policy to see every generated TradingPolicy", timeoutMs: 60_000 },
  );
});

afterAll(async () => {
  await Promise.all(namespaces.map((name) => core.deleteNamespace({ name }).catch(() => undefined)));
  for (const c of cases) {
    await custom
      .deleteClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: TRADING_POLICY.plural,
        name: c.policyName,
      })
      .catch(() => undefined);
  }
  for (const object of admission) {
    await kubectl(["delete", object.kind, object.metadata.name, "--ignore-not-found"], {
      allowFailure: true,
    });
  }
});

describe("a TradingPolicy, at admission and in the operator", () => {
  it(`refuses the same bots with the same message, on ${POLICIES * BOTS_PER_POLICY} generated bots under ${POLICIES} generated policies`, async () => {
    const tally = { allowed: 0, refused: 0 };
    for (const c of cases) {
      const policy = TradingPolicySpec.parse(c.policy);
      for (const [index, spec] of c.bots.entries()) {
        const verdict = await dryRunCreate(kc, c.namespace, tradingBot(`bot-${index}`, spec), {
          admission: true,
        });
        const violations = policyViolations(c.policyName, policy, c.namespace, TradingBotSpec.parse(spec));
        const context = `policy ${JSON.stringify(c.policy)}\nbot ${JSON.stringify(spec)}`;
        expect(verdict.accepted ? "allowed" : refusal(verdict.message), context).toBe(
          violations[0]?.message ?? "allowed",
        );
        tally[verdict.accepted ? "allowed" : "refused"]++;
      }
    }
    console.log(`TradingPolicy parity: ${JSON.stringify(tally)}`);
    // Both verdicts are well represented, so agreement is not agreement on "always refuse".
    expect(tally.allowed).toBeGreaterThan(POLICIES * BOTS_PER_POLICY * 0.1);
    expect(tally.refused).toBeGreaterThan(POLICIES * BOTS_PER_POLICY * 0.1);
  });
});
