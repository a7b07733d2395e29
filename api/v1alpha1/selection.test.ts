import { describe, expect, it } from "vitest";
import { killSwitchSelects, readBotKillSwitch, readKillSwitch, selectorMatches } from "./selection.ts";

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
      matchExpressions: [{ key: "tier", operator: "In" as const, values: ["silver"] }],
    };
    expect(selectorMatches(selector, labels)).toBe(false);
  });
});

const bots = {
  research: { namespace: "trading", labels: { team: "research" } },
  ops: { namespace: "trading", labels: { team: "ops" } },
  elsewhere: { namespace: "lab", labels: { team: "research" } },
};

describe("readKillSwitch: a KillSwitch as a halt reads it", () => {
  it("reads a valid switch as its schema says, with no problems", () => {
    const view = readKillSwitch("fleet", {
      engaged: true,
      reason: "incident",
      namespaces: ["trading"],
      selector: { matchLabels: { team: "research" } },
    });
    expect(view).toEqual({
      name: "fleet",
      engaged: true,
      reason: "incident",
      namespaces: ["trading"],
      selector: { matchLabels: { team: "research" } },
      problems: [],
    });
    expect(killSwitchSelects(view, bots.research)).toBe(true);
    expect(killSwitchSelects(view, bots.ops)).toBe(false);
    expect(killSwitchSelects(view, bots.elsewhere)).toBe(false);
  });

  it("ignores fields it does not know, so a switch from a newer schema still halts", () => {
    const view = readKillSwitch("fleet", { engaged: true, namespaces: ["trading"], schedule: "always" });
    expect(view.engaged).toBe(true);
    expect(view.problems).toEqual([]);
    expect(killSwitchSelects(view, bots.ops)).toBe(true);
  });

  it("takes a selector it cannot read as selecting every bot of its namespaces, and says so", () => {
    const view = readKillSwitch("fleet", {
      engaged: true,
      namespaces: ["trading"],
      selector: { matchExpressions: [{ key: "tier", operator: "Gt", values: ["1"] }] },
    });
    expect(view.selector).toBe("unreadable");
    expect(killSwitchSelects(view, bots.research)).toBe(true);
    expect(killSwitchSelects(view, bots.ops)).toBe(true);
    expect(killSwitchSelects(view, bots.elsewhere)).toBe(false);
    expect(view.problems).toEqual([expect.stringContaining("spec.selector.matchExpressions.0.operator")]);
  });

  it("takes a namespace list it cannot read as every namespace", () => {
    const view = readKillSwitch("fleet", { engaged: true, namespaces: "trading" });
    expect(view.namespaces).toBe("all");
    expect(killSwitchSelects(view, bots.elsewhere)).toBe(true);
    expect(view.problems).toHaveLength(1);
  });

  it("takes an engaged field it cannot read, or no spec at all, as engaged", () => {
    expect(readKillSwitch("fleet", { engaged: "yes" }).engaged).toBe(true);
    const nothing = readKillSwitch("fleet", undefined);
    expect(nothing).toMatchObject({ engaged: true, namespaces: "all" });
    expect(killSwitchSelects(nothing, bots.elsewhere)).toBe(true);
  });

  it("reads a disengaged switch as disengaged", () => {
    expect(readKillSwitch("fleet", { engaged: false }).engaged).toBe(false);
  });
});

describe("readBotKillSwitch: a bot's spec.killSwitch as a halt reads it", () => {
  it("applies the schema's defaults to an absent block", () => {
    expect(readBotKillSwitch(undefined)).toEqual({
      killSwitch: { engaged: false, onEngage: "CancelOrders" },
      problems: [],
    });
  });

  it("keeps what it can read and ignores unknown fields", () => {
    const read = readBotKillSwitch({
      engaged: true,
      reason: "manual",
      onEngage: "Freeze",
      acknowledgeHalt: "risk-1",
      approvedBy: "someone",
    });
    expect(read).toEqual({
      killSwitch: { engaged: true, reason: "manual", onEngage: "Freeze", acknowledgeHalt: "risk-1" },
      problems: [],
    });
  });

  it("takes an engaged field it cannot read as engaged, and an onEngage it cannot read as CancelOrders", () => {
    const read = readBotKillSwitch({ engaged: "true", onEngage: "Liquidate" });
    expect(read.killSwitch).toMatchObject({ engaged: true, onEngage: "CancelOrders" });
    expect(read.problems).toHaveLength(2);
  });
});
