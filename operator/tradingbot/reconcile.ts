import type { Logger } from "pino";
import { KILL_SWITCH_CHANGED_BY_ANNOTATION, type TradingBotSpec } from "../../api/v1alpha1/index.ts";
import {
  buildBotConfigMap,
  type RenderedConfig,
  renderConfigDocument,
} from "../desired-state/bot-config-map.ts";
import { type BotIdentity, botOwnerReference } from "../desired-state/bot-identity.ts";
import {
  buildBotNetworkPolicy,
  type NetworkEgress,
  type NetworkSettings,
} from "../desired-state/bot-network-policy.ts";
import { buildBotPod, type SecretVersions } from "../desired-state/bot-pod.ts";
import { buildBotServiceAccount } from "../desired-state/bot-service-account.ts";
import { killSwitchViewOf } from "../killswitch/view.ts";
import {
  applyOwnedObject,
  controllerUid,
  createPod,
  deletePod,
  NotOwnedError,
  writeStatus,
} from "../kube/apply.ts";
import { isAlreadyExists, isConflict, isNotFound, type KubeApi } from "../kube/client.ts";
import type { EventRecorder, EventTarget } from "../kube/events.ts";
import { type ObjectCache, objectKey } from "../kube/object-cache.ts";
import type { ConfigMap, KubeObject, NetworkPolicy, Pod, ServiceAccount } from "../kube/types.ts";
import type { ReconcileOutcome } from "../kube/work-queue.ts";
import {
  configMapNameFor,
  FINALIZER,
  networkPolicyNameFor,
  podNameFor,
  serviceAccountNameFor,
} from "../names.ts";
import { type Metrics, sourceKind } from "../ops/metrics.ts";
import {
  type KillSwitchObject,
  RESOURCES,
  type TradingBotObject,
  type TradingPolicyObject,
} from "../resources.ts";
import { type CredentialsCheck, checkCredentials, type SecretLookup } from "./credentials.ts";
import { observedSecret } from "./credentials-rotation.ts";
import type { BotTermination } from "./halt.ts";
import { grantHaltWatch, type HaltWatchAccess, revokeHaltWatch } from "./halt-watch-access.ts";
import {
  type BotObservation,
  type BotWrite,
  CONFLICT_RETRY_MS,
  type DesiredObjects,
  type NameConflict,
  OWNED_KINDS,
  type OwnedKind,
  type PlanSettings,
  planBot,
} from "./plan.ts";
import type { RestartHistory } from "./pod-lifecycle.ts";
import { botPolicyViolations } from "./policy.ts";
import type { SecretFactsSource } from "./secret-facts.ts";
import { botKillSwitch, parseBotSpec } from "./spec.ts";
import type { RuntimeObservation } from "./status.ts";

// The TradingBot reconcile: observe (the caches; the Secrets only when the plan asks for them), plan
// (plan.ts, pure: the ordered writes), perform the writes in order. A write that fails stops the rest,
// and the reconcile is retried; nothing here decides what to write.

export interface Caches {
  bots: ObjectCache<TradingBotObject>;
  killSwitches: ObjectCache<KillSwitchObject>;
  tradingPolicies: ObjectCache<TradingPolicyObject>;
  pods: ObjectCache<Pod>;
  configMaps: ObjectCache<ConfigMap>;
  networkPolicies: ObjectCache<NetworkPolicy>;
  serviceAccounts: ObjectCache<ServiceAccount>;
  secrets: ObjectCache<KubeObject>;
}

export interface BotReconcilerDeps {
  api: KubeApi;
  caches: Caches;
  secretFacts: Pick<SecretFactsSource, "lookup">;
  runtime: { observation(botKey: string): RuntimeObservation | undefined };
  events: Pick<EventRecorder, "record">;
  metrics: Metrics;
  settings: PlanSettings & {
    botImage: string;
    network: NetworkSettings;
    /** The audience of the halt watch's token; undefined: the API server's own. */
    haltWatchAudience: string | undefined;
  };
  haltWatchAccess: HaltWatchAccess;
  logger: Logger;
  now: () => number;
  restartHistory: Map<string, RestartHistory>;
  /** Per bot, how its last pod ended, kept from the pod's deletion until the bot has a new pod. */
  goneTerminations: Map<string, BotTermination>;
  /** What was last built per bot, rebuilt only when what it is built from changes. */
  built: Map<string, BuiltState>;
  /**
   * Objects of a bot's derived names found controlled by someone else when a create met them (they are
   * outside the watches): not written to again until `retryAt`, when the write is tried once more.
   */
  conflicts: Map<string, { conflict: NameConflict; retryAt: number }>;
}

