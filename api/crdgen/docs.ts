import type { JsonSchema } from "./json-schema.ts";

/** One row of a field table in docs/api.md. */
export interface FieldRow {
  path: string;
  type: string;
  required: boolean;
  defaultValue: unknown;
  validation: string[];
  description: string;
}

/** One CEL rule as a user reads it: the field it is about, what it demands, whether only updates see it. */
export interface RuleRow {
  path: string;
  message: string;
  onUpdate: boolean;
}

function typeName(schema: JsonSchema): string {
  if (schema.type === "array") return `[]${schema.items ? typeName(schema.items) : "unknown"}`;
  if (typeof schema.additionalProperties === "object") {
    return `map[string]${typeName(schema.additionalProperties)}`;
  }
  return schema.type ?? "unknown";
}

function code(value: unknown): string {
  return `\`${typeof value === "string" ? value : JSON.stringify(value)}\``;
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

function validationOf(schema: JsonSchema): string[] {
  const notes: string[] = [];
  if (schema.enum) notes.push(`one of ${schema.enum.map(code).join(", ")}`);
  if (schema.minimum !== undefined || schema.maximum !== undefined) {
    notes.push(`${schema.minimum ?? "…"} to ${schema.maximum ?? "…"}`);
  }
  if (schema.minLength !== undefined && schema.minLength > 0) {
    notes.push(`at least ${plural(schema.minLength, "character")}`);
  }
  if (schema.maxLength !== undefined) notes.push(`at most ${plural(schema.maxLength, "character")}`);
  if (schema.pattern !== undefined) notes.push(`matches ${code(schema.pattern)}`);
  if (schema.format !== undefined) notes.push(`format ${schema.format}`);
  if (schema.maxItems !== undefined) notes.push(`at most ${plural(schema.maxItems, "item")}`);
  if (schema.maxProperties !== undefined)
    notes.push(`at most ${plural(schema.maxProperties, "entry", "entries")}`);
  if (schema["x-kubernetes-list-type"] === "set") notes.push("no duplicates");
  const mapKeys = schema["x-kubernetes-list-map-keys"];
  if (Array.isArray(mapKeys)) notes.push(`one item per ${mapKeys.map(code).join(", ")}`);
  if (typeof schema.additionalProperties === "object") {
    const values = validationOf(schema.additionalProperties);
    if (values.length > 0) notes.push(`values: ${values.join(", ")}`);
  }
  return notes;
}

/** Every field below `schema`, depth first in declaration order, list items written as `[]`. */
export function fieldRows(schema: JsonSchema, path: string): FieldRow[] {
  const rows: FieldRow[] = [];
  const objectSchema = schema.type === "array" ? schema.items : schema;
  const prefix = schema.type === "array" ? `${path}[]` : path;
  const required = new Set(objectSchema?.required ?? []);
  for (const [name, property] of Object.entries(objectSchema?.properties ?? {})) {
    const fieldPath = `${prefix}.${name}`;
    rows.push({
      path: fieldPath,
      type: typeName(property),
      required: required.has(name),
      defaultValue: property.default,
      validation: validationOf(property),
      description: property.description ?? "",
    });
    rows.push(...fieldRows(property, fieldPath));
  }
  return rows;
}

/** Every CEL rule below `schema`, with the path of the field its message is about. */
export function ruleRows(schema: JsonSchema, path: string): RuleRow[] {
  const rows: RuleRow[] = (schema["x-kubernetes-validations"] ?? []).map((rule) => ({
    path: `${path}${rule.fieldPath ?? ""}`,
    message: rule.message,
    onUpdate: rule.rule.includes("oldSelf"),
  }));
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    rows.push(...ruleRows(property, `${path}.${name}`));
  }
  if (schema.items) rows.push(...ruleRows(schema.items, `${path}[]`));
  if (typeof schema.additionalProperties === "object") {
    rows.push(...ruleRows(schema.additionalProperties, `${path}.*`));
  }
  return rows;
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

export function fieldTable(rows: FieldRow[]): string {
  return [
    "| Field | Type | Required | Default | Validation | Description |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows.map((row) => {
      const cells = [
        code(row.path),
        row.type,
        row.required ? "yes" : "",
        row.defaultValue === undefined ? "" : code(row.defaultValue),
        row.validation.join("; "),
        row.description,
      ];
      return `| ${cells.map(cell).join(" | ")} |`;
    }),
  ].join("\n");
}

export function ruleTable(rows: RuleRow[]): string {
  return [
    "| Field | Message when the rule is broken |",
    "| --- | --- |",
    ...rows.map(
      (row) =>
        `| ${cell(code(row.path))} | ${cell(row.message)}${row.onUpdate ? " (checked on update)" : ""} |`,
    ),
  ].join("\n");
}

const SECTION = /<!-- generated:([a-z0-9-]+) -->\n[\s\S]*?<!-- \/generated:\1 -->/g;

/**
 * Replaces the generated sections of a hand-written page (`<!-- generated:name -->` up to
 * `<!-- /generated:name -->`) and leaves the prose around them alone. Every section must be present
 * exactly once, so a page cannot silently lose a table.
 */
export function fillGeneratedSections(page: string, sections: Record<string, string>): string {
  const seen: string[] = [];
  const filled = page.replace(SECTION, (_match, name: string) => {
    const content = sections[name];
    if (content === undefined) throw new Error(`the page has a generated section nobody generates: ${name}`);
    seen.push(name);
    return `<!-- generated:${name} -->\n${content}\n<!-- /generated:${name} -->`;
  });
  const missing = Object.keys(sections).filter((name) => !seen.includes(name));
  const repeated = seen.filter((name, index) => seen.indexOf(name) !== index);
  if (missing.length > 0 || repeated.length > 0) {
    throw new Error(
      `generated sections must each appear once; missing: ${missing.join(", ") || "none"}, ` +
        `repeated: ${repeated.join(", ") || "none"}`,
    );
  }
  return filled;
}
