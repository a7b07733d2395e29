import { z } from "zod";
import { withRules } from "./rules.ts";
import { labelName, objectName, timestamp } from "./scalars.ts";

/**
 * The parts of metav1.ObjectMeta the operator reads. The API server owns metadata, so it is parsed
 * loosely and never generated into the CRD schema.
 */
export const ObjectMeta = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().int().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMeta>;

/** A reference to a Secret in the bot's own namespace. */
export const SecretReference = z
  .strictObject({
    name: objectName("Name of the Secret, in the same namespace as the TradingBot."),
  })
  .describe("A Secret in the TradingBot's namespace.");
export type SecretReference = z.infer<typeof SecretReference>;

/** metav1.Condition, as every Kubernetes API reports state transitions. */
export const Condition = z
  .strictObject({
    type: z
      .string()
      .max(316)
      .regex(
        /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/,
      )
      .describe("Type of the condition, in CamelCase, such as Ready or Halted."),
    status: z.enum(["True", "False", "Unknown"]).describe("Status of the condition: True, False or Unknown."),
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("The .metadata.generation the condition was set from."),
    lastTransitionTime: timestamp("Last time the condition changed from one status to another."),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .describe("Machine-readable CamelCase reason for the last transition."),
    message: z.string().max(32768).describe("Human-readable details about the last transition."),
  })
  .describe("A condition as defined by metav1.Condition.");
export type Condition = z.infer<typeof Condition>;

// Label keys and values as Kubernetes validates them: an optional DNS-subdomain prefix and a name of at
// most 63 characters.
const LABEL_KEY_PATTERN =
  "^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
const LABEL_KEY_MAX_LENGTH = 317;
const LABEL_KEY_MESSAGE = "must be a label key such as app or example.com/team";
const MAX_LABELS = 64;

export const LabelKey = z
  .string()
  .min(1)
  .max(LABEL_KEY_MAX_LENGTH)
  .regex(new RegExp(LABEL_KEY_PATTERN), { message: LABEL_KEY_MESSAGE });
export const LabelValue = z
  .string()
  .max(63)
  .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, {
    message:
      "must be a label value: at most 63 of a-z, A-Z, 0-9, '-', '_', '.', starting and ending alphanumeric",
  });

/**
 * A label map (matchLabels, nodeSelector). The CRD schema of a map only constrains its values, so the key
 * rule is a CEL rule; the bound on entries keeps that rule's cost estimate within the API server's budget.
 */
export function labelMap(description: string) {
  const keyRe = new RegExp(LABEL_KEY_PATTERN);
  return withRules(
    z
      .record(z.string(), LabelValue)
      .refine((labels) => Object.keys(labels).length <= MAX_LABELS, {
        message: `must have at most ${MAX_LABELS} entries`,
      })
      .meta({ maxProperties: MAX_LABELS }),
    [
      {
        rule: `self.all(k, size(k) <= ${LABEL_KEY_MAX_LENGTH} && k.matches(r'${LABEL_KEY_PATTERN}'))`,
        message: `every key ${LABEL_KEY_MESSAGE} (at most ${LABEL_KEY_MAX_LENGTH} characters)`,
        holds: (labels) =>
          Object.keys(labels).every((key) => key.length <= LABEL_KEY_MAX_LENGTH && keyRe.test(key)),
      },
    ],
  ).describe(description);
}

export const MatchLabels = labelMap("Labels that must all be present with these values.");

/** metav1.LabelSelector. */
export const LabelSelector = z
  .strictObject({
    matchLabels: MatchLabels.optional(),
    matchExpressions: z
      .array(
        withRules(
          z.strictObject({
            key: LabelKey.describe("The label key the requirement applies to."),
            operator: z
              .enum(["In", "NotIn", "Exists", "DoesNotExist"])
              .describe("How the key relates to the values: In, NotIn, Exists or DoesNotExist."),
            values: z
              .array(LabelValue)
              .max(64)
              .optional()
              .describe("Values for In and NotIn (non-empty); must be empty for Exists and DoesNotExist."),
          }),
          [
            {
              rule: "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
              message: "values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist",
              fieldPath: ".values",
              holds: (r) =>
                r.operator === "In" || r.operator === "NotIn"
                  ? (r.values?.length ?? 0) > 0
                  : (r.values?.length ?? 0) === 0,
            },
          ],
        ),
      )
      .max(32)
      .optional()
      .describe("Label requirements that must all hold."),
  })
  .describe("A label selector (metav1.LabelSelector): matchLabels and matchExpressions are ANDed.");
export type LabelSelector = z.infer<typeof LabelSelector>;

export const NamespaceName = labelName("A namespace name.");
