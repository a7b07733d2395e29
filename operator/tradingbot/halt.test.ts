import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type BotKillSwitch,
  type HaltStatus,
  type KillSwitchView,
  killSwitchSelects,
  readKillSwitch,
} from "../../api/v1alpha1/index.ts";
import { type BotTermination, decideHalt, type HaltInput } from "./halt.ts";

const NOW = "2026-03-01T12:00:00Z";
const EARLIER = "2026-03-01T11:00:00Z";
const bot = { namespace: "trading", labels: { team: "research" } };
const idle: BotKillSwitch = { engaged: false, onEngage: "CancelOrders" };

function input(overrides: Partial<HaltInput> = {}): HaltInput {
  return {
    bot,
    killSwitch: idle,
    current: undefined,
    killSwitches: [],
    termination: undefined,
    now: NOW,
    ...overrides,
  };
}

function killSwitch(name: string, spec: Record<string, unknown> = {}): KillSwitchView {
  return readKillSwitch(name, { engaged: true, ...spec });
}

const riskMessage = JSON.stringify({
  reason: "RiskLimitBreached",
  haltId: "h-7f3a",
  limit: "maxDailyLossQuote",
  value: "-55.20",
  threshold: "50",
  at: "2026-03-01T11:59:58Z",
});
const riskExit: BotTermination = { podUid: "0a1b2c3d-uid", exitCode: 3, message: riskMessage };
const latched: HaltStatus = {
  engaged: true,
  source: "Risk",
  reason: "RiskLimitBreached: maxDailyLossQuote",
  since: EARLIER,
  id: "h-7f3a",
  requiresAck: true,
};

function haltedExit(noticedBy: "watch" | "signal"): BotTermination {
  const message = { reason: "Halted", source: "Spec", noticedBy, at: "2026-03-01T11:59:59Z" };
  return { podUid: "0a1b2c3d-uid", exitCode: 0, message: JSON.stringify(message) };
}

describe("which path stopped trading first", () => {
  const engaged = { ...idle, engaged: true };

  it("is the runtime when its own watch saw the halt, the operator when the deletion came first", () => {
    expect(decideHalt(input({ killSwitch: engaged, termination: haltedExit("watch") })).halt.stoppedBy).toBe(
      "Runtime",
    );
    expect(decideHalt(input({ killSwitch: engaged, termination: haltedExit("signal") })).halt.stoppedBy).toBe(
      "Operator",
    );
  });

  it("is unknown until the runtime has ended, and kept once its pod is gone", () => {
    expect(decideHalt(input({ killSwitch: engaged })).halt.stoppedBy).toBeUndefined();
    const current: HaltStatus = { engaged: true, source: "Spec", since: EARLIER, stoppedBy: "Runtime" };
    expect(decideHalt(input({ killSwitch: engaged, current })).halt.stoppedBy).toBe("Runtime");
  });

  it("ignores an exit that is not a halt's", () => {
    const crashed = { podUid: "0a1b2c3d-uid", exitCode: 0, message: "bye" };
    expect(decideHalt(input({ killSwitch: engaged, termination: crashed })).halt.stoppedBy).toBeUndefined();
  });
});

