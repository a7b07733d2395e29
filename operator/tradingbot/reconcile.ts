import type { Logger } from "pino";
import type { TradingBotSpec, TradingBotStatus } from "../../api/v1alpha1/index.ts";
import {
  buildBotConfigMap,
  type RenderedConfig,
  renderConfigDocument,
} from "../desired-state/bot-config-map.ts";
import { type BotIdentity, botOwnerReference } from "../desired-state/bot-identity.ts";
import { buildBotNetworkPolicy, type NetworkSettings } from "../desired-state/bot-network-policy.ts";
import { BOT_CONTAINER_NAME, buildBotPod, type SecretVersions } from "../desired-state/bot-pod.ts";
import { buildBotServiceAccount } from "../desired-state/bot-service-account.ts";
import { applyOwnedObject, createPod, deletePod, writeStatus } from "../kube/apply.ts";
import { isAlreadyExists, isConflict, isNotFound, type KubeApi } from "../kube/client.ts";
import type { EventRecorder, EventTarget } from "../kube/events.ts";
import { describeError } from "../kube/informer.ts";
import { type ObjectCache, objectKey } from "../kube/object-cache.ts";
import type { ConfigMap, KubeObject, NetworkPolicy, Pod, ServiceAccount } from "../kube/types.ts";
import type { ReconcileOutcome } from "../kube/work-queue.ts";
import { FINALIZER, podNameFor } from "../names.ts";
import { type Metrics, sourceKind } from "../ops/metrics.ts";
import { RESOURCES } from "../resources.ts";
import { type CredentialsCheck, checkCredentials, type SecretLookup } from "./credentials.ts";
import { transitionEvents } from "./events.ts";
import { type BotTermination, decideHalt, type HaltDecision, type KillSwitchView } from "./halt.ts";
import {
  decidePodPlan,
  isPodReady,
  isTerminating,
  type PodPlan,
  type RestartHistory,
} from "./pod-lifecycle.ts";
import type { SecretFactsSource } from "./secret-facts.ts";
import {
  botKillSwitch,
  type KillSwitchObject,
  killSwitchView,
  type ParsedSpec,
  parseBotSpec,
  type TradingBotObject,
} from "./spec.ts";
import {
  computeBotStatus,
  computeTerminatingStatus,
  type RuntimeObservation,
  timestampOf,
} from "./status.ts";

// The TradingBot reconcile, as named steps: finalizer → spec → halt → credentials → desired objects →
// pod lifecycle (stop half, owned objects, start half) → status. Deciding is pure (halt.ts, pod-lifecycle.ts, status.ts, desired-state/); this
// file reads the caches, orders the writes, and does them. The order is the safety contract:
//   halting:  status first, then the pod deleted with its grace period, then egress closed once the pod
//             is gone (or its grace period is over: the runtime needs the exchange to cancel orders);
//   running:  ServiceAccount, ConfigMap and NetworkPolicy first, then the pod, then status.

export interface Caches {
  bots: ObjectCache<TradingBotObject>;
  killSwitches: ObjectCache<KillSwitchObject>;
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
  settings: {
    botImage: string;
    network: NetworkSettings;
    mirrorIntervalMs: number;
    deletionMarginMs: number;
  };
  logger: Logger;
  now: () => number;
  restartHistory: Map<string, RestartHistory>;
  /** The last built config and pod per bot: rebuilt only when what they are built from changes. */
  built: Map<string, BuiltState>;
}

export interface BuiltState {
  configKey: string;
  config: RenderedConfig;
  configMap: ConfigMap;
  serviceAccount: ServiceAccount;
  podKey: string;
  /** What the pod decisions compare (name, annotations with the hashes, image); the full pod is built to create it. */
  podSummary: Pod | undefined;
  policies: Map<string, NetworkPolicy>;
}

const DEFAULT_GRACE_SECONDS = 30;
/** While waiting on something the watches will report anyway, look again at least this often. */
const SAFETY_REQUEUE_MS = 30_000;
/** How long the status of a bot whose pod was just created may wait for the pod's first events. */
const STARTING_STATUS_SETTLE_MS = 10_000;

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

function killSwitchViews(cache: ObjectCache<KillSwitchObject>): KillSwitchView[] {
  const views: KillSwitchView[] = [];
  for (const object of cache.values()) {
    const view = killSwitchView(object);
    if (view) views.push(view);
  }
  return views;
}

