import { describe, expect, it } from "vitest";
import { buildBotServiceAccount } from "./bot-service-account.ts";

describe("buildBotServiceAccount", () => {
  const bot = { name: "grid-btc-paper", namespace: "trading", uid: "uid-1" };

  it("never automounts its token", () => {
    expect(buildBotServiceAccount(bot).automountServiceAccountToken).toBe(false);
  });

  it("is named after the bot, labelled and owned by it", () => {
    const account = buildBotServiceAccount(bot);
    expect(account.metadata.name).toBe("grid-btc-paper-runtime");
    expect(account.metadata.labels?.["trading.botops.dev/bot"]).toBe("grid-btc-paper");
    expect(account.metadata.ownerReferences).toEqual([
      {
        apiVersion: "trading.botops.dev/v1alpha1",
        kind: "TradingBot",
        name: "grid-btc-paper",
        uid: "uid-1",
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });
});
