import { describe, expect, it } from "vitest";
import { z } from "zod";
import { KillSwitchSpec } from "./killswitch.ts";
import { MatchLabels } from "./meta.ts";
import { CEL_RULES_META_KEY, immutable, mapList, setList, withRules } from "./rules.ts";
import { Toleration } from "./tradingbot.ts";

describe("withRules", () => {
  const Range = withRules(z.strictObject({ low: z.number(), high: z.number() }), [
    {
      rule: "self.low < self.high",
      message: "low must be below high",
      fieldPath: ".high",
      holds: (r) => r.low < r.high,
    },
  ]);

  it("refuses a value that breaks the rule, at the rule's field, with the rule's message", () => {
    const result = Range.safeParse({ low: 2, high: 1 });
    expect(result.success).toBe(false);
    expect(result.error?.issues).toMatchObject([{ path: ["high"], message: "low must be below high" }]);
  });

  it("records the CEL half, without the TypeScript check, for the CRD generator", () => {
    expect(z.globalRegistry.get(Range)?.[CEL_RULES_META_KEY]).toEqual([
      { rule: "self.low < self.high", message: "low must be below high", fieldPath: ".high" },
    ]);
  });

  it("keeps transition rules to the API server, which alone sees the old object", () => {
    const Market = immutable(z.string(), "spec.symbol");
    expect(Market.safeParse("BTC/USDT").success).toBe(true);
    expect(z.globalRegistry.get(Market)?.[CEL_RULES_META_KEY]).toEqual([
      { rule: "self == oldSelf", message: "spec.symbol is immutable: create a new TradingBot to change it" },
    ]);
  });
});

describe("list types", () => {
  it("refuses duplicates in a set, as the API server does", () => {
    expect(setList(z.array(z.string())).safeParse(["a", "a"]).success).toBe(false);
    expect(KillSwitchSpec.safeParse({ engaged: true, namespaces: ["trading", "trading"] }).success).toBe(
      false,
    );
    expect(KillSwitchSpec.safeParse({ engaged: true, namespaces: ["trading", "research"] }).success).toBe(
      true,
    );
  });

  it("refuses two items with the same key in a map list", () => {
    const Items = mapList(z.array(z.strictObject({ type: z.string(), value: z.number() })), "type");
    expect(
      Items.safeParse([
        { type: "a", value: 1 },
        { type: "b", value: 1 },
      ]).success,
    ).toBe(true);
    expect(
      Items.safeParse([
        { type: "a", value: 1 },
        { type: "a", value: 2 },
      ]).success,
    ).toBe(false);
  });
});

describe("label maps", () => {
  it("accept Kubernetes label keys and values", () => {
    expect(MatchLabels.safeParse({ app: "bot", "example.com/team": "research-1" }).success).toBe(true);
  });

  it("refuse keys and values Kubernetes would refuse", () => {
    expect(MatchLabels.safeParse({ "Not A Key": "x" }).success).toBe(false);
    expect(MatchLabels.safeParse({ app: "-leading-dash" }).success).toBe(false);
    expect(MatchLabels.safeParse({ [`example.com/${"a".repeat(64)}`]: "x" }).success).toBe(false);
  });

  it("refuse more than 64 entries", () => {
    const labels = Object.fromEntries(Array.from({ length: 65 }, (_, index) => [`key${index}`, "v"]));
    expect(MatchLabels.safeParse(labels).success).toBe(false);
  });
});

describe("Toleration", () => {
  it("accepts the tolerations a pod accepts", () => {
    expect(Toleration.safeParse({ key: "dedicated", value: "trading", effect: "NoSchedule" }).success).toBe(
      true,
    );
    expect(Toleration.safeParse({ operator: "Exists" }).success).toBe(true);
    expect(
      Toleration.safeParse({
        key: "node.kubernetes.io/unreachable",
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: 60,
      }).success,
    ).toBe(true);
  });

  it("refuses the tolerations the API server would refuse on the pod", () => {
    expect(Toleration.safeParse({ value: "x" }).success).toBe(false);
    expect(Toleration.safeParse({ key: "k", operator: "Exists", value: "x" }).success).toBe(false);
    expect(Toleration.safeParse({ key: "k", effect: "NoSchedule", tolerationSeconds: 5 }).success).toBe(
      false,
    );
  });
});