function terminationOf(pod: Pod | undefined): BotTermination | undefined {
  const terminated = pod?.status?.containerStatuses?.find((s) => s.name === BOT_CONTAINER_NAME)?.state
    ?.terminated;
  if (!pod || !terminated) return undefined;
  return { podUid: pod.metadata.uid ?? "", exitCode: terminated.exitCode, message: terminated.message };
}

function graceSecondsOf(pod: Pod | undefined): number {
  const grace = (pod?.spec as { terminationGracePeriodSeconds?: number } | undefined)
    ?.terminationGracePeriodSeconds;
  return typeof grace === "number" ? grace : DEFAULT_GRACE_SECONDS;
}

export async function reconcileTradingBot(
  deps: BotReconcilerDeps,
  key: string,
): Promise<ReconcileOutcome | undefined> {
  const cached = deps.caches.bots.get(key);
  if (!cached) {
    deps.restartHistory.delete(key);
    deps.built.delete(key);
    return undefined;
  }
  if (cached.metadata.deletionTimestamp) return stopForDeletion(deps, cached);
  const bot = await ensureFinalizer(deps, cached);
  const now = deps.now();
  const nowText = timestampOf(now);
  const identity = identityOf(bot);
  const podKey = objectKey(identity.namespace, podNameFor(identity.name));
  const observedPod = deps.caches.pods.get(podKey);

  // Step: spec.
  const spec = parseBotSpec(bot);

  // Step: halt.
  const halt = decideHalt({
    bot: { namespace: identity.namespace, labels: bot.metadata.labels },
    killSwitch: botKillSwitch(bot),
    current: bot.status?.halt,
    killSwitches: killSwitchViews(deps.caches.killSwitches),
    termination: terminationOf(observedPod),
    now: nowText,
  });

  // Step: credentials.
  const credentials = spec.ok ? await checkBotCredentials(deps, identity.namespace, spec.spec) : undefined;

  // Step: desired objects (the pod only when the bot may run; the rest after a halt is on record).
  const mayRun = spec.ok && credentials?.ok === true && !halt.halted;
  const desired = () =>
    spec.ok ? desiredFor(deps, key, bot, identity, spec.spec, mayRun ? credentials : undefined) : undefined;
  let built = mayRun ? desired() : undefined;
  const wantedPod = built?.podSummary;

  // Step: pod lifecycle.
  if (observedPod && !isTerminating(observedPod) && isPodReady(observedPod)) deps.restartHistory.delete(key);
  const history = deps.restartHistory.get(key);
  const plan = decidePodPlan({ wanted: wantedPod, observed: observedPod, history, now });
  const statusInput = {
    generation: bot.metadata.generation,
    deleting: false,
    current: bot.status,
    invalidSpec: spec.ok ? undefined : spec.issues,
    credentials,
    halt,
    plan,
    restarts: history?.restarts ?? 0,
    exchangeSecret: spec.ok
      ? `${identity.namespace}/${spec.spec.exchange.credentialsSecretRef.name}`
      : undefined,
    runtime: deps.runtime.observation(key),
    mirrorIntervalMs: deps.settings.mirrorIntervalMs,
    now: nowText,
  };

  let latest = bot;
  let statusError: unknown;
  if (halt.halted && observedPod) {
    // Status first: the halt is on record before anything is stopped. A failed status write must not
    // keep the pod trading, so the halt goes on and the write is retried.
    const stopping = isTerminating(observedPod) ? observedPod : markedTerminating(observedPod, nowText);
    try {
      latest = await writeStatus(
        deps.api,
        RESOURCES.tradingBots,
        deps.caches.bots,
        bot,
        computeBotStatus({ ...statusInput, pod: stopping }),
      );
    } catch (error) {
      statusError = error;
      deps.logger.error(
        { bot: key, err: describeError(error) },
        "could not record the halt in status; stopping the bot anyway",
      );
    }
  }

  const podAfterStop = await stopPodIfPlanned(deps, bot, plan, observedPod);
  built ??= desired();
  await applyOwnedObjects(deps, identity, spec, credentials, mayRun, podAfterStop, built);
  const podAfter =
    plan.action === "create" && spec.ok && credentials?.ok
      ? await createBotPod(
          deps,
          bot,
          buildWantedPod(deps, identity, spec.spec, built as BuiltState, credentials.versions),
        )
      : podAfterStop;

  const status = computeBotStatus({ ...statusInput, pod: podAfter });
  const settling = statusError ? undefined : startingQuietly(latest.status, status, podAfter, deps.now());
  if (settling !== undefined) return { requeueAfterMs: settling };
  recordTransitions(deps, bot, status, halt, plan);
  if (statusError) throw statusError;
  await writeStatus(deps.api, RESOURCES.tradingBots, deps.caches.bots, latest, status);
  return nextLook(plan, podAfter, now, !mayRun);
}

