import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Strategy } from "../v1alpha1/tradingbot.ts";
import { inputJsonSchema, type JsonSchema } from "./json-schema.ts";
import { mergeDiscriminatedUnion, unionRules } from "./union.ts";

const Shape = z
  .discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("circle").describe("The shape."),
      circle: z.strictObject({ radius: z.number().describe("r") }).describe("A circle."),
    }),
    z.strictObject({
      kind: z.literal("square").describe("The shape."),
      square: z.strictObject({ side: z.number().describe("s") }).describe("A square."),
    }),
  ])
  .describe("A shape.");

describe("mergeDiscriminatedUnion", () => {
  it("turns the members into one object whose discriminator is an enum and whose blocks are optional", () => {
    const merged = mergeDiscriminatedUnion(inputJsonSchema(Shape), "spec.shape");
    expect(merged.oneOf).toBeUndefined();
    expect(merged.type).toBe("object");
    expect(merged.description).toBe("A shape.");
    expect(merged.required).toEqual(["kind"]);
    expect(merged.properties?.kind).toEqual({
      type: "string",
      enum: ["circle", "square"],
      description: "The shape.",
    });
    expect(merged.properties?.circle?.description).toBe("A circle.");
    expect(merged.properties?.square?.properties?.side?.type).toBe("number");
  });

  it("generates a required and a forbidden rule per member block, naming the block's full path", () => {
    const merged = mergeDiscriminatedUnion(inputJsonSchema(Shape), "spec.shape");
    expect(merged["x-kubernetes-validations"]).toEqual([
      {
        rule: "self.kind != 'circle' || has(self.circle)",
        message: "spec.shape.circle is required when spec.shape.kind is circle",
        fieldPath: ".circle",
        reason: "FieldValueRequired",
      },
      {
        rule: "!has(self.circle) || self.kind == 'circle'",
        message:
          "spec.shape.circle is only allowed when spec.shape.kind is circle: remove it, or set kind to circle",
        fieldPath: ".circle",
        reason: "FieldValueForbidden",
      },
      {
        rule: "self.kind != 'square' || has(self.square)",
        message: "spec.shape.square is required when spec.shape.kind is square",
        fieldPath: ".square",
        reason: "FieldValueRequired",
      },
      {
        rule: "!has(self.square) || self.kind == 'square'",
        message:
          "spec.shape.square is only allowed when spec.shape.kind is square: remove it, or set kind to square",
        fieldPath: ".square",
        reason: "FieldValueForbidden",
      },
    ]);
  });

  it("covers every strategy type of the TradingBot", () => {
    const merged = mergeDiscriminatedUnion(inputJsonSchema(Strategy), "spec.strategy");
    expect(merged.properties?.type?.enum).toEqual(["grid", "dca", "smaCross"]);
    const messages = (merged["x-kubernetes-validations"] ?? []).map((rule) => rule.message);
    for (const block of ["grid", "dca", "smaCross"]) {
      expect(messages).toContain(`spec.strategy.${block} is required when spec.strategy.type is ${block}`);
    }
  });

  it("allows a field shared by several members only with their discriminator values", () => {
    const rules = unionRules(
      "type",
      [
        { value: "a", fields: ["common", "onlyA"], requiredFields: ["onlyA"] },
        { value: "b", fields: ["common"], requiredFields: [] },
      ],
      "spec.x",
    );
    expect(rules.map((rule) => rule.rule)).toEqual([
      "self.type != 'a' || has(self.onlyA)",
      "!has(self.common) || self.type in ['a', 'b']",
      "!has(self.onlyA) || self.type == 'a'",
    ]);
  });

  it("escapes member names that CEL reserves", () => {
    const rules = unionRules(
      "type",
      [{ value: "x", fields: ["namespace"], requiredFields: ["namespace"] }],
      "p",
    );
    expect(rules[0]?.rule).toBe("self.type != 'x' || has(self.__namespace__)");
  });

  it("refuses a union whose members share no single-valued field to tell them apart", () => {
    const undiscriminated: JsonSchema = {
      oneOf: [
        { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
        { type: "object", properties: { b: { type: "string" } }, required: ["b"] },
      ],
    };
    expect(() => mergeDiscriminatedUnion(undiscriminated, "spec.either")).toThrow(
      "spec.either: a union needs exactly one discriminator (a string literal in every member), found 0",
    );
  });

  it("refuses members that declare the same field differently", () => {
    const clash = z.discriminatedUnion("kind", [
      z.strictObject({ kind: z.literal("a").describe("k"), size: z.number().describe("n") }),
      z.strictObject({ kind: z.literal("b").describe("k"), size: z.string().max(3).describe("s") }),
    ]);
    expect(() => mergeDiscriminatedUnion(inputJsonSchema(clash), "spec.clash")).toThrow(
      "spec.clash.size: union members declare this field differently",
    );
  });
});
