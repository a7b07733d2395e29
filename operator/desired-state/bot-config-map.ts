import {
  RUNTIME_CONFIG_KEY,
  RUNTIME_CONFIG_SCHEMA_VERSION,
  RuntimeConfig,
  type TradingBotSpec,
  unsupervisedHaltSeconds,
} from "../../api/v1alpha1/index.ts";
import type { ConfigMap } from "../kube/types.ts";
import { configMapNameFor, shortHash } from "../names.ts";
import { type BotIdentity, ownedMetadata } from "./bot-identity.ts";

/** The runtime's configuration, rendered from the spec. It holds no credentials: those are files. */
export function renderRuntimeConfig(bot: BotIdentity, spec: TradingBotSpec): RuntimeConfig {
  return RuntimeConfig.parse({
    schemaVersion: RUNTIME_CONFIG_SCHEMA_VERSION,
    bot: { namespace: bot.namespace, name: bot.name, uid: bot.uid },
    exchange: { name: spec.exchange.name, mode: spec.exchange.mode, endpoint: spec.exchange.endpoint },
    symbol: spec.symbol,
    strategy: spec.strategy,
    risk: spec.risk,
    onStop: spec.killSwitch.onEngage,
    acknowledgedHalt: spec.killSwitch.acknowledgeHalt || undefined,
    haltIfUnsupervisedForSeconds:
      spec.killSwitch.haltIfUnsupervisedFor === undefined
        ? undefined
        : unsupervisedHaltSeconds(spec.killSwitch.haltIfUnsupervisedFor),
    store: {
      retentionDays: spec.database.retentionDays,
      auditRetentionDays: spec.database.auditRetentionDays,
    },
  });
}

export interface RenderedConfig {
  json: string;
  /** Changes exactly when the runtime would see a different configuration (restarts the pod). */
  hash: string;
}

export function renderConfigDocument(bot: BotIdentity, spec: TradingBotSpec): RenderedConfig {
  const json = `${JSON.stringify(renderRuntimeConfig(bot, spec), null, 2)}\n`;
  return { json, hash: shortHash(json, 16) };
}

export function buildBotConfigMap(bot: BotIdentity, config: RenderedConfig): ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: ownedMetadata(bot, configMapNameFor(bot.name)),
    data: { [RUNTIME_CONFIG_KEY]: config.json },
  };
}