/**
 * A new bot whose pod was created moments ago: its status waits (up to the settle time) for the pod to
 * become ready, so that it goes from nothing straight to Running — one write instead of two or three
 * while a fleet arrives. Returns how long to wait, or undefined to write now.
 */
function startingQuietly(
  current: TradingBotStatus | undefined,
  next: TradingBotStatus,
  pod: Pod | undefined,
  now: number,
): number | undefined {
  if (next.phase !== "Pending" || (current?.phase ?? "Pending") !== "Pending") return undefined;
  if (next.conditions?.find((c) => c.type === "Ready")?.reason !== "PodStarting") return undefined;
  const created = pod?.metadata.creationTimestamp ? Date.parse(pod.metadata.creationTimestamp) : now;
  const left = created + STARTING_STATUS_SETTLE_MS - now;
  return left > 0 ? left + 50 : undefined;
}

/**
 * The rendered config and the wanted pod (undefined while the bot must not run), built again only
 * when the generation, the Secret versions, the image default or the bot's identity change: a resync
 * of a thousand unchanged bots builds nothing.
 */
function desiredFor(
  deps: BotReconcilerDeps,
  key: string,
  bot: TradingBotObject,
  identity: BotIdentity,
  spec: TradingBotSpec,
  credentials: CredentialsCheck | undefined,
): BuiltState {
  const versions = credentials?.ok ? credentials.versions : undefined;
  const configKey = `${identity.uid}/${bot.metadata.generation}`;
  const podKey = JSON.stringify([configKey, deps.settings.botImage, versions ?? null]);
  const known = deps.built.get(key);
  if (known?.podKey === podKey) return known;
  const sameConfig = known?.configKey === configKey;
  const config = sameConfig ? known.config : renderConfigDocument(identity, spec);
  const pod = versions
    ? buildBotPod({
        bot: identity,
        spec,
        defaultImage: deps.settings.botImage,
        configHash: config.hash,
        secretVersions: versions,
      })
    : undefined;
  const state: BuiltState = {
    configKey,
    config,
    configMap: sameConfig ? known.configMap : buildBotConfigMap(identity, config),
    serviceAccount: known?.serviceAccount ?? buildBotServiceAccount(identity),
    podKey,
    podSummary: pod && {
      metadata: {
        name: pod.metadata.name,
        namespace: pod.metadata.namespace,
        annotations: pod.metadata.annotations,
      },
      spec: { containers: (pod.spec?.containers ?? []).map(({ name, image }) => ({ name, image })) },
    },
    policies: sameConfig ? known.policies : new Map(),
  };
  deps.built.set(key, state);
  return state;
}

function buildWantedPod(
  deps: BotReconcilerDeps,
  identity: BotIdentity,
  spec: TradingBotSpec,
  built: BuiltState,
  secretVersions: SecretVersions,
): Pod {
  return buildBotPod({
    bot: identity,
    spec,
    defaultImage: deps.settings.botImage,
    configHash: built.config.hash,
    secretVersions,
  });
}

/** A pod as it will look once its deletion is accepted, for the status written before the delete. */
function markedTerminating(pod: Pod, now: string): Pod {
  return { ...pod, metadata: { ...pod.metadata, deletionTimestamp: now } };
}

/** Step: finalizer. A bot is only ever deleted after its pod is stopped. */
async function ensureFinalizer(deps: BotReconcilerDeps, bot: TradingBotObject): Promise<TradingBotObject> {
  const finalizers = bot.metadata.finalizers ?? [];
  if (finalizers.includes(FINALIZER)) return bot;
  const updated = await deps.api.mergePatch<TradingBotObject>(
    RESOURCES.tradingBots,
    bot.metadata.namespace,
    bot.metadata.name,
    {
      metadata: { resourceVersion: bot.metadata.resourceVersion, finalizers: [...finalizers, FINALIZER] },
    },
  );
  deps.caches.bots.upsert(updated);
  return updated;
}

