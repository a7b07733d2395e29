import { createHash } from "node:crypto";

// Names, labels and annotations the operator puts on what it owns. One place, so the builders, the
// watches (label selectors) and the RBAC agree.

export const FIELD_MANAGER = "tradingbot-operator";
export const REPORTING_CONTROLLER = "trading.botops.dev/tradingbot-operator";
export const FINALIZER = "trading.botops.dev/stop-bot";

export const LABELS = {
  name: "app.kubernetes.io/name",
  instance: "app.kubernetes.io/instance",
  managedBy: "app.kubernetes.io/managed-by",
  bot: "trading.botops.dev/bot",
} as const;

export const MANAGED_BY_VALUE = "tradingbot-operator";
export const BOT_APP_NAME = "tradingbot";
/** Selects everything this operator owns: the label selector of the Pod, ConfigMap, ... watches. */
export const MANAGED_BY_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY_VALUE}`;

export const ANNOTATIONS = {
  configHash: "trading.botops.dev/config-hash",
  podSpecHash: "trading.botops.dev/pod-spec-hash",
  exchangeSecretVersion: "trading.botops.dev/exchange-secret-version",
  databaseSecretVersion: "trading.botops.dev/database-secret-version",
  migrationSecretVersion: "trading.botops.dev/migration-secret-version",
} as const;

const MAX_NAME_LENGTH = 63;
const HASH_LENGTH = 8;

export function shortHash(text: string, length = HASH_LENGTH): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/**
 * `<bot>-<suffix>`, kept within 63 characters (a DNS label, so it is also a valid label value and host
 * name): a long bot name is cut and a hash of the full name keeps the result unique and deterministic.
 */
export function derivedName(botName: string, suffix: string): string {
  const plain = suffix === "" ? botName : `${botName}-${suffix}`;
  if (plain.length <= MAX_NAME_LENGTH) return plain;
  const tail = suffix === "" ? shortHash(botName) : `${shortHash(botName)}-${suffix}`;
  const head = botName.slice(0, MAX_NAME_LENGTH - tail.length - 1).replace(/[-.]+$/, "");
  return `${head}-${tail}`;
}

/** The bot's name as a label value (at most 63 characters). */
export function botLabelValue(botName: string): string {
  return derivedName(botName, "");
}

export const podNameFor = (botName: string) => derivedName(botName, "runtime");
export const configMapNameFor = (botName: string) => derivedName(botName, "config");
export const networkPolicyNameFor = (botName: string) => derivedName(botName, "network");
export const serviceAccountNameFor = (botName: string) => derivedName(botName, "runtime");
/** The Role and RoleBinding that let the bot's halt watch read its own TradingBot. */
export const haltWatchRoleNameFor = (botName: string) => derivedName(botName, "halt-watch");
/** The ClusterRoleBinding that lets the bot's halt watch list KillSwitches (cluster-scoped: named by namespace too). */
export const haltWatchClusterBindingNameFor = (namespace: string, botName: string) =>
  `trading.botops.dev:halt-watch:${namespace}:${botLabelValue(botName)}`;
/** On that ClusterRoleBinding, which no owner reference can tie to a namespaced bot: the bot's uid. */
export const BOT_UID_LABEL = "trading.botops.dev/bot-uid";

/** The labels on every object owned for one bot; also the NetworkPolicy's pod selector. */
export function botLabels(botName: string): Record<string, string> {
  const value = botLabelValue(botName);
  return {
    [LABELS.name]: BOT_APP_NAME,
    [LABELS.instance]: value,
    [LABELS.managedBy]: MANAGED_BY_VALUE,
    [LABELS.bot]: value,
  };
}
