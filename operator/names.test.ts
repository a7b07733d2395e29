import { describe, expect, it } from "vitest";
import { botLabels, derivedName, podNameFor } from "./names.ts";

describe("derivedName", () => {
  it("appends the suffix to short names", () => {
    expect(podNameFor("grid-btc")).toBe("grid-btc-runtime");
  });

  it("cuts long names to 63 characters with a hash that keeps them distinct and stable", () => {
    const long = `bot-${"x".repeat(80)}`;
    const other = `bot-${"x".repeat(79)}y`;
    const name = derivedName(long, "runtime");
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^bot-x+-[0-9a-f]{8}-runtime$/);
    expect(derivedName(long, "runtime")).toBe(name);
    expect(derivedName(other, "runtime")).not.toBe(name);
  });

  it("never leaves a dash or dot where the cut falls", () => {
    const name = derivedName(`${"a".repeat(45)}.-----${"b".repeat(20)}`, "config");
    expect(name).not.toMatch(/[-.]-[0-9a-f]{8}/);
  });
});

describe("botLabels", () => {
  it("label a long bot name by a value of at most 63 characters", () => {
    const labels = botLabels("z".repeat(100));
    expect(labels["trading.botops.dev/bot"]?.length).toBeLessThanOrEqual(63);
    expect(labels["app.kubernetes.io/managed-by"]).toBe("tradingbot-operator");
  });
});