describe("decideHalt", () => {
  it("does not halt a bot nothing holds", () => {
    const decision = decideHalt(input());
    expect(decision.halted).toBe(false);
    expect(decision.halt).toEqual({ engaged: false });
  });

  it("halts on the bot's own kill switch, with source Spec and its reason", () => {
    const decision = decideHalt(input({ killSwitch: { ...idle, engaged: true, reason: "test" } }));
    expect(decision.halted).toBe(true);
    expect(decision.halt).toEqual({ engaged: true, source: "Spec", reason: "test", since: NOW });
  });

  it("halts on an engaged KillSwitch that selects the bot, with its name and reason", () => {
    const decision = decideHalt(
      input({ killSwitches: [killSwitch("fleet", { reason: "exchange incident" })] }),
    );
    expect(decision.halt).toMatchObject({
      engaged: true,
      source: "KillSwitch/fleet",
      reason: "exchange incident",
    });
  });

  it("ignores KillSwitches that are disengaged or select other namespaces or labels", () => {
    const decision = decideHalt(
      input({
        killSwitches: [
          killSwitch("off", { engaged: false }),
          killSwitch("elsewhere", { namespaces: ["other"] }),
          killSwitch("other-team", { selector: { matchLabels: { team: "ops" } } }),
        ],
      }),
    );
    expect(decision.halted).toBe(false);
  });

  it("keeps the start of a halt while the halt goes on, even when its source changes", () => {
    const current: HaltStatus = { engaged: true, source: "Spec", reason: "test", since: EARLIER };
    const decision = decideHalt(input({ current, killSwitches: [killSwitch("fleet")] }));
    expect(decision.halt).toMatchObject({ source: "KillSwitch/fleet", since: EARLIER });
  });

  it("lists the other sources holding the bot in the message", () => {
    const decision = decideHalt(
      input({ killSwitch: { ...idle, engaged: true }, killSwitches: [killSwitch("b"), killSwitch("a")] }),
    );
    expect(decision.sources.map((s) => s.source)).toEqual(["Spec", "KillSwitch/a", "KillSwitch/b"]);
    expect(decision.halt.message).toBe("Also halted by KillSwitch/a, KillSwitch/b.");
  });

  it("latches a risk halt from the termination message, with its id and requiresAck", () => {
    const decision = decideHalt(input({ termination: riskExit }));
    expect(decision.halted).toBe(true);
    expect(decision.newRiskLatch?.id).toBe("h-7f3a");
    expect(decision.halt).toMatchObject({
      engaged: true,
      source: "Risk",
      id: "h-7f3a",
      requiresAck: true,
      since: NOW,
    });
    expect(decision.halt.reason).toContain("maxDailyLossQuote");
    expect(decision.halt.message).toContain('set spec.killSwitch.acknowledgeHalt to "h-7f3a"');
  });

  it("latches an exit code 3 whose message cannot be read, under an id derived from the pod", () => {
    const decision = decideHalt(
      input({ termination: { podUid: "0a1b2c3d-uid", exitCode: 3, message: "oops" } }),
    );
    expect(decision.halt).toMatchObject({ source: "Risk", id: "pod-0a1b2c3d", requiresAck: true });
  });

  it("does not treat other exit codes as risk halts", () => {
    for (const exitCode of [0, 1, 2, 4, 137]) {
      expect(decideHalt(input({ termination: { podUid: "u", exitCode, message: riskMessage } })).halted).toBe(
        false,
      );
    }
  });

  it("stays latched once the pod is gone, until acknowledged", () => {
    const decision = decideHalt(input({ current: latched }));
    expect(decision.halted).toBe(true);
    expect(decision.newRiskLatch).toBeUndefined();
    expect(decision.halt).toMatchObject({ source: "Risk", id: "h-7f3a", requiresAck: true, since: EARLIER });
  });

  it("refuses a wrong acknowledgement with a message that names both ids", () => {
    const decision = decideHalt(
      input({ current: latched, killSwitch: { ...idle, acknowledgeHalt: "h-0000" } }),
    );
    expect(decision.halted).toBe(true);
    expect(decision.refusedAcknowledgement).toBe("h-0000");
    expect(decision.halt.message).toBe(
      'Acknowledgement refused: spec.killSwitch.acknowledgeHalt is "h-0000" but the latched halt\'s id is "h-7f3a"; set it to "h-7f3a" to release the halt.',
    );
  });

  it("releases the latch when acknowledgeHalt equals the halt's id", () => {
    const decision = decideHalt(
      input({ current: latched, killSwitch: { ...idle, acknowledgeHalt: "h-7f3a" } }),
    );
    expect(decision.halted).toBe(false);
    expect(decision.acknowledged).toBe("h-7f3a");
    expect(decision.halt).toEqual({ engaged: false });
  });

  it("does not re-latch from the old pod's message once that halt is acknowledged", () => {
    const decision = decideHalt(
      input({
        current: { engaged: false },
        termination: riskExit,
        killSwitch: { ...idle, acknowledgeHalt: "h-7f3a" },
      }),
    );
    expect(decision.halted).toBe(false);
  });

  it("keeps a bot released from its latch halted while another source holds it", () => {
    const decision = decideHalt(
      input({ current: latched, killSwitch: { ...idle, engaged: true, acknowledgeHalt: "h-7f3a" } }),
    );
    expect(decision.halted).toBe(true);
    expect(decision.halt).toMatchObject({ source: "Spec" });
    expect(decision.halt.requiresAck).toBeUndefined();
  });

  it("names who engaged the halt from the admission stamp of its source: the bot's or the KillSwitch's", () => {
    const own = decideHalt(
      input({ killSwitch: { ...idle, engaged: true }, killSwitchChangedBy: "alice@desk" }),
    );
    expect(own.halt).toMatchObject({ source: "Spec", by: "alice@desk" });
    const fleet = decideHalt(
      input({
        killSwitchChangedBy: "alice@desk",
        killSwitches: [{ ...killSwitch("fleet"), changedBy: "oncall" }],
      }),
    );
    expect(fleet.halt).toMatchObject({ source: "KillSwitch/fleet", by: "oncall" });
    const unstamped = decideHalt(input({ killSwitch: { ...idle, engaged: true } }));
    expect(unstamped.halt).not.toHaveProperty("by");
  });

  it("names who released the source that held the bot, and nobody for a risk latch", () => {
    const bySpec: HaltStatus = { engaged: true, source: "Spec", reason: "test", since: EARLIER };
    expect(decideHalt(input({ current: bySpec, killSwitchChangedBy: "bob" })).releasedBy).toBe("bob");
    const bySwitch: HaltStatus = { engaged: true, source: "KillSwitch/fleet", since: EARLIER };
    const released = { ...killSwitch("fleet", { engaged: false }), changedBy: "oncall" };
    expect(decideHalt(input({ current: bySwitch, killSwitches: [released] })).releasedBy).toBe("oncall");
    const acknowledged = decideHalt(
      input({
        current: latched,
        killSwitch: { ...idle, acknowledgeHalt: "h-7f3a" },
        killSwitchChangedBy: "bob",
      }),
    );
    expect(acknowledged.halted).toBe(false);
    expect(acknowledged.releasedBy).toBeUndefined();
  });

  it("keeps the latch reported first even while the bot's own switch is engaged too", () => {
    const decision = decideHalt(input({ current: latched, killSwitch: { ...idle, engaged: true } }));
    expect(decision.halt).toMatchObject({ source: "Risk", id: "h-7f3a" });
    expect(decision.halt.message).toContain("Also halted by Spec.");
  });
});

