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
import { podGracePeriodSeconds } from "./bot-pod.ts";

/**
 * The runtime's configuration, rendered from the spec. It holds no credentials: those are files.
 * `maxGracePeriodSeconds`: the operator's cap on the pod's grace period, as buildBotPod is given it.
 */
export function renderRuntimeConfig(
  bot: BotIdentity,
  spec: TradingBotSpec,
  killSwitchChangedBy?: string,
  maxGracePeriodSeconds?: number,
): RuntimeConfig {
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
    killSwitchChangedBy: killSwitchChangedBy?.slice(0, 512),
    stopGracePeriodSeconds: podGracePeriodSeconds(spec, maxGracePeriodSeconds),
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

/**
 * The config document and its hash. Who last changed the kill switch is in the document (the next pod
 * records it) but not in the hash: a change of the stamp alone must not restart a trading bot. Neither is
 * the grace period: a change of it restarts the pod anyway (it is in the pod's spec), and an operator
 * upgrade that starts rendering it must not restart every bot (a running one keeps the 25 s default).
 */
export function renderConfigDocument(
  bot: BotIdentity,
  spec: TradingBotSpec,
  killSwitchChangedBy?: string,
  maxGracePeriodSeconds?: number,
): RenderedConfig {
  const config = renderRuntimeConfig(bot, spec, killSwitchChangedBy, maxGracePeriodSeconds);
  const { killSwitchChangedBy: _stamp, stopGracePeriodSeconds: _grace, ...restarting } = config;
  return { json: `${JSON.stringify(config, null, 2)}\n`, hash: shortHash(JSON.stringify(restarting), 16) };
}

export function buildBotConfigMap(bot: BotIdentity, config: RenderedConfig): ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: ownedMetadata(bot, configMapNameFor(bot.name)),
    data: { [RUNTIME_CONFIG_KEY]: config.json },
  };
}
