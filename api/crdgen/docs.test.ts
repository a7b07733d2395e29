import { describe, expect, it } from "vitest";
import { z } from "zod";
import { withRules } from "../v1alpha1/rules.ts";
import { fieldRows, fieldTable, fillGeneratedSections, ruleRows, ruleTable } from "./docs.ts";
import { inputJsonSchema } from "./json-schema.ts";
import { toStructuralSchema } from "./structural.ts";

const Range = withRules(
  z.strictObject({
    low: z.number().int().min(0).max(10).describe("Lower end."),
    high: z.number().int().min(0).max(10).default(10).describe("Upper end."),
    tags: z
      .array(z.enum(["a", "b"]))
      .max(2)
      .optional()
      .describe("Tags | with a pipe."),
  }),
  [
    {
      rule: "self.low < self.high",
      message: "low must be below high",
      fieldPath: ".low",
      holds: (r) => r.low < r.high,
    },
  ],
).describe("A range.");
const schema = toStructuralSchema(inputJsonSchema(z.strictObject({ range: Range })), "spec");

describe("fieldRows", () => {
  it("lists nested fields with type, requiredness, default and validation", () => {
    expect(fieldRows(schema, "spec")).toEqual([
      {
        path: "spec.range",
        type: "object",
        required: true,
        defaultValue: undefined,
        validation: [],
        description: "A range.",
      },
      {
        path: "spec.range.low",
        type: "integer",
        required: true,
        defaultValue: undefined,
        validation: ["0 to 10"],
        description: "Lower end.",
      },
      {
        path: "spec.range.high",
        type: "integer",
        required: false,
        defaultValue: 10,
        validation: ["0 to 10"],
        description: "Upper end.",
      },
      {
        path: "spec.range.tags",
        type: "[]string",
        required: false,
        defaultValue: undefined,
        validation: ["at most 2 items"],
        description: "Tags | with a pipe.",
      },
    ]);
  });

  it("renders a markdown table whose cells cannot break the table", () => {
    const table = fieldTable(fieldRows(schema, "spec"));
    expect(table).toContain("| `spec.range.high` | integer |  | `10` | 0 to 10 | Upper end. |");
    expect(table).toContain("Tags \\| with a pipe.");
  });
});

describe("ruleRows", () => {
  it("points each rule at the field its message is about", () => {
    expect(ruleRows(schema, "spec")).toEqual([
      { path: "spec.range.low", message: "low must be below high", onUpdate: false },
    ]);
    expect(ruleTable(ruleRows(schema, "spec"))).toContain("| `spec.range.low` | low must be below high |");
  });
});

describe("fillGeneratedSections", () => {
  const page =
    "# Title\n\nProse.\n\n<!-- generated:fields -->\nold table\n<!-- /generated:fields -->\n\nMore prose.\n";

  it("replaces the generated section and keeps the prose around it", () => {
    expect(fillGeneratedSections(page, { fields: "new table" })).toBe(
      "# Title\n\nProse.\n\n<!-- generated:fields -->\nnew table\n<!-- /generated:fields -->\n\nMore prose.\n",
    );
  });

  it("fails when a section is missing from the page, or the page has one nobody generates", () => {
    expect(() => fillGeneratedSections(page, { fields: "t", rules: "r" })).toThrow("missing: rules");
    expect(() => fillGeneratedSections(page, {})).toThrow("nobody generates: fields");
  });
});