describe("decideHalt, for any combination of sources", () => {
  const labelValue = fc.constantFrom("research", "ops", "gold");
  const arbitraryBot = fc.record({
    namespace: fc.constantFrom("trading", "team-a", "team-b"),
    labels: fc.dictionary(fc.constantFrom("team", "tier"), labelValue),
  });
  const arbitrarySwitch = fc
    .record({
      name: fc.constantFrom("a", "b", "c", "fleet"),
      spec: fc.record({
        engaged: fc.boolean(),
        reason: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
        namespaces: fc.subarray(["trading", "team-a", "team-b"]),
        selector: fc.option(
          fc.record({
            matchLabels: fc.dictionary(fc.constantFrom("team", "tier"), labelValue, { maxKeys: 1 }),
          }),
          { nil: undefined },
        ),
      }),
    })
    .map(({ name, spec }) => readKillSwitch(name, spec));

  const arbitraryKillSwitch = fc.record({
    engaged: fc.boolean(),
    reason: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    onEngage: fc.constant("CancelOrders" as const),
    acknowledgeHalt: fc.option(fc.constantFrom("h-7f3a", "h-0000", ""), { nil: undefined }),
  });
  const arbitraryCurrent = fc.option(fc.constantFrom<HaltStatus>(latched, { engaged: false }), {
    nil: undefined,
  });

  it("halts a bot whenever an engaged KillSwitch selects it", () => {
    fc.assert(
      fc.property(
        arbitraryBot,
        fc.array(arbitrarySwitch, { maxLength: 4 }),
        arbitraryKillSwitch,
        arbitraryCurrent,
        (b, switches, own, current) => {
          const decision = decideHalt(input({ bot: b, killSwitches: switches, killSwitch: own, current }));
          if (switches.some((s) => s.engaged && killSwitchSelects(s, b))) expect(decision.halted).toBe(true);
        },
      ),
    );
  });

  it("halts exactly when the bot's switch is engaged, a selecting KillSwitch is engaged, or an unacknowledged latch holds", () => {
    fc.assert(
      fc.property(
        arbitraryBot,
        fc.array(arbitrarySwitch, { maxLength: 4 }),
        arbitraryKillSwitch,
        arbitraryCurrent,
        (b, switches, own, current) => {
          const decision = decideHalt(input({ bot: b, killSwitches: switches, killSwitch: own, current }));
          const latchHolds = current?.source === "Risk" && own.acknowledgeHalt !== current.id;
          const expected =
            own.engaged || latchHolds || switches.some((s) => s.engaged && killSwitchSelects(s, b));
          expect(decision.halted).toBe(expected);
          expect(decision.halt.engaged).toBe(expected);
          if (expected) expect(decision.halt.source).toBe(decision.sources[0]?.source);
        },
      ),
    );
  });

  it("never releases a latch for any acknowledgement but its id", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 64 }), (acknowledgement) => {
        fc.pre(acknowledgement !== "h-7f3a");
        const decision = decideHalt(
          input({ current: latched, killSwitch: { ...idle, acknowledgeHalt: acknowledgement } }),
        );
        expect(decision.halt).toMatchObject({
          engaged: true,
          source: "Risk",
          id: "h-7f3a",
          requiresAck: true,
        });
      }),
    );
  });
});
