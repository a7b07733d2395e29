import { describe, expect, it } from "vitest";
import { computeKillSwitchStatus, type KillSwitchStatusInput } from "./status.ts";

const T0 = "2026-03-01T12:00:00Z";
const T1 = "2026-03-01T12:10:00Z";
const bots = [
  { namespace: "team-a", labels: { desk: "x" }, halted: true },
  { namespace: "team-a", labels: { desk: "y" }, halted: false },
  { namespace: "team-b", labels: { desk: "x" }, halted: true },
  { namespace: "other", labels: { desk: "x" }, halted: false },
];

function input(overrides: Partial<KillSwitchStatusInput> = {}): KillSwitchStatusInput {
  return {
    current: undefined,
    generation: 2,
    view: { name: "fleet", spec: { engaged: true, namespaces: ["team-a", "team-b"] } },
    issues: undefined,
    bots,
    now: T0,
    ...overrides,
  };
}

describe("computeKillSwitchStatus", () => {
  it("counts the bots it selects and those of them that are halted", () => {
    expect(computeKillSwitchStatus(input())).toMatchObject({
      matchedBots: 3,
      haltedBots: 2,
      engagedSince: T0,
      observedGeneration: 2,
    });
  });

  it("applies its label selector", () => {
    const view = {
      name: "fleet",
      spec: { engaged: true, namespaces: [], selector: { matchLabels: { desk: "x" } } },
    };
    expect(computeKillSwitchStatus(input({ view }))).toMatchObject({ matchedBots: 3, haltedBots: 2 });
  });

  it("keeps engagedSince while engaged and drops it when released", () => {
    const first = computeKillSwitchStatus(input());
    expect(computeKillSwitchStatus(input({ current: first, now: T1 })).engagedSince).toBe(T0);
    const released = computeKillSwitchStatus(
      input({ current: first, now: T1, view: { name: "fleet", spec: { engaged: false, namespaces: [] } } }),
    );
    expect(released.engagedSince).toBeUndefined();
    expect(released.conditions?.[0]).toMatchObject({ reason: "Disengaged", lastTransitionTime: T0 });
  });

  it("reports an invalid spec and selects nothing", () => {
    const status = computeKillSwitchStatus(input({ view: undefined, issues: "spec.engaged: Required" }));
    expect(status).toMatchObject({ matchedBots: 0, haltedBots: 0 });
    expect(status.conditions?.[0]).toMatchObject({ status: "False", reason: "InvalidSpec" });
  });
});
