import type { JsonSchema } from "./json-schema.ts";
import { mergeDiscriminatedUnion } from "./union.ts";

// Keywords a structural CRD schema may carry. Anything else zod emits (anyOf, allOf, not, $ref, const, ...)
// has no structural equivalent and stops the generation instead of silently changing the API.
const STRUCTURAL_KEYWORDS = new Set([
  "type",
  "description",
  "properties",
  "required",
  "items",
  "additionalProperties",
  "enum",
  "default",
  "format",
  "pattern",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "nullable",
  "x-kubernetes-validations",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
]);

/**
 * Rewrites zod's OpenAPI output as a structural schema, the form a CRD requires: discriminated unions
 * become one object with CEL rules, `additionalProperties: false` goes (the API server prunes or, with
 * strict field validation, rejects unknown fields itself), and zod's regex for timestamps gives way to
 * `format: date-time`, which the API server checks.
 */
export function toStructuralSchema(schema: JsonSchema, path: string): JsonSchema {
  if (schema.oneOf) return toStructuralSchema(mergeDiscriminatedUnion(schema, path), path);
  const unsupported = Object.keys(schema).filter((keyword) => !STRUCTURAL_KEYWORDS.has(keyword));
  if (unsupported.length > 0) {
    throw new Error(
      `${path}: ${unsupported.join(", ")} cannot be expressed in a CRD schema; ` +
        "use a plain zod type and attach cross-field checks with withRules",
    );
  }
  const { properties, items, additionalProperties, ...keywords } = schema;
  const structural: JsonSchema = { ...keywords };
  if (structural.format === "date-time") delete structural.pattern;
  if (properties) {
    structural.properties = Object.fromEntries(
      Object.entries(properties).map(([name, property]) => [
        name,
        toStructuralSchema(property, `${path}.${name}`),
      ]),
    );
  }
  if (items) structural.items = toStructuralSchema(items, `${path}[*]`);
  if (additionalProperties === true) {
    throw new Error(`${path}: objects that keep unknown fields cannot be generated; declare every field`);
  }
  if (typeof additionalProperties === "object") {
    structural.additionalProperties = toStructuralSchema(additionalProperties, `${path}.*`);
  }
  return structural;
}

/**
 * What keeps a schema from teaching and protecting the API: fields without a description (`kubectl explain`
 * would print nothing) and strings, lists or maps without an upper bound (the API server's CEL cost estimate
 * assumes the worst case and refuses rules over unbounded values).
 */
export function schemaProblems(schema: JsonSchema, path: string): string[] {
  const problems: string[] = [];
  if (schema.type === undefined) problems.push(`${path}: no type`);
  if (schema.type === "string" && schema.maxLength === undefined && !schema.enum && !schema.format) {
    problems.push(`${path}: string without a maximum length; add .max(n)`);
  }
  if (schema.type === "array" && schema.maxItems === undefined) {
    problems.push(`${path}: list without a maximum number of items; add .max(n)`);
  }
  const valueSchema =
    typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined;
  if (valueSchema && schema.maxProperties === undefined) {
    problems.push(`${path}: map without a maximum number of entries; add .meta({ maxProperties: n })`);
  }
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    if (!property.description?.trim()) {
      problems.push(`${path}.${name}: no description; add .describe("...") so kubectl explain can teach it`);
    }
    problems.push(...schemaProblems(property, `${path}.${name}`));
  }
  if (schema.items) problems.push(...schemaProblems(schema.items, `${path}[*]`));
  if (valueSchema) problems.push(...schemaProblems(valueSchema, `${path}.*`));
  return problems;
}
