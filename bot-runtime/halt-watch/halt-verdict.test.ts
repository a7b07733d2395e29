import { describe, expect, it } from "vitest";
import { haltVerdict, type WatchedObject } from "./halt-verdict.ts";

const STAMP = "trading.botops.dev/kill-switch-changed-by";

function bot(
  killSwitch: unknown,
  labels: Record<string, string> = { team: "alpha" },
  by?: string,
): WatchedObject {
  return {
    metadata: { name: "grid", namespace: "trading", labels, ...(by ? { annotations: { [STAMP]: by } } : {}) },
    spec: { killSwitch },
  };
}

function killSwitch(name: string, spec: unknown, by?: string): WatchedObject {
  return { metadata: { name, ...(by ? { annotations: { [STAMP]: by } } : {}) }, spec };
}

const view = (b: WatchedObject | undefined, switches: WatchedObject[] = []) => ({
  namespace: "trading",
  bot: b,
  killSwitches: switches,
  configuredOnEngage: "CancelOrders" as const,
});

describe("haltVerdict (what the runtime's own watch decides)", () => {
  it("keeps trading when nothing holds the bot", () => {
    expect(
      haltVerdict(view(bot({ engaged: false }), [killSwitch("other", { engaged: true, namespaces: ["x"] })])),
    ).toEqual({
      halted: false,
    });
  });

  it("halts on the bot's own switch, with who engaged it and its onEngage as it reads now", () => {
    expect(
      haltVerdict(view(bot({ engaged: true, reason: "desk", onEngage: "Flatten" }, {}, "alice"))),
    ).toEqual({
      halted: true,
      source: "Spec",
      reason: "desk",
      by: "alice",
      onEngage: "Flatten",
    });
  });

  it("halts on an engaged KillSwitch that selects it, and not on one that does not", () => {
    const selecting = killSwitch(
      "fleet",
      { engaged: true, selector: { matchLabels: { team: "alpha" } } },
      "bob",
    );
    const other = killSwitch("beta", { engaged: true, selector: { matchLabels: { team: "beta" } } });
    expect(haltVerdict(view(bot({ engaged: false }), [other, selecting]))).toMatchObject({
      halted: true,
      source: "KillSwitch/fleet",
      by: "bob",
    });
    expect(haltVerdict(view(bot({ engaged: false }), [other]))).toEqual({ halted: false });
  });

  it("fails closed: an unreadable engaged or selection halts", () => {
    expect(haltVerdict(view(bot({ engaged: "yes" })))).toMatchObject({ halted: true, source: "Spec" });
    expect(
      haltVerdict(
        view(bot({ engaged: false }), [killSwitch("odd", { engaged: true, selector: { matchLabels: 7 } })]),
      ),
    ).toMatchObject({ halted: true, source: "KillSwitch/odd" });
  });

  it("stops when its TradingBot is gone or being deleted, with the configured onStop", () => {
    expect(haltVerdict(view(undefined))).toMatchObject({
      halted: true,
      source: "Deleted",
      onEngage: "CancelOrders",
    });
    const deleting = bot({ engaged: false });
    deleting.metadata.deletionTimestamp = "2026-12-07T10:00:00Z";
    expect(haltVerdict(view(deleting))).toMatchObject({ halted: true, source: "Deleted" });
  });
});