/** The objects built for one bot from one generation of its spec (and the image and Secret versions). */
export interface BuiltState {
  configKey: string;
  config?: RenderedConfig;
  configMap?: ConfigMap;
  serviceAccount?: ServiceAccount;
  podKey?: string;
  podSummary?: Pod;
  policies: Map<string, NetworkPolicy>;
}

function identityOf(bot: TradingBotObject): BotIdentity {
  return { name: bot.metadata.name, namespace: bot.metadata.namespace ?? "", uid: bot.metadata.uid ?? "" };
}

function eventTarget(bot: TradingBotObject): EventTarget {
  const owner = botOwnerReference(identityOf(bot));
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.name,
    namespace: bot.metadata.namespace ?? "",
    uid: owner.uid,
  };
}

export async function reconcileTradingBot(
  deps: BotReconcilerDeps,
  key: string,
): Promise<ReconcileOutcome | undefined> {
  const bot = deps.caches.bots.get(key);
  if (!bot) {
    deps.restartHistory.delete(key);
    deps.goneTerminations.delete(key);
    deps.built.delete(key);
    deps.conflicts.delete(key);
    return undefined;
  }
  const observation = observe(deps, key, bot);
  try {
    return await planAndPerform(deps, key, observation);
  } catch (error) {
    if (!(error instanceof NotOwnedError)) throw error;
    // Someone else's object has one of the bot's names: leave it alone, say so, and plan again without it.
    const conflict: NameConflict = {
      kind: error.kind as NameConflict["kind"],
      namespace: error.namespace,
      name: error.objectName,
    };
    deps.conflicts.set(key, { conflict, retryAt: deps.now() + CONFLICT_RETRY_MS });
    const latest = deps.caches.bots.get(key);
    if (!latest) return undefined;
    return planAndPerform(deps, key, observe(deps, key, latest));
  }
}

async function planAndPerform(
  deps: BotReconcilerDeps,
  key: string,
  observation: BotObservation,
): Promise<ReconcileOutcome | undefined> {
  let plan = planBot(observation);
  if ("needs" in plan) {
    const spec = observation.spec;
    if (!spec.ok) throw new Error("the plan asked for credentials of an invalid spec");
    observation.credentials = await checkBotCredentials(deps, observation.bot, spec.spec);
    plan = planBot(observation);
    if ("needs" in plan) throw new Error(`the plan asked for ${plan.needs} twice`);
  }
  await perform(deps, key, observation.bot, plan.writes);
  if (observation.conflicts.length === 0) deps.conflicts.delete(key);
  return plan.requeueAfterMs === undefined && !plan.urgent
    ? undefined
    : { requeueAfterMs: plan.requeueAfterMs, urgent: plan.urgent };
}

/**
 * Everything the plan needs, from the caches: no request. An object of the bot's names that the bot does
 * not control is a conflict, never the bot's own: the plan will not write it, nor delete that pod.
 */
function observe(deps: BotReconcilerDeps, key: string, bot: TradingBotObject): BotObservation {
  const { caches } = deps;
  const namespace = bot.metadata.namespace ?? "";
  const name = bot.metadata.name;
  const uid = bot.metadata.uid;
  const spec = parseBotSpec(bot);
  const conflicts: NameConflict[] = [];
  const remembered = deps.conflicts.get(key);
  if (remembered && remembered.retryAt > deps.now()) conflicts.push(remembered.conflict);
  const own = <T extends KubeObject>(kind: NameConflict["kind"], object: T | undefined): T | undefined => {
    if (!object || controllerUid(object) === uid) return object;
    if (!conflicts.some((c) => c.kind === kind)) {
      conflicts.push({ kind, namespace, name: object.metadata.name });
    }
    return undefined;
  };
  return {
    bot,
    spec,
    killSwitch: botKillSwitch(bot).killSwitch,
    killSwitches: [...caches.killSwitches.values()].map(killSwitchViewOf),
    pod: own(OWNED_KINDS.pods, caches.pods.get(objectKey(namespace, podNameFor(name)))),
    goneTermination: deps.goneTerminations.get(key),
    owned: {
      serviceAccount: own(
        OWNED_KINDS.serviceAccounts,
        caches.serviceAccounts.get(objectKey(namespace, serviceAccountNameFor(name))),
      ),
      configMap: own(
        OWNED_KINDS.configMaps,
        caches.configMaps.get(objectKey(namespace, configMapNameFor(name))),
      ),
      networkPolicy: own(
        OWNED_KINDS.networkPolicies,
        caches.networkPolicies.get(objectKey(namespace, networkPolicyNameFor(name))),
      ),
    },
    credentials: undefined,
    exchangeSecret: spec.ok
      ? observedSecret(caches.secrets.get(objectKey(namespace, spec.spec.exchange.credentialsSecretRef.name)))
      : undefined,
    conflicts,
    policyViolations: spec.ok
      ? botPolicyViolations(caches.tradingPolicies.values(), namespace, spec.spec)
      : [],
    restarts: deps.restartHistory.get(key),
    runtime: deps.runtime.observation(key),
    desired: desiredObjects(deps, key, bot),
    settings: deps.settings,
    now: deps.now(),
  };
}

