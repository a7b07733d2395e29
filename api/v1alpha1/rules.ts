import { z } from "zod";

/**
 * A validation rule written once and enforced twice: by the API server as a CEL expression
 * (`x-kubernetes-validations` in the generated CRD) and by zod (`holds`), so a spec is judged the same
 * way before it reaches the cluster (operator, runtime, tests) as the cluster judges it.
 */
export interface CrossFieldRule<T> {
  /** CEL, evaluated with `self` bound to the value the rule is attached to. */
  rule: string;
  /** What the user reads: which field, what is wrong, what is allowed. */
  message: string;
  /** The field the message is about, relative to the value the rule is attached to (`.upperPrice`). */
  fieldPath?: string;
  reason?: "FieldValueInvalid" | "FieldValueRequired" | "FieldValueForbidden";
  /** The same rule in TypeScript. Absent for transition rules (`oldSelf`), which only the API server sees. */
  holds?: (value: T) => boolean;
}

export type CelRule = Omit<CrossFieldRule<unknown>, "holds">;

/** The CEL part of rules, as the CRD generator expects it in a schema's metadata. */
export const CEL_RULES_META_KEY = "x-kubernetes-validations";

function pathOf(fieldPath: string | undefined): string[] {
  return fieldPath ? fieldPath.split(".").filter((part) => part !== "") : [];
}

/** Attaches rules to a schema: zod checks them on parse, the CRD generator emits them as CEL. */
export function withRules<S extends z.ZodType>(schema: S, rules: CrossFieldRule<z.output<S>>[]): S {
  const checked = schema.superRefine((value, ctx) => {
    for (const rule of rules) {
      if (rule.holds && !rule.holds(value)) {
        ctx.addIssue({ code: "custom", message: rule.message, path: pathOf(rule.fieldPath) });
      }
    }
  }) as S;
  const existing = (z.globalRegistry.get(schema)?.[CEL_RULES_META_KEY] as CelRule[] | undefined) ?? [];
  const cel: CelRule[] = rules.map(({ holds: _holds, ...celRule }) => celRule);
  return checked.meta({ [CEL_RULES_META_KEY]: [...existing, ...cel] }) as S;
}

/** A field that cannot change once set (a CEL transition rule; zod cannot see the old object). */
export function immutable<S extends z.ZodType>(schema: S, fieldName: string): S {
  return withRules(schema, [
    {
      rule: "self == oldSelf",
      message: `${fieldName} is immutable: create a new TradingBot to change it`,
    },
  ]);
}

/**
 * A list of unique scalars (`x-kubernetes-list-type: set`). The API server rejects duplicates and merges
 * server-side applies item by item; zod rejects duplicates too, so both judge a list the same way.
 */
export function setList<S extends z.ZodArray>(list: S): S {
  return list
    .refine((items) => new Set(items).size === items.length, { message: "must not contain duplicates" })
    .meta({ "x-kubernetes-list-type": "set" }) as S;
}

/**
 * A list of objects keyed by one field (`x-kubernetes-list-type: map`), such as conditions by type: at most
 * one item per key, and server-side apply merges items by key.
 */
export function mapList<S extends z.ZodArray<z.ZodObject>>(list: S, key: string): S {
  return list
    .refine(
      (items) => new Set(items.map((item) => (item as Record<string, unknown>)[key])).size === items.length,
      { message: `must not contain two items with the same ${key}` },
    )
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": [key] }) as S;
}
