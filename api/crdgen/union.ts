import { isDeepStrictEqual } from "node:util";
import type { CelRule } from "../v1alpha1/rules.ts";
import { celField } from "./cel.ts";
import type { JsonSchema } from "./json-schema.ts";

/** One member of a discriminated union: its discriminator value and the fields only it may set. */
export interface UnionVariant {
  value: string;
  fields: string[];
  requiredFields: string[];
}

/**
 * Turns zod's `oneOf` for a discriminated union of objects into one structural object, the Kubernetes
 * convention for unions: the discriminator becomes an enum, every member block an optional property, and
 * CEL rules say which block goes with which value. (A CRD schema may not use `oneOf` to declare fields.)
 */
export function mergeDiscriminatedUnion(union: JsonSchema, path: string): JsonSchema {
  const { oneOf: members = [], ...unionKeywords } = union;
  if (members.length < 2 || members.some((member) => member.type !== "object" || !member.properties)) {
    throw new Error(`${path}: only discriminated unions of objects (z.discriminatedUnion) can become a CRD`);
  }
  const discriminator = discriminatorOf(members, path);
  const properties: Record<string, JsonSchema> = {};
  const variants: UnionVariant[] = [];
  const discriminatorDescriptions = new Set<string | undefined>();
  for (const member of members) {
    const memberProperties = member.properties ?? {};
    if (member["x-kubernetes-validations"]) {
      throw new Error(`${path}: attach rules to the parameter block of a union member, not to the member`);
    }
    discriminatorDescriptions.add(memberProperties[discriminator]?.description);
    const fields = Object.keys(memberProperties).filter((name) => name !== discriminator);
    for (const field of fields) {
      const existing = properties[field];
      if (existing && !isDeepStrictEqual(existing, memberProperties[field])) {
        throw new Error(`${path}.${field}: union members declare this field differently`);
      }
      properties[field] = memberProperties[field] as JsonSchema;
    }
    variants.push({
      value: String(memberProperties[discriminator]?.enum?.[0]),
      fields,
      requiredFields: (member.required ?? []).filter((name) => name !== discriminator),
    });
  }
  if (discriminatorDescriptions.size !== 1) {
    throw new Error(
      `${path}.${discriminator}: every union member must describe the discriminator the same way`,
    );
  }
  const discriminatorSchema: JsonSchema = {
    type: "string",
    enum: variants.map((variant) => variant.value),
  };
  const [description] = discriminatorDescriptions;
  if (description !== undefined) discriminatorSchema.description = description;
  return {
    ...unionKeywords,
    type: "object",
    properties: { [discriminator]: discriminatorSchema, ...properties },
    required: [discriminator],
    "x-kubernetes-validations": [
      ...unionRules(discriminator, variants, path),
      ...(unionKeywords["x-kubernetes-validations"] ?? []),
    ],
  };
}

/** The property every member fixes to a single value (zod's `z.literal`), required in every member. */
function discriminatorOf(members: JsonSchema[], path: string): string {
  const [first, ...rest] = members;
  const candidates = Object.keys(first?.properties ?? {}).filter((name) =>
    [first, ...rest].every(
      (member) =>
        member?.properties?.[name]?.enum?.length === 1 &&
        member.properties[name]?.type === "string" &&
        (member.required ?? []).includes(name),
    ),
  );
  if (candidates.length !== 1) {
    throw new Error(
      `${path}: a union needs exactly one discriminator (a string literal in every member), found ${candidates.length}`,
    );
  }
  return candidates[0] as string;
}

/**
 * For each member: its discriminator value requires its required fields, and each member field is allowed
 * only with the values of the members that declare it. Messages name the full path of the field.
 */
export function unionRules(discriminator: string, variants: UnionVariant[], path: string): CelRule[] {
  const self = `self.${celField(discriminator)}`;
  const allowedValues = new Map<string, string[]>();
  for (const variant of variants) {
    for (const field of variant.fields) {
      allowedValues.set(field, [...(allowedValues.get(field) ?? []), variant.value]);
    }
  }
  const rules: CelRule[] = [];
  const ruledFields = new Set<string>();
  for (const variant of variants) {
    for (const field of variant.requiredFields) {
      rules.push({
        rule: `${self} != ${celString(variant.value)} || has(self.${celField(field)})`,
        message: `${path}.${field} is required when ${path}.${discriminator} is ${variant.value}`,
        fieldPath: `.${field}`,
        reason: "FieldValueRequired",
      });
    }
    for (const field of variant.fields.filter((name) => !ruledFields.has(name))) {
      ruledFields.add(field);
      const values = allowedValues.get(field) ?? [];
      const allowed =
        values.length === 1
          ? `${self} == ${celString(variant.value)}`
          : `${self} in [${values.map(celString).join(", ")}]`;
      const valueList = values.join(" or ");
      rules.push({
        rule: `!has(self.${celField(field)}) || ${allowed}`,
        message:
          `${path}.${field} is only allowed when ${path}.${discriminator} is ${valueList}: ` +
          `remove it, or set ${discriminator} to ${valueList}`,
        fieldPath: `.${field}`,
        reason: "FieldValueForbidden",
      });
    }
  }
  return rules;
}

function celString(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}