/** Reads only Secrets whose version the operator has not seen. */
async function checkBotCredentials(
  deps: BotReconcilerDeps,
  bot: TradingBotObject,
  spec: TradingBotSpec,
): Promise<CredentialsCheck> {
  const namespace = bot.metadata.namespace ?? "";
  const names = [spec.exchange.credentialsSecretRef.name, spec.database.secretRef.name];
  if (spec.database.migrationSecretRef) names.push(spec.database.migrationSecretRef.name);
  const lookups = new Map<string, SecretLookup>();
  await Promise.all(
    names.map(async (name) => lookups.set(name, await deps.secretFacts.lookup(namespace, name))),
  );
  return checkCredentials(namespace, spec, (name) => lookups.get(name) ?? { found: false });
}

/**
 * The builders, memoized per bot: a resync of a thousand unchanged bots builds nothing, and a plan
 * that needs none of it (a halt) builds none of it.
 */
function desiredObjects(deps: BotReconcilerDeps, key: string, bot: TradingBotObject): DesiredObjects {
  const identity = identityOf(bot);
  const changedBy = bot.metadata.annotations?.[KILL_SWITCH_CHANGED_BY_ANNOTATION];
  const configKey = `${identity.uid}/${bot.metadata.generation}/${changedBy ?? ""}`;
  const state = (): BuiltState => {
    let known = deps.built.get(key);
    if (known?.configKey !== configKey) {
      const serviceAccount =
        known?.serviceAccount?.metadata.ownerReferences?.[0]?.uid === identity.uid
          ? known.serviceAccount
          : undefined;
      known = { configKey, serviceAccount, policies: new Map() };
      deps.built.set(key, known);
    }
    return known;
  };
  const config = (spec: TradingBotSpec) => {
    const known = state();
    known.config ??= renderConfigDocument(identity, spec, changedBy, deps.settings.maxGracePeriodSeconds);
    return known.config;
  };
  const buildPod = (spec: TradingBotSpec, versions: SecretVersions) =>
    buildBotPod({
      bot: identity,
      spec,
      defaultImage: deps.settings.botImage,
      configHash: config(spec).hash,
      secretVersions: versions,
      maxGracePeriodSeconds: deps.settings.maxGracePeriodSeconds,
      haltWatchAudience: deps.settings.haltWatchAudience,
    });
  return {
    serviceAccount() {
      const known = state();
      known.serviceAccount ??= buildBotServiceAccount(identity);
      return known.serviceAccount;
    },
    configMap(spec) {
      const known = state();
      known.configMap ??= buildBotConfigMap(identity, config(spec));
      return known.configMap;
    },
    podSummary(spec, versions) {
      const known = state();
      const podKey = JSON.stringify([deps.settings.botImage, versions]);
      if (known.podKey !== podKey || !known.podSummary) {
        const pod = buildPod(spec, versions);
        known.podKey = podKey;
        known.podSummary = {
          metadata: {
            name: pod.metadata.name,
            namespace: pod.metadata.namespace,
            annotations: pod.metadata.annotations,
          },
          spec: { containers: (pod.spec?.containers ?? []).map(({ name, image }) => ({ name, image })) },
        };
      }
      return known.podSummary;
    },
    pod: buildPod,
    networkPolicy(egress: NetworkEgress) {
      const known = state();
      const variant = egress.allowed ? `open:${egress.databasePort}` : "denied";
      let policy = known.policies.get(variant);
      if (!policy) {
        policy = buildBotNetworkPolicy({ bot: identity, settings: deps.settings.network, egress });
        known.policies.set(variant, policy);
      }
      return policy;
    },
  };
}

const OWNED_CACHES: Record<OwnedKind, keyof Caches> = {
  serviceAccounts: "serviceAccounts",
  configMaps: "configMaps",
  networkPolicies: "networkPolicies",
};

