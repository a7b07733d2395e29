import { describe, expect, it } from "vitest";
import {
  buildHaltWatchClusterRoleBinding,
  buildHaltWatchRole,
  buildHaltWatchRoleBinding,
  HALT_WATCH_CLUSTER_RULES,
} from "./bot-halt-watch-access.ts";

const bot = { name: "grid-btc-paper", namespace: "trading", uid: "5f0c6a51-1111-4e2b-9c1e-000000000001" };

// biome-ignore lint/suspicious/noExplicitAny: the test walks the built objects as plain JSON
type AnyRecord = Record<string, any>;

describe("the halt watch's access", () => {
  it("reads the bot's own TradingBot, by name, and nothing else in its namespace", () => {
    const role = buildHaltWatchRole(bot);
    expect(role.metadata).toMatchObject({ name: "grid-btc-paper-halt-watch", namespace: "trading" });
    expect(role.metadata.ownerReferences?.[0]).toMatchObject({ uid: bot.uid, controller: true });
    expect(role.rules).toEqual([
      {
        apiGroups: ["trading.botops.dev"],
        resources: ["tradingbots"],
        resourceNames: ["grid-btc-paper"],
        verbs: ["get", "list", "watch"],
      },
    ]);
  });

  it("binds that Role, and the KillSwitch ClusterRole, to the bot's ServiceAccount only", () => {
    const subject = { kind: "ServiceAccount", name: "grid-btc-paper-runtime", namespace: "trading" };
    const binding = buildHaltWatchRoleBinding(bot) as AnyRecord;
    expect(binding.roleRef).toEqual({
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: "grid-btc-paper-halt-watch",
    });
    expect(binding.subjects).toEqual([subject]);
    const cluster = buildHaltWatchClusterRoleBinding(bot, "tradingbot-operator-halt-watch") as AnyRecord;
    expect(cluster.metadata.name).toBe("trading.botops.dev:halt-watch:trading:grid-btc-paper");
    expect(cluster.metadata.labels["trading.botops.dev/bot-uid"]).toBe(bot.uid);
    expect(cluster.metadata.ownerReferences).toBeUndefined();
    expect(cluster.roleRef.name).toBe("tradingbot-operator-halt-watch");
    expect(cluster.subjects).toEqual([subject]);
  });

  it("lets the ClusterRole list and watch KillSwitches, and nothing else", () => {
    expect(HALT_WATCH_CLUSTER_RULES).toEqual([
      { apiGroups: ["trading.botops.dev"], resources: ["killswitches"], verbs: ["list", "watch"] },
    ]);
  });
});
