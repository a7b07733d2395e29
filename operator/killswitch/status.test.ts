import { describe, expect, it } from "vitest";
import { type KillSwitchView, readKillSwitch } from "../../api/v1alpha1/index.ts";
import { type CountedBot, computeKillSwitchStatus, type KillSwitchStatusInput } from "./status.ts";

const T0 = "2026-03-01T12:00:00Z";
const T1 = "2026-03-01T12:10:00Z";
const bots: CountedBot[] = [
  { namespace: "team-a", labels: { desk: "x" }, haltRecorded: true, hasPod: false },
  { namespace: "team-a", labels: { desk: "y" }, haltRecorded: false, hasPod: true },
  { namespace: "team-b", labels: { desk: "x" }, haltRecorded: true, hasPod: false },
  { namespace: "other", labels: { desk: "x" }, haltRecorded: false, hasPod: true },
];

const view = (spec: Record<string, unknown>): KillSwitchView => readKillSwitch("fleet", spec);

function input(overrides: Partial<KillSwitchStatusInput> = {}): KillSwitchStatusInput {
  return {
    current: undefined,
    generation: 2,
    view: view({ engaged: true, namespaces: ["team-a", "team-b"] }),
    bots,
    now: T0,
    ...overrides,
  };
}

const ready = (status: ReturnType<typeof computeKillSwitchStatus>) => status.conditions?.[0];

describe("computeKillSwitchStatus", () => {
  it("counts the bots it selects, those halted and those still stopping", () => {
    const status = computeKillSwitchStatus(input());
    expect(status).toMatchObject({
      matchedBots: 3,
      haltedBots: 2,
      stoppingBots: 1,
      engagedSince: T0,
      observedGeneration: 2,
    });
    expect(ready(status)).toMatchObject({ status: "False", reason: "Halting" });
  });

  it("is Ready only when every selected bot's halt is on record and none has a pod left", () => {
    const recordedWithPod = bots.map((bot) => ({ ...bot, haltRecorded: true }));
    const stillStopping = computeKillSwitchStatus(input({ bots: recordedWithPod }));
    expect(stillStopping).toMatchObject({ haltedBots: 2, stoppingBots: 1 });
    expect(ready(stillStopping)?.status).toBe("False");

    const allGone = bots.map((bot) => ({ ...bot, haltRecorded: true, hasPod: false }));
    const done = computeKillSwitchStatus(input({ bots: allGone }));
    expect(done).toMatchObject({ matchedBots: 3, haltedBots: 3, stoppingBots: 0 });
    expect(ready(done)).toMatchObject({ status: "True", reason: "Engaged" });
  });

  it("applies its label selector", () => {
    const status = computeKillSwitchStatus(
      input({ view: view({ engaged: true, selector: { matchLabels: { desk: "x" } } }) }),
    );
    expect(status).toMatchObject({ matchedBots: 3, haltedBots: 2, stoppingBots: 1 });
  });

  it("keeps engagedSince while engaged and drops it when released", () => {
    const first = computeKillSwitchStatus(input());
    expect(computeKillSwitchStatus(input({ current: first, now: T1 })).engagedSince).toBe(T0);
    const released = computeKillSwitchStatus(
      input({ current: first, now: T1, view: view({ engaged: false }) }),
    );
    expect(released.engagedSince).toBeUndefined();
    expect(released.stoppingBots).toBe(0);
    expect(ready(released)).toMatchObject({ status: "True", reason: "Disengaged", lastTransitionTime: T1 });
  });

  it("says why when part of the spec cannot be read, and counts every bot it could select", () => {
    const status = computeKillSwitchStatus(
      input({
        view: view({
          engaged: true,
          namespaces: ["team-a"],
          selector: { matchExpressions: [{ key: "desk", operator: "Gt", values: ["1"] }] },
        }),
      }),
    );
    expect(status).toMatchObject({ matchedBots: 2, haltedBots: 1, stoppingBots: 1 });
    expect(ready(status)).toMatchObject({ status: "False", reason: "SpecUnreadable" });
    expect(ready(status)?.message).toContain("spec.selector.matchExpressions.0.operator");
  });
});
