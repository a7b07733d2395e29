import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { GENERATED_HEADER, renderGeneratedYaml, sortKeysDeep } from "./yaml.ts";

describe("renderGeneratedYaml", () => {
  it("writes the same text whatever order the keys were built in", () => {
    const one = renderGeneratedYaml({ b: 1, a: { d: [{ y: 1, x: 2 }], c: "z" } });
    const other = renderGeneratedYaml({ a: { c: "z", d: [{ x: 2, y: 1 }] }, b: 1 });
    expect(one).toBe(other);
    expect(one.indexOf("a:")).toBeLessThan(one.indexOf("b:"));
  });

  it("starts with the generated-file header and reads back as the same document", () => {
    const shared = { type: "string", description: "used twice: 'quotes' and # hashes" };
    const document = { first: shared, second: shared, list: ["b", "a"] };
    const text = renderGeneratedYaml(document);
    expect(text.startsWith(GENERATED_HEADER)).toBe(true);
    expect(text).not.toContain("&ref");
    expect(load(text)).toEqual(document);
  });

  it("keeps the order of lists, which carries meaning (required fields, rules)", () => {
    expect(sortKeysDeep({ required: ["z", "a"] })).toEqual({ required: ["z", "a"] });
  });
});