/** Performs the writes in order (owned objects next to each other together); the first failure stops. */
async function perform(deps: BotReconcilerDeps, key: string, bot: TradingBotObject, writes: BotWrite[]) {
  let latest = bot;
  for (let i = 0; i < writes.length; ) {
    const write = writes[i] as BotWrite;
    if (write.kind === "apply") {
      const group: Extract<BotWrite, { kind: "apply" }>[] = [];
      for (let next = writes[i]; next?.kind === "apply"; next = writes[++i]) group.push(next);
      await Promise.all(
        group.map((w) =>
          applyOwnedObject(
            deps.api,
            RESOURCES[w.resource],
            deps.caches[OWNED_CACHES[w.resource]] as ObjectCache<KubeObject>,
            w.object,
            deps.logger,
          ),
        ),
      );
      continue;
    }
    latest = await performOne(deps, key, latest, write);
    i += 1;
  }
}

async function performOne(
  deps: BotReconcilerDeps,
  key: string,
  bot: TradingBotObject,
  write: Exclude<BotWrite, { kind: "apply" }>,
): Promise<TradingBotObject> {
  const { api, caches } = deps;
  switch (write.kind) {
    case "deletePod":
      await deletePod(api, caches.pods, write.pod, {
        gracePeriodSeconds: write.gracePeriodSeconds,
        urgent: write.urgent,
      });
      if (write.cause === "forcedDeletion") {
        deps.logger.warn(
          { bot: key, pod: write.pod.metadata.name },
          "force-deleted a bot pod that outlived its grace period",
        );
      }
      return bot;
    case "grantHaltWatch":
      await grantHaltWatch(api, deps.haltWatchAccess, identityOf(bot));
      return bot;
    case "revokeHaltWatch":
      await revokeHaltWatch(api, identityOf(bot));
      return bot;
    case "createPod":
      await createBotPod(deps, bot, write.pod);
      return bot;
    case "writeStatus":
      try {
        return await writeStatus(api, RESOURCES.tradingBots, caches.bots, bot, write.status);
      } catch (error) {
        if (write.ignoreGone && (isNotFound(error) || isConflict(error))) return bot;
        throw error;
      }
    case "addFinalizer":
      return patchFinalizers(deps, bot, [...(bot.metadata.finalizers ?? []), FINALIZER]);
    case "removeFinalizer":
      return patchFinalizers(
        deps,
        bot,
        (bot.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
      ).catch((error) => {
        if (isNotFound(error)) return bot;
        throw error;
      });
    case "recordEvents":
      recordEvents(deps, bot, write);
      return bot;
    case "noteRestart": {
      const previous = deps.restartHistory.get(key);
      deps.restartHistory.set(key, { restarts: (previous?.restarts ?? 0) + 1, notBefore: deps.now() });
      return bot;
    }
    case "forgetRestarts":
      deps.restartHistory.delete(key);
      return bot;
  }
}

/** A merge patch with a resourceVersion precondition: a concurrent change is retried, never lost. */
async function patchFinalizers(
  deps: BotReconcilerDeps,
  bot: TradingBotObject,
  finalizers: string[],
): Promise<TradingBotObject> {
  const updated = await deps.api.mergePatch<TradingBotObject>(
    RESOURCES.tradingBots,
    bot.metadata.namespace,
    bot.metadata.name,
    { metadata: { resourceVersion: bot.metadata.resourceVersion, finalizers } },
  );
  deps.caches.bots.upsert(updated);
  return updated;
}

async function createBotPod(deps: BotReconcilerDeps, bot: TradingBotObject, pod: Pod) {
  try {
    await createPod(deps.api, deps.caches.pods, pod);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    // A pod of that name exists but is not in the cache: its labels were edited (drift) or it is not
    // ours. Ours is deleted and recreated; someone else's is left alone and reported.
    const existing = await deps.api
      .get<Pod>(RESOURCES.pods, pod.metadata.namespace, pod.metadata.name)
      .catch((e) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
    if (existing && controllerUid(existing) === bot.metadata.uid) {
      await deletePod(deps.api, deps.caches.pods, existing);
      throw new Error(`pod ${pod.metadata.name} had lost its labels; deleted it to recreate it`);
    }
    throw new NotOwnedError("Pod", pod.metadata.namespace ?? "", pod.metadata.name);
  }
}

function recordEvents(
  deps: BotReconcilerDeps,
  bot: TradingBotObject,
  write: Extract<BotWrite, { kind: "recordEvents" }>,
) {
  const target = eventTarget(bot);
  for (const event of write.events) {
    deps.events.record(target, event);
    if (event.reason === "Halted") deps.metrics.halts.inc({ source: sourceKind(write.haltSource) });
    if (event.reason === "Resumed") deps.metrics.resumes.inc();
  }
  const [first] = write.events;
  deps.logger.info(
    {
      bot: `${bot.metadata.namespace}/${bot.metadata.name}`,
      events: write.events.map((e) => e.reason),
      note: first?.note,
    },
    "bot transition",
  );
}
