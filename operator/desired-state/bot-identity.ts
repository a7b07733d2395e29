import { API_VERSION, TRADING_BOT } from "../../api/v1alpha1/index.ts";
import type { ObjectMeta, OwnerReference } from "../kube/types.ts";
import { botLabels } from "../names.ts";

/** What the builders need to know about the TradingBot an object belongs to. */
export interface BotIdentity {
  name: string;
  namespace: string;
  uid: string;
}

/** The TradingBot as the controlling owner: garbage collection removes the object with its bot. */
export function botOwnerReference(bot: BotIdentity): OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: TRADING_BOT.kind,
    name: bot.name,
    uid: bot.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Name, namespace, labels and owner reference shared by everything owned for a bot. */
export function ownedMetadata(bot: BotIdentity, name: string): ObjectMeta {
  return {
    name,
    namespace: bot.namespace,
    labels: botLabels(bot.name),
    ownerReferences: [botOwnerReference(bot)],
  };
}
