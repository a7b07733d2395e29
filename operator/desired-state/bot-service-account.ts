import type { ServiceAccount } from "../kube/types.ts";
import { serviceAccountNameFor } from "../names.ts";
import { type BotIdentity, ownedMetadata } from "./bot-identity.ts";

/** The bot's own identity: no RBAC is ever bound to it, and no token is mounted from it. */
export function buildBotServiceAccount(bot: BotIdentity): ServiceAccount {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: ownedMetadata(bot, serviceAccountNameFor(bot.name)),
    automountServiceAccountToken: false,
  };
}
