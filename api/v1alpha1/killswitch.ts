import { z } from "zod";
import { API_VERSION, KILL_SWITCH } from "./group.ts";
import { Condition, LabelSelector, NamespaceName, ObjectMeta } from "./meta.ts";
import { mapList, setList } from "./rules.ts";
import { timestamp } from "./scalars.ts";

export const KillSwitchSpec = z
  .strictObject({
    engaged: z.boolean().describe("true halts every TradingBot this switch selects; false releases them."),
    reason: z
      .string()
      .max(256)
      .optional()
      .describe("Why the fleet is halted; copied into each bot's status."),
    namespaces: setList(z.array(NamespaceName).max(1000))
      .default([])
      .describe("Namespaces whose TradingBots are selected. Empty selects every namespace."),
    selector: LabelSelector.optional().describe(
      "Label selector on TradingBots. Unset selects every TradingBot in the selected namespaces.",
    ),
  })
  .describe("A cluster-wide kill switch: halts every TradingBot it selects while engaged.");
export type KillSwitchSpec = z.infer<typeof KillSwitchSpec>;
export type KillSwitchSpecInput = z.input<typeof KillSwitchSpec>;

export const KillSwitchStatus = z
  .strictObject({
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("The .metadata.generation last acted on."),
    matchedBots: z.number().int().min(0).optional().describe("TradingBots the switch selects."),
    haltedBots: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("Selected TradingBots that are halted now: the halt is on record and their pod is gone."),
    stoppingBots: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        "While engaged: selected TradingBots not halted yet (their halt not on record, or a pod left).",
      ),
    engagedSince: timestamp("When the switch was last engaged.").optional(),
    conditions: mapList(z.array(Condition).max(8), "type")
      .optional()
      .describe("Conditions of the switch, as metav1.Conditions."),
  })
  .describe("What the kill switch currently selects and halts.");
export type KillSwitchStatus = z.infer<typeof KillSwitchStatus>;

export const KillSwitch = z.looseObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KILL_SWITCH.kind),
  metadata: ObjectMeta,
  spec: KillSwitchSpec,
  status: KillSwitchStatus.optional(),
});
export type KillSwitch = z.infer<typeof KillSwitch>;
