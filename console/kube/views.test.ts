import { describe, expect, it } from "vitest";
import { consoleRbac } from "../rbac.ts";
import { botSummary, killSwitchScopeText } from "./views.ts";

describe("what the browser is shown", () => {
  it("summarizes a bot from its spec and status, without its secrets' names or endpoint", () => {
    const summary = botSummary({
      metadata: { name: "grid", namespace: "desk" },
      spec: {
        exchange: { mode: "paper", credentialsSecretRef: { name: "keys" }, endpoint: "http://sim" },
        symbol: "BTC/USDT",
        strategy: { type: "grid" },
      } as never,
      status: {
        phase: "Halted",
        halt: {
          engaged: true,
          source: "Spec",
          reason: "drill",
          by: "hal",
          id: "h1",
          requiresAck: false,
          message: "x",
        },
        runtime: { openOrders: 0, position: "0.5", realizedPnl: "-1.25", heartbeat: "2030-01-01T00:00:00Z" },
        conditions: [
          {
            type: "Halted",
            status: "True",
            reason: "Spec",
            message: "m",
            lastTransitionTime: "2030-01-01T00:00:00Z",
          },
        ],
      } as never,
    });
    expect(summary).toEqual({
      namespace: "desk",
      name: "grid",
      mode: "paper",
      symbol: "BTC/USDT",
      strategy: "grid",
      phase: "Halted",
      halt: { engaged: true, source: "Spec", reason: "drill", by: "hal", id: "h1", requiresAck: false },
      openOrders: 0,
      position: "0.5",
      realizedPnl: "-1.25",
      heartbeat: "2030-01-01T00:00:00Z",
      conditions: [{ type: "Halted", status: "True", reason: "Spec", message: "m" }],
    });
    expect(JSON.stringify(summary)).not.toContain("keys");
    expect(botSummary({ metadata: { name: "new", namespace: "desk" } })).toMatchObject({
      phase: "Pending",
      halt: null,
    });
  });

  it("spells a KillSwitch's scope as a person types it back", () => {
    expect(killSwitchScopeText(["a", "b"])).toBe("a,b");
    expect(killSwitchScopeText([], { desk: "x", tier: "1" })).toBe("desk=x,tier=1");
    expect(killSwitchScopeText(["a"], { desk: "x" })).toBe("a desk=x");
    expect(killSwitchScopeText()).toBe("all");
  });
});

describe("the console's own RBAC", () => {
  it("grants reads and impersonation of the named people only, and no impersonation rule for an empty list", () => {
    const [, role] = consoleRbac({
      name: "c",
      namespace: "ns",
      serviceAccount: "sa",
      users: ["hal"],
      groups: [],
    });
    const rules = (
      role as unknown as { rules: { verbs: string[]; resources: string[]; resourceNames?: string[] }[] }
    ).rules;
    expect(rules.filter((r) => r.verbs.includes("impersonate"))).toEqual([
      { apiGroups: [""], resources: ["users"], verbs: ["impersonate"], resourceNames: ["hal"] },
    ]);
    expect(
      rules.flatMap((r) => r.verbs).filter((v) => !["get", "list", "watch", "impersonate"].includes(v)),
    ).toEqual([]);
  });
});
