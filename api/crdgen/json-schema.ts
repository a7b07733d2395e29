import { z } from "zod";
import { CEL_RULES_META_KEY, type CelRule } from "../v1alpha1/rules.ts";

/** The OpenAPI v3 schema subset zod emits and a CustomResourceDefinition accepts. */
export interface JsonSchema {
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  oneOf?: JsonSchema[];
  enum?: unknown[];
  default?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  [CEL_RULES_META_KEY]?: CelRule[];
  [keyword: string]: unknown;
}

/** The schema of values a user may write (defaults make fields optional), as OpenAPI 3.0. */
export function inputJsonSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { target: "openapi-3.0", io: "input" }) as JsonSchema;
}

/** The value at a dotted path below a schema (`.status.runtime.openOrders`); `[...]` steps into list items. */
export function schemaAtPath(root: JsonSchema, jsonPath: string): JsonSchema | undefined {
  const steps = jsonPath.match(/\.[A-Za-z0-9_]+|\[[^\]]*\]/g) ?? [];
  if (steps.join("") !== jsonPath) return undefined;
  let current: JsonSchema | undefined = root;
  for (const step of steps) {
    if (current === undefined) return undefined;
    current = step.startsWith("[") ? current.items : current.properties?.[step.slice(1)];
  }
  return current;
}
