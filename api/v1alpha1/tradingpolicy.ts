import { z } from "zod";
import { API_VERSION, TRADING_POLICY } from "./group.ts";
import { LabelKey, NamespaceName, ObjectMeta } from "./meta.ts";
import { setList } from "./rules.ts";
import { objectName } from "./scalars.ts";
import { CIDR } from "./tradingbot.ts";

// What a cluster allows its TradingBots, beyond what their schema allows. Enforced twice from one
// schema: at admission by the ValidatingAdmissionPolicy of api/access/trading-policy.ts (with each
// TradingPolicy as its parameter), and by the operator (api/v1alpha1/policy-check.ts), which also covers
// a policy changed after a bot was admitted. A bot must satisfy every TradingPolicy that applies to its
// namespace. An unset field allows anything; an empty list allows nothing.

const RepositoryPrefix = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[!-~]+$/, { message: "must be an image reference prefix such as ghcr.io/botops/" });

export const HostPattern = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, {
    message: "must be a host name, or *. followed by a domain (its subdomains), in lower case",
  });

export const AllowedToleration = z
  .strictObject({
    key: LabelKey.optional().describe("The taint key; unset matches only a toleration without a key."),
    operator: z.enum(["Exists", "Equal"]).optional().describe("Equal or Exists; unset allows either."),
    effect: z
      .enum(["NoSchedule", "PreferNoSchedule", "NoExecute"])
      .optional()
      .describe("The effect; unset allows any, and a toleration of every effect."),
  })
  .describe("A toleration bots may carry: one with this key (and operator and effect, when set).");
export type AllowedToleration = z.infer<typeof AllowedToleration>;

/** Paper bots may use Services inside the cluster unless a policy says otherwise. */
export const IN_CLUSTER_SERVICE_HOSTS = ["*.svc", "*.svc.cluster.local"];

export const TradingPolicySpec = z
  .strictObject({
    namespaces: setList(z.array(NamespaceName).max(1000))
      .default([])
      .describe("Namespaces whose TradingBots the policy applies to. Empty: every namespace."),
    images: z
      .strictObject({
        repositories: setList(z.array(RepositoryPrefix).max(64))
          .optional()
          .describe(
            "Prefixes an image in spec.pod.image must start with, such as ghcr.io/botops/. A bot without " +
              "spec.pod.image runs the operator's image, which is always allowed.",
          ),
        digestsOnly: z
          .boolean()
          .default(false)
          .describe("true: spec.pod.image must name a digest (…@sha256:…), never only a tag."),
      })
      .optional()
      .describe("Which images bots may run."),
    paperEndpoints: z
      .strictObject({
        hosts: setList(z.array(HostPattern).max(64))
          .default(IN_CLUSTER_SERVICE_HOSTS)
          .describe(
            "Hosts spec.exchange.endpoint of a paper bot may name: a host, or *.domain for its subdomains. " +
              "Default: Services inside the cluster (*.svc, *.svc.cluster.local).",
          ),
      })
      .prefault({})
      .describe(
        "Where paper bots may send their (paper) keys' signed requests. Their keys are never live ones, and " +
          "their endpoint could be anyone's.",
      ),
    egress: z
      .strictObject({
        cidrs: setList(z.array(CIDR).max(64))
          .optional()
          .describe("Ranges every cidr peer of spec.network must lie within."),
        selectors: z
          .boolean()
          .default(true)
          .describe("false: spec.network may not name peers by namespace or pod selector."),
        requirePeers: z
          .boolean()
          .default(false)
          .describe(
            "true: spec.network.exchangeEgress and databaseEgress must be set (unset means any address on the " +
              "exchange's or database's port).",
          ),
      })
      .optional()
      .describe("Which egress peers bots may name."),
    scheduling: z
      .strictObject({
        nodeSelectorKeys: setList(z.array(LabelKey).max(64))
          .optional()
          .describe("Keys spec.pod.nodeSelector may use."),
        tolerations: z
          .array(AllowedToleration)
          .max(64)
          .optional()
          .describe("Tolerations spec.pod.tolerations may carry; each must match one of these."),
        priorityClasses: setList(z.array(objectName("A PriorityClass name.")).max(64))
          .optional()
          .describe("PriorityClasses spec.pod.priorityClassName may name."),
      })
      .optional()
      .describe("Where and how urgently bot pods may be scheduled."),
    maxGracePeriodSeconds: z
      .number()
      .int()
      .min(10)
      .max(600)
      .optional()
      .describe("The longest spec.pod.terminationGracePeriodSeconds a bot may ask for."),
    liveNamespaces: setList(z.array(NamespaceName).max(1000))
      .optional()
      .describe("Namespaces where bots may trade live. Unset: any; empty: none."),
  })
  .describe("What TradingBots may ask for, beyond their schema.");
export type TradingPolicySpec = z.infer<typeof TradingPolicySpec>;
export type TradingPolicySpecInput = z.input<typeof TradingPolicySpec>;

export const TradingPolicy = z.looseObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(TRADING_POLICY.kind),
  metadata: ObjectMeta,
  spec: TradingPolicySpec,
});
export type TradingPolicy = z.infer<typeof TradingPolicy>;