/** Step: credentials. Reads only Secrets whose version the operator has not seen. */
async function checkBotCredentials(
  deps: BotReconcilerDeps,
  namespace: string,
  spec: TradingBotSpec,
): Promise<CredentialsCheck> {
  const names = [spec.exchange.credentialsSecretRef.name, spec.database.secretRef.name];
  if (spec.database.migrationSecretRef) names.push(spec.database.migrationSecretRef.name);
  const lookups = new Map<string, SecretLookup>();
  await Promise.all(
    names.map(async (name) => lookups.set(name, await deps.secretFacts.lookup(namespace, name))),
  );
  return checkCredentials(namespace, spec, (name) => lookups.get(name) ?? { found: false });
}

/** Step: pod lifecycle, stopping half. Returns the pod as it is afterwards (terminating, or none). */
async function stopPodIfPlanned(
  deps: BotReconcilerDeps,
  bot: TradingBotObject,
  plan: PodPlan,
  observed: Pod | undefined,
): Promise<Pod | undefined> {
  switch (plan.action) {
    case "stop":
    case "replace":
      return deletePod(deps.api, deps.caches.pods, observed as Pod);
    case "restartAfterFailure": {
      const key = objectKey(bot.metadata.namespace, bot.metadata.name);
      const previous = deps.restartHistory.get(key);
      deps.restartHistory.set(key, { restarts: (previous?.restarts ?? 0) + 1, notBefore: deps.now() });
      return deletePod(deps.api, deps.caches.pods, observed as Pod);
    }
    default:
      return observed;
  }
}

/** Step: pod lifecycle, starting half: after the ServiceAccount, ConfigMap and NetworkPolicy exist. */
async function createBotPod(
  deps: BotReconcilerDeps,
  bot: TradingBotObject,
  pod: Pod,
): Promise<Pod | undefined> {
  try {
    return await createPod(deps.api, deps.caches.pods, pod);
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
    if (existing?.metadata.ownerReferences?.some((o) => o.uid === bot.metadata.uid && o.controller)) {
      await deletePod(deps.api, deps.caches.pods, existing);
      throw new Error(`pod ${pod.metadata.name} had lost its labels; deleted it to recreate it`);
    }
    throw new Error(
      `a Pod named ${pod.metadata.namespace}/${pod.metadata.name} exists and is not owned by this TradingBot: delete or rename it`,
    );
  }
}

/**
 * Step: owned objects. Egress stays open while the bot may run, and while its pod stops within its
 * grace period (cancelling orders needs the exchange); it closes when the pod is gone or overdue.
 */
async function applyOwnedObjects(
  deps: BotReconcilerDeps,
  identity: BotIdentity,
  spec: ParsedSpec,
  credentials: CredentialsCheck | undefined,
  mayRun: boolean,
  podAfter: Pod | undefined,
  built: BuiltState | undefined,
) {
  const { api, caches, logger } = deps;
  const stoppingInGrace =
    podAfter !== undefined &&
    (!isTerminating(podAfter) || Date.parse(podAfter.metadata.deletionTimestamp as string) > deps.now());
  const egressOpen = mayRun || stoppingInGrace;
  const serviceAccount = built?.serviceAccount ?? buildBotServiceAccount(identity);
  const writes: Promise<unknown>[] = [
    applyOwnedObject(api, RESOURCES.serviceAccounts, caches.serviceAccounts, serviceAccount, logger),
  ];
  if (built) {
    writes.push(applyOwnedObject(api, RESOURCES.configMaps, caches.configMaps, built.configMap, logger));
  }
  const policy = !egressOpen
    ? policyFor(built, "denied", () =>
        buildBotNetworkPolicy({ bot: identity, settings: deps.settings.network, egress: { allowed: false } }),
      )
    : spec.ok && credentials?.ok
      ? policyFor(built, `open:${credentials.databasePort}`, () =>
          buildBotNetworkPolicy({
            bot: identity,
            settings: deps.settings.network,
            egress: { allowed: true, spec: spec.spec, databasePort: credentials.databasePort },
          }),
        )
      : undefined;
  if (policy)
    writes.push(applyOwnedObject(api, RESOURCES.networkPolicies, caches.networkPolicies, policy, logger));
  // Otherwise a stopping pod keeps the policy it has until it is gone.
  await Promise.all(writes);
}

function policyFor(
  built: BuiltState | undefined,
  variant: string,
  build: () => NetworkPolicy,
): NetworkPolicy {
  const known = built?.policies.get(variant);
  if (known) return known;
  const policy = build();
  built?.policies.set(variant, policy);
  return policy;
}

