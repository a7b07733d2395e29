import { describe, expect, it } from "vitest";
import { z } from "zod";
import { withRules } from "../v1alpha1/rules.ts";
import { TradingBotSpec } from "../v1alpha1/tradingbot.ts";
import { inputJsonSchema, type JsonSchema } from "./json-schema.ts";
import { schemaProblems, toStructuralSchema } from "./structural.ts";

function everyNode(schema: JsonSchema, visit: (node: JsonSchema) => void): void {
  visit(schema);
  for (const property of Object.values(schema.properties ?? {})) everyNode(property, visit);
  if (schema.items) everyNode(schema.items, visit);
  if (typeof schema.additionalProperties === "object") everyNode(schema.additionalProperties, visit);
}

describe("toStructuralSchema", () => {
  const spec = toStructuralSchema(inputJsonSchema(TradingBotSpec), "spec");

  it("leaves no oneOf and no additionalProperties: false anywhere in the TradingBot spec", () => {
    everyNode(spec, (node) => {
      expect(node.oneOf).toBeUndefined();
      expect(node.additionalProperties).not.toBe(false);
    });
  });

  it("gives every node a type, as a structural schema must", () => {
    everyNode(spec, (node) => expect(node.type).toBeDefined());
  });

  it("keeps defaults, including the empty object of prefaulted blocks", () => {
    expect(spec.properties?.killSwitch?.default).toEqual({});
    expect(spec.properties?.killSwitch?.properties?.onEngage?.default).toBe("CancelOrders");
    expect(spec.properties?.pod?.default).toEqual({});
    expect(spec.properties?.risk?.properties?.maxOpenOrders?.default).toBe(20);
    expect(spec.properties?.exchange?.properties?.mode?.default).toBe("paper");
  });

  it("keeps the CEL rules written with withRules next to the field they belong to", () => {
    expect(spec.properties?.risk?.["x-kubernetes-validations"]).toContainEqual({
      rule: "double(self.maxOrderQuote) <= double(self.maxPositionQuote)",
      message: "maxOrderQuote must not exceed maxPositionQuote",
      fieldPath: ".maxOrderQuote",
    });
    expect(spec.properties?.symbol?.["x-kubernetes-validations"]).toEqual([
      { rule: "self == oldSelf", message: "spec.symbol is immutable: create a new TradingBot to change it" },
    ]);
  });

  it("turns a record into a map with a typed value schema", () => {
    const nodeSelector = spec.properties?.pod?.properties?.nodeSelector;
    expect(nodeSelector?.type).toBe("object");
    expect(nodeSelector?.properties).toBeUndefined();
    expect(nodeSelector?.additionalProperties).toMatchObject({ type: "string", maxLength: 63 });
    expect(nodeSelector?.maxProperties).toBe(64);
  });

  it("replaces zod's timestamp regex with format: date-time", () => {
    const schema = toStructuralSchema(
      inputJsonSchema(z.strictObject({ at: z.iso.datetime({ offset: true }).describe("When.") })),
      "status",
    );
    expect(schema.properties?.at).toEqual({ type: "string", format: "date-time", description: "When." });
  });

  it("refuses keywords a CRD cannot express, naming the field", () => {
    const schema = z.strictObject({ either: z.union([z.string(), z.number()]).describe("Either.") });
    expect(() => toStructuralSchema(inputJsonSchema(schema), "spec")).toThrow(
      "spec.either: anyOf cannot be expressed in a CRD schema",
    );
  });
});

describe("schemaProblems", () => {
  it("finds every field without a description, with its path", () => {
    const schema = z
      .strictObject({
        documented: z.string().max(10).describe("Has one."),
        bare: z.string().max(10),
        nested: z.strictObject({ inner: z.number() }).describe("Nested."),
      })
      .describe("Root.");
    expect(schemaProblems(toStructuralSchema(inputJsonSchema(schema), "spec"), "spec")).toEqual([
      'spec.bare: no description; add .describe("...") so kubectl explain can teach it',
      'spec.nested.inner: no description; add .describe("...") so kubectl explain can teach it',
    ]);
  });

  it("finds strings, lists and maps without an upper bound", () => {
    const schema = z.strictObject({
      name: z.string().describe("Unbounded."),
      items: z.array(z.string().max(3)).describe("Unbounded."),
      labels: z.record(z.string(), z.string().max(3)).describe("Unbounded."),
      choice: z.enum(["a", "b"]).describe("Bounded by its values."),
      at: z.iso.datetime().describe("Bounded by its format."),
    });
    expect(schemaProblems(toStructuralSchema(inputJsonSchema(schema), "spec"), "spec")).toEqual([
      "spec.name: string without a maximum length; add .max(n)",
      "spec.items: list without a maximum number of items; add .max(n)",
      "spec.labels: map without a maximum number of entries; add .meta({ maxProperties: n })",
    ]);
  });

  it("finds nothing to complain about in rule-carrying, fully documented schemas", () => {
    const schema = withRules(
      z.strictObject({ low: z.number().describe("Low."), high: z.number().describe("High.") }),
      [{ rule: "self.low < self.high", message: "low must be below high", holds: (v) => v.low < v.high }],
    ).describe("A range.");
    expect(schemaProblems(toStructuralSchema(inputJsonSchema(schema), "spec"), "spec")).toEqual([]);
  });
});
