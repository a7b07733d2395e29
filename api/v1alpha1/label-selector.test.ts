import { describe, expect, it } from "vitest";
import { selectorMatches } from "./label-selector.ts";

describe("selectorMatches", () => {
  const labels = { team: "research", tier: "gold" };

  it("matches everything when the selector is absent or empty", () => {
    expect(selectorMatches(undefined, labels)).toBe(true);
    expect(selectorMatches({}, {})).toBe(true);
  });

  it("requires every matchLabels entry", () => {
    expect(selectorMatches({ matchLabels: { team: "research" } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { team: "research", tier: "silver" } }, labels)).toBe(false);
  });

  it("evaluates In, NotIn, Exists and DoesNotExist like the API server", () => {
    expect(
      selectorMatches(
        { matchExpressions: [{ key: "tier", operator: "In", values: ["gold", "silver"] }] },
        labels,
      ),
    ).toBe(true);
    expect(
      selectorMatches({ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }, labels),
    ).toBe(false);
    expect(
      selectorMatches({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["gold"] }] }, labels),
    ).toBe(false);
    expect(
      selectorMatches({ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }, labels),
    ).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: "team", operator: "Exists" }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: "team", operator: "DoesNotExist" }] }, labels)).toBe(
      false,
    );
  });

  it("ANDs matchLabels with matchExpressions", () => {
    const selector = {
      matchLabels: { team: "research" },
      matchExpressions: [{ key: "tier", operator: "In", values: ["silver"] }],
    };
    expect(selectorMatches(selector, labels)).toBe(false);
  });

  it("selects nothing for an operator it does not know", () => {
    expect(
      selectorMatches({ matchExpressions: [{ key: "team", operator: "Gt", values: ["1"] }] }, labels),
    ).toBe(false);
  });
});