function recordTransitions(
  deps: BotReconcilerDeps,
  bot: TradingBotObject,
  status: TradingBotStatus,
  halt: HaltDecision,
  plan: PodPlan,
) {
  const events = transitionEvents(bot.status, status, halt, plan);
  if (events.length === 0) return;
  const target = eventTarget(bot);
  for (const event of events) {
    deps.events.record(target, event);
    if (event.reason === "Halted") deps.metrics.halts.inc({ source: sourceKind(halt.sources[0]?.source) });
    if (event.reason === "Resumed") deps.metrics.resumes.inc();
  }
  const [first] = events;
  deps.logger.info(
    {
      bot: `${bot.metadata.namespace}/${bot.metadata.name}`,
      events: events.map((e) => e.reason),
      note: first?.note,
    },
    "bot transition",
  );
}

/** When to look again without being told: backoffs, and the end of a stopping pod's grace period. */
function nextLook(
  plan: PodPlan,
  podAfter: Pod | undefined,
  now: number,
  closing: boolean,
): ReconcileOutcome | undefined {
  if (plan.action === "awaitRetry") return { requeueAfterMs: Math.max(0, plan.retryAt - now) + 50 };
  if (podAfter && isTerminating(podAfter)) {
    const deadline = Date.parse(podAfter.metadata.deletionTimestamp as string);
    const untilDeadline = deadline - now;
    if (closing && untilDeadline > 0)
      return { requeueAfterMs: Math.min(untilDeadline + 50, SAFETY_REQUEUE_MS) };
    return { requeueAfterMs: SAFETY_REQUEUE_MS };
  }
  return undefined;
}

/**
 * Deletion: stop the pod with its grace period (the runtime cancels its orders), then let the
 * TradingBot go. A pod still there after its grace period plus a margin is force-deleted (recorded in
 * an Event): deletion never blocks forever.
 */
async function stopForDeletion(
  deps: BotReconcilerDeps,
  bot: TradingBotObject,
): Promise<ReconcileOutcome | undefined> {
  if (!(bot.metadata.finalizers ?? []).includes(FINALIZER)) return undefined;
  const { namespace = "", name } = bot.metadata;
  let pod = deps.caches.pods.get(objectKey(namespace, podNameFor(name)));
  const now = deps.now();
  if (pod && !isTerminating(pod)) pod = await deletePod(deps.api, deps.caches.pods, pod);

  let latest = bot;
  if (pod) {
    const status = computeTerminatingStatus(bot.status, bot.metadata.generation, pod, timestampOf(now));
    latest = await writeStatus(deps.api, RESOURCES.tradingBots, deps.caches.bots, bot, status).catch(
      (error) => {
        if (isNotFound(error) || isConflict(error)) return bot;
        throw error;
      },
    );
    const allowedMs = graceSecondsOf(pod) * 1000 + deps.settings.deletionMarginMs;
    const deadline = Date.parse(bot.metadata.deletionTimestamp as string) + allowedMs;
    if (now < deadline) return { requeueAfterMs: Math.min(deadline - now + 50, SAFETY_REQUEUE_MS) };
    await deletePod(deps.api, deps.caches.pods, pod, 0);
    deps.events.record(eventTarget(bot), {
      type: "Warning",
      reason: "ForcedDeletion",
      action: "Delete",
      note: `The bot pod ${pod.metadata.name} was still there ${Math.round(allowedMs / 1000)} s after deletion began (its grace period plus the deletion margin): force-deleted it. Check the exchange for orders it may have left open.`,
    });
    deps.logger.warn(
      { bot: `${namespace}/${name}`, pod: pod.metadata.name },
      "force-deleted a bot pod that outlived its grace period",
    );
  }
  await removeFinalizer(deps, latest);
  deps.restartHistory.delete(objectKey(namespace, name));
  return undefined;
}

async function removeFinalizer(deps: BotReconcilerDeps, bot: TradingBotObject) {
  const finalizers = (bot.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
  try {
    const updated = await deps.api.mergePatch<TradingBotObject>(
      RESOURCES.tradingBots,
      bot.metadata.namespace,
      bot.metadata.name,
      {
        metadata: { resourceVersion: bot.metadata.resourceVersion, finalizers },
      },
    );
    deps.caches.bots.upsert(updated);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
