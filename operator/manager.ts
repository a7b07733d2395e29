import type { Server } from "node:http";
import type { Logger } from "pino";
import {
  CREDENTIALS_LABEL,
  CREDENTIALS_PURPOSES,
  EXCHANGE_MODES_LABEL,
  killSwitchSelects,
  rotationPeriodSeconds,
  type TradingBotSpec,
} from "../api/v1alpha1/index.ts";
import type { OperatorConfig } from "./config.ts";
import { reconcileKillSwitch } from "./killswitch/reconcile.ts";
import { killSwitchViewOf } from "./killswitch/view.ts";
import { secretTrimmer, trimObject, trimPod } from "./kube/cache-trim.ts";
import { ApiError, KubeApi, KubeClient, NotLeaderError } from "./kube/client.ts";
import { EventRecorder } from "./kube/events.ts";
import { describeError, Informer } from "./kube/informer.ts";
import { deepEqual } from "./kube/json-compare.ts";
import type { ConnectionSource } from "./kube/kubeconfig.ts";
import { LeaderElector } from "./kube/leader-election.ts";
import { ObjectCache, objectKey } from "./kube/object-cache.ts";
import type { ResourceType } from "./kube/resources.ts";
import type { ConfigMap, KubeObject, NetworkPolicy, Pod, ServiceAccount } from "./kube/types.ts";
import { WorkQueue } from "./kube/work-queue.ts";
import { FIELD_MANAGER, MANAGED_BY_SELECTOR, REPORTING_CONTROLLER } from "./names.ts";
import { startHealthServer, startMetricsServer } from "./ops/health-server.ts";
import {
  type CredentialsAgeSample,
  createMetrics,
  type FleetSnapshot,
  type Metrics,
  sourceKind,
} from "./ops/metrics.ts";
import {
  type KillSwitchObject,
  RESOURCES,
  type TradingBotObject,
  type TradingPolicyObject,
} from "./resources.ts";
import { credentialsAge, observedSecret } from "./tradingbot/credentials-rotation.ts";
import type { BotTermination } from "./tradingbot/halt.ts";
import {
  botTermination,
  isPodReady,
  isTerminating,
  type RestartHistory,
} from "./tradingbot/pod-lifecycle.ts";
import { type Caches, reconcileTradingBot } from "./tradingbot/reconcile.ts";
import { RuntimePoller } from "./tradingbot/runtime-poller.ts";
import { SecretFactsSource } from "./tradingbot/secret-facts.ts";
import { botKillSwitch, forgetBotSpec, parseBotSpec } from "./tradingbot/spec.ts";

// Wiring: one connection and client, the watches and their caches, the event handlers that map changes
// to queue keys, leader election, the work queues, the runtime poller and the HTTP endpoints.

const BY_NAMESPACE = "namespace";
const BY_SECRET = "secret";
const KILL_SWITCH_RECOUNT_DELAY_MS = 500;
const COALESCE_MS = 100;
/** KillSwitches are few and must never be missed: they are listed again this often, watch or not. */
const KILL_SWITCH_RELIST_MS = 30_000;
/** How often to look again for the TradingPolicy kind while the API server does not serve it. */
const TRADING_POLICY_ABSENT_RETRY_MS = 30_000;
/** Workers of the TradingBot queue that take only halts, so a halt never waits for a free worker. */
const URGENT_WORKERS = 8;

/** Whether a TradingBot changed in more than its status (which the operator itself writes). */
function beyondStatus(previous: TradingBotObject, current: TradingBotObject): boolean {
  const a = previous.metadata;
  const b = current.metadata;
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    !deepEqual(a.labels, b.labels) ||
    !deepEqual(a.finalizers, b.finalizers) ||
    !deepEqual(previous.spec, current.spec)
  );
}

/**
 * Whether a TradingBot's change can start a halt: its kill switch, its labels (which KillSwitches
 * select it) or its deletion. Such a change goes to the urgent lane.
 */
function mayHalt(previous: TradingBotObject, current: TradingBotObject): boolean {
  const killSwitch = (bot: TradingBotObject) =>
    (bot.spec as { killSwitch?: unknown } | undefined)?.killSwitch;
  return (
    previous.metadata.deletionTimestamp !== current.metadata.deletionTimestamp ||
    !deepEqual(previous.metadata.labels, current.metadata.labels) ||
    !deepEqual(killSwitch(previous), killSwitch(current))
  );
}

/** Whether a pod's change can decide something at once: it ended, or started to go. */
function podEnded(previous: Pod, current: Pod): boolean {
  const ended = (pod: Pod) =>
    pod.status?.phase === "Failed" ||
    pod.status?.phase === "Succeeded" ||
    (pod.status?.containerStatuses ?? []).some((c) => c.state?.terminated !== undefined);
  return (ended(current) && !ended(previous)) || (isTerminating(current) && !isTerminating(previous));
}

/** The TradingBot (namespace/name) that controls an owned object. */
export function controllingBot(object: KubeObject): string | undefined {
  const owner = object.metadata.ownerReferences?.find(
    (o) => o.controller && o.kind === RESOURCES.tradingBots.kind,
  );
  return owner ? objectKey(object.metadata.namespace, owner.name) : undefined;
}

/** Names of the Secrets a raw spec references, read leniently (an invalid spec still has them). */
function referencedSecrets(bot: TradingBotObject): string[] {
  const spec = bot.spec as
    | Partial<Record<keyof TradingBotSpec, Record<string, { name?: unknown } | undefined>>>
    | undefined;
  const names = [
    spec?.exchange?.credentialsSecretRef?.name,
    spec?.database?.secretRef?.name,
    spec?.database?.migrationSecretRef?.name,
  ];
  return names
    .filter((n): n is string => typeof n === "string")
    .map((n) => objectKey(bot.metadata.namespace, n));
}

export class Operator {
  readonly #config: OperatorConfig;
  readonly #logger: Logger;
  readonly client: KubeClient;
  readonly api: KubeApi;
  readonly metrics: Metrics;
  readonly caches: Caches;
  readonly #informers: Informer<KubeObject>[] = [];
  readonly #botQueue: WorkQueue;
  readonly #killSwitchQueue: WorkQueue;
  readonly #events: EventRecorder;
  readonly #poller: RuntimePoller;
  readonly #secretFacts: SecretFactsSource;
  readonly #restartHistory = new Map<string, RestartHistory>();
  readonly #goneTerminations = new Map<string, BotTermination>();
  readonly #elector: LeaderElector | undefined;
  #leading = false;
  #servers: Server[] = [];
  #resyncTimer: NodeJS.Timeout | undefined;
  #onFatal: (reason: string) => void = () => {};

  constructor(config: OperatorConfig, connection: ConnectionSource, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    this.metrics = createMetrics(
      () => this.#fleet(),
      () => this.#informers,
      () => this.#credentialsAges(),
    );
    this.client = new KubeClient(connection, {
      qps: config.qps,
      burst: config.burst,
      onResponse: (verb, resource, code, seconds) =>
        this.metrics.recordApiResponse(verb, resource, code, seconds),
      mayWrite: () => this.#mayWrite(),
    });
    this.api = new KubeApi(this.client, FIELD_MANAGER);

    this.caches = {
      bots: new ObjectCache<TradingBotObject>(trimObject),
      killSwitches: new ObjectCache<KillSwitchObject>(trimObject),
      tradingPolicies: new ObjectCache<TradingPolicyObject>(trimObject),
      pods: new ObjectCache<Pod>(trimPod),
      configMaps: new ObjectCache<ConfigMap>(trimObject),
      networkPolicies: new ObjectCache<NetworkPolicy>(trimObject),
      serviceAccounts: new ObjectCache<ServiceAccount>(trimObject),
      secrets: new ObjectCache<KubeObject>(secretTrimmer([CREDENTIALS_LABEL, EXCHANGE_MODES_LABEL])),
    };
    this.caches.bots.addIndex(BY_NAMESPACE, (bot) => [bot.metadata.namespace ?? ""]);
    this.caches.bots.addIndex(BY_SECRET, referencedSecrets);

    this.#botQueue = new WorkQueue({
      name: "tradingbots",
      concurrency: config.concurrency,
      urgentConcurrency: URGENT_WORKERS,
      onDepthChange: (depth) => this.metrics.queueDepth.set({ queue: "tradingbots" }, depth),
      onRetry: () => this.metrics.queueRetries.inc({ queue: "tradingbots" }),
      onError: (key, error) => this.#logReconcileError("TradingBot", key, error),
    });
    this.#killSwitchQueue = new WorkQueue({
      name: "killswitches",
      concurrency: 2,
      onDepthChange: (depth) => this.metrics.queueDepth.set({ queue: "killswitches" }, depth),
      onRetry: () => this.metrics.queueRetries.inc({ queue: "killswitches" }),
      onError: (key, error) => this.#logReconcileError("KillSwitch", key, error),
    });
    this.#events = new EventRecorder({
      api: this.api,
      controller: REPORTING_CONTROLLER,
      instance: config.identity,
      logger,
      busy: () => this.#botQueue.depth > 0,
      onResult: (reason, result) => this.metrics.events.inc({ reason, result }),
    });
    this.#secretFacts = new SecretFactsSource(this.api, this.caches.secrets);
    this.#poller = new RuntimePoller({
      pods: this.caches.pods,
      ownerOf: controllingBot,
      intervalMs: config.runtimePollInterval,
      onChange: (key) => this.#botQueue.add(key),
      active: () => this.#leading,
      metrics: this.metrics,
      logger,
    });
    if (config.leaderElect) {
      this.#elector = new LeaderElector({
        api: this.api,
        namespace: config.operatorNamespace,
        name: config.leaderElectionId,
        identity: config.identity,
        logger,
        onStartedLeading: () => this.#startLeading(),
        onStoppedLeading: () => this.#onFatal("lost the leader lease"),
      });
    }
    this.#registerHandlers();
    this.#createInformers();
  }

  #mayWrite(): boolean {
    return this.#leading && (this.#elector === undefined || this.#elector.isLeader());
  }

  #logReconcileError(kind: string, key: string, error: unknown) {
    if (error instanceof NotLeaderError) return;
    // A namespace being deleted refuses new objects until its bots are gone: expected, not worth a warning.
    const level =
      error instanceof ApiError && error.status?.message?.includes("being terminated") ? "debug" : "warn";
    this.#logger[level]({ kind, key, err: describeError(error) }, "reconcile failed; retrying with backoff");
  }

  #fleet(): FleetSnapshot {
    const botsByPhase = new Map<string, number>();
    const haltedBySource = new Map<string, number>();
    for (const bot of this.caches.bots.values()) {
      const phase = bot.status?.phase ?? "Unknown";
      botsByPhase.set(phase, (botsByPhase.get(phase) ?? 0) + 1);
      if (bot.status?.halt?.engaged) {
        const source = sourceKind(bot.status.halt.source);
        haltedBySource.set(source, (haltedBySource.get(source) ?? 0) + 1);
      }
    }
    return { botsByPhase, haltedBySource };
  }

  /** Each bot's credentials age, as its reconcile would compute it now (credentials-rotation.ts). */
  *#credentialsAges(): Iterable<CredentialsAgeSample> {
    const now = Date.now();
    for (const bot of this.caches.bots.values()) {
      const parsed = parseBotSpec(bot);
      if (bot.metadata.deletionTimestamp || !parsed.ok) continue;
      const { exchange } = parsed.spec;
      const namespace = bot.metadata.namespace ?? "";
      const secret = this.caches.secrets.get(objectKey(namespace, exchange.credentialsSecretRef.name));
      const age = credentialsAge(bot.status?.credentials, observedSecret(secret), now);
      if (!age) continue;
      yield {
        namespace,
        name: bot.metadata.name,
        ageSeconds: age.seconds,
        rotationPeriodSeconds:
          exchange.rotateCredentialsEvery === undefined
            ? undefined
            : rotationPeriodSeconds(exchange.rotateCredentialsEvery),
      };
    }
  }

  #enqueueBot = (key: string | undefined, urgent = false) => {
    if (key) this.#botQueue.add(key, urgent);
  };

  /**
   * For changes that follow from the operator's own work (its status writes, its owned objects, a pod
   * being scheduled or started): reconciled shortly after, so a burst of them costs one reconcile. What
   * can decide a halt (spec, labels, KillSwitches, Secrets, a pod ending or going) is enqueued at once.
   */
  #nudgeBot = (key: string | undefined) => {
    if (key) this.#botQueue.addAfter(key, COALESCE_MS);
  };

  #recountKillSwitches() {
    if (!this.#config.killSwitchStatus) return;
    for (const name of this.caches.killSwitches.keys())
      this.#killSwitchQueue.addAfter(name, KILL_SWITCH_RECOUNT_DELAY_MS);
  }

  #haltedFromTheStart(bot: TradingBotObject): boolean {
    if (botKillSwitch(bot).killSwitch.engaged || bot.metadata.deletionTimestamp) return true;
    const selectable = { namespace: bot.metadata.namespace ?? "", labels: bot.metadata.labels };
    for (const object of this.caches.killSwitches.values()) {
      const view = killSwitchViewOf(object);
      if (view.engaged && killSwitchSelects(view, selectable)) return true;
    }
    return false;
  }

  /** Bots a KillSwitch could select: those of its namespaces matching its selector. */
  #botsSelectedBy(object: KillSwitchObject): string[] {
    const view = killSwitchViewOf(object);
    const keys =
      view.namespaces === "all"
        ? [...this.caches.bots.keys()]
        : view.namespaces.flatMap((ns) => this.caches.bots.byIndex(BY_NAMESPACE, ns));
    return keys.filter((key) => {
      const bot = this.caches.bots.get(key);
      return (
        bot !== undefined &&
        killSwitchSelects(view, { namespace: bot.metadata.namespace ?? "", labels: bot.metadata.labels })
      );
    });
  }

  #registerHandlers() {
    const {
      bots,
      killSwitches,
      tradingPolicies,
      pods,
      configMaps,
      networkPolicies,
      serviceAccounts,
      secrets,
    } = this.caches;
    bots.subscribe({
      onAdd: (bot) => {
        // A fleet arriving is no halt: only a bot that is halted from the start jumps the queue.
        this.#enqueueBot(ObjectCache.keyOf(bot), this.#haltedFromTheStart(bot));
        this.#recountKillSwitches();
      },
      onUpdate: (previous, current) => {
        if (beyondStatus(previous, current)) {
          this.#enqueueBot(ObjectCache.keyOf(current), mayHalt(previous, current));
        } else this.#nudgeBot(ObjectCache.keyOf(current));
        if (
          previous.status?.halt?.engaged !== current.status?.halt?.engaged ||
          !deepEqual(previous.metadata.labels, current.metadata.labels)
        ) {
          this.#recountKillSwitches();
        }
      },
      onDelete: (bot) => {
        const key = ObjectCache.keyOf(bot);
        forgetBotSpec(bot.metadata.uid);
        this.#enqueueBot(key);
        this.#poller.forget(key);
        this.#recountKillSwitches();
      },
    });
    const onKillSwitchChange = (
      previous: KillSwitchObject | undefined,
      current: KillSwitchObject | undefined,
    ) => {
      const name = (current ?? previous)?.metadata.name as string;
      this.#killSwitchQueue.add(name);
      if (previous && current && deepEqual(previous.spec, current.spec)) return;
      const keys = new Set([
        ...(previous ? this.#botsSelectedBy(previous) : []),
        ...(current ? this.#botsSelectedBy(current) : []),
      ]);
      // An engaged switch is a halt: its bots jump the queue. A release is not.
      const urgent = current !== undefined && killSwitchViewOf(current).engaged;
      for (const key of keys) this.#botQueue.add(key, urgent);
    };
    killSwitches.subscribe({
      onAdd: (current) => onKillSwitchChange(undefined, current),
      onUpdate: onKillSwitchChange,
      onDelete: (previous) => onKillSwitchChange(previous, undefined),
    });
    // A policy may now refuse a running bot, or allow a refused one: every bot it applies to looks again.
    const onPolicyChange = () => {
      for (const key of bots.keys()) this.#botQueue.add(key);
    };
    tradingPolicies.subscribe({
      onAdd: onPolicyChange,
      onUpdate: (previous, current) => {
        if (!deepEqual(previous.spec, current.spec)) onPolicyChange();
      },
      onDelete: onPolicyChange,
    });
    pods.subscribe({
      onAdd: (pod) => {
        const bot = controllingBot(pod);
        if (bot !== undefined) this.#goneTerminations.delete(bot);
        this.#nudgeBot(bot);
      },
      onUpdate: (previous, current) => {
        // A pod that ended may carry a risk halt in its termination message: urgent.
        if (podEnded(previous, current)) this.#enqueueBot(controllingBot(current), true);
        else this.#nudgeBot(controllingBot(current));
        if (!isPodReady(previous) && isPodReady(current)) this.#poller.pollSoon();
      },
      onDelete: (pod) => {
        // Its last state may be the first the operator sees of its end (a freeze, events coalesced).
        const bot = controllingBot(pod);
        const termination = botTermination(pod);
        if (bot !== undefined && termination !== undefined) this.#goneTerminations.set(bot, termination);
        this.#enqueueBot(bot, true);
        // A KillSwitch counts a bot as halted only once its pod is gone.
        this.#recountKillSwitches();
      },
    });
    for (const cache of [configMaps, networkPolicies, serviceAccounts] as ObjectCache<KubeObject>[]) {
      cache.subscribe({
        onAdd: (object) => this.#nudgeBot(controllingBot(object)),
        onUpdate: (_previous, current) => this.#nudgeBot(controllingBot(current)),
        onDelete: (object) => this.#nudgeBot(controllingBot(object)),
      });
    }
    const onSecretChange = (secret: KubeObject) => {
      for (const key of bots.byIndex(BY_SECRET, ObjectCache.keyOf(secret))) this.#botQueue.add(key);
    };
    secrets.subscribe({
      onAdd: onSecretChange,
      onUpdate: (_previous, current) => onSecretChange(current),
      onDelete: (secret) => {
        this.#secretFacts.forget(ObjectCache.keyOf(secret));
        onSecretChange(secret);
      },
    });
  }

  #createInformers() {
    const namespaces = this.#config.namespaces === "all" ? [undefined] : this.#config.namespaces;
    const add = <T extends KubeObject>(
      type: ResourceType,
      cache: ObjectCache<T>,
      options: {
        labelSelector?: string;
        metadataOnly?: boolean;
        namespace?: string;
        relistIntervalMs?: number;
        absentRetryMs?: number;
      },
    ) => {
      this.#informers.push(
        new Informer<T>({
          api: this.api,
          type,
          cache,
          ...options,
          onRestart: (reason) => this.metrics.watchRestarts.inc({ resource: type.plural, reason }),
          logger: this.#logger,
        }) as unknown as Informer<KubeObject>,
      );
    };
    add(RESOURCES.killSwitches, this.caches.killSwitches, { relistIntervalMs: KILL_SWITCH_RELIST_MS });
    // Before the TradingPolicy CRD is installed (an upgrade that kept the old CRDs) there are no policies;
    // nothing else waits on it.
    add(RESOURCES.tradingPolicies, this.caches.tradingPolicies, {
      absentRetryMs: TRADING_POLICY_ABSENT_RETRY_MS,
    });
    for (const namespace of namespaces) {
      add(RESOURCES.tradingBots, this.caches.bots, { namespace });
      add(RESOURCES.pods, this.caches.pods, { namespace, labelSelector: MANAGED_BY_SELECTOR });
      add(RESOURCES.configMaps, this.caches.configMaps, { namespace, labelSelector: MANAGED_BY_SELECTOR });
      add(RESOURCES.networkPolicies, this.caches.networkPolicies, {
        namespace,
        labelSelector: MANAGED_BY_SELECTOR,
      });
      add(RESOURCES.serviceAccounts, this.caches.serviceAccounts, {
        namespace,
        labelSelector: MANAGED_BY_SELECTOR,
      });
      // Only Secrets labelled for a bot's use are watched, cached, read and mounted.
      add(RESOURCES.secrets, this.caches.secrets, {
        namespace,
        metadataOnly: true,
        labelSelector: `${CREDENTIALS_LABEL} in (${CREDENTIALS_PURPOSES.join(",")})`,
      });
    }
  }

  get synced(): boolean {
    return this.#informers.every((informer) => informer.synced);
  }

  /** Every watch has been heard from lately (a dead one fails this until it is started again). */
  get watchesHealthy(): boolean {
    return this.#informers.every((informer) => informer.healthy);
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** Starts watches and endpoints, then campaigns for leadership (or leads at once without election). */
  async start(onFatal: (reason: string) => void): Promise<{ healthPort: number; metricsPort: number }> {
    this.#onFatal = onFatal;
    const { bindAddress, healthPort, metricsPort } = this.#config;
    const health = await startHealthServer(
      { live: () => true, ready: () => this.synced && this.watchesHealthy },
      bindAddress,
      healthPort,
    );
    const metrics = await startMetricsServer(this.metrics.registry, bindAddress, metricsPort);
    this.#servers = [health.server, metrics.server];
    this.metrics.leader.set(0);
    for (const informer of this.#informers) informer.start();
    await Promise.all(this.#informers.map((informer) => informer.waitForSync()));
    this.#logger.info(
      { bots: this.caches.bots.size, killSwitches: this.caches.killSwitches.size },
      "caches synced",
    );
    if (this.#elector) {
      this.#elector.run().catch((error) => this.#onFatal(`leader election failed: ${describeError(error)}`));
    } else {
      this.#startLeading();
    }
    return { healthPort: health.port, metricsPort: metrics.port };
  }

  #startLeading() {
    if (this.#leading) return;
    this.#leading = true;
    this.metrics.leader.set(1);
    const now = () => Date.now();
    const deps = {
      api: this.api,
      caches: this.caches,
      secretFacts: this.#secretFacts,
      runtime: this.#poller,
      events: this.#events,
      metrics: this.metrics,
      settings: {
        botImage: this.#config.botImage,
        network: {
          operatorNamespace: this.#config.operatorNamespace,
          operatorPodLabels: this.#config.operatorPodLabels,
          monitoringNamespaceSelector: this.#config.monitoringNamespaceSelector,
          dnsNamespace: this.#config.dnsNamespace,
          apiServer: { ports: this.#config.apiServerPorts, cidrs: this.#config.apiServerCidrs },
        },
        mirrorIntervalMs: this.#config.runtimeMirrorInterval,
        auditAnchor: {
          everyRows: this.#config.auditAnchorRows,
          everyMs: this.#config.auditAnchorInterval,
        },
        deletionMarginMs: this.#config.deletionMargin,
        maxGracePeriodSeconds: Math.round(this.#config.maxGracePeriod / 1000),
        haltWatchAudience: this.#config.haltWatchAudience || undefined,
      },
      haltWatchAccess: { clusterRole: this.#config.haltWatchClusterRole },
      logger: this.#logger,
      now,
      restartHistory: this.#restartHistory,
      goneTerminations: this.#goneTerminations,
      built: new Map(),
      conflicts: new Map(),
    };
    this.#botQueue.start((key) => this.#timed("TradingBot", () => reconcileTradingBot(deps, key)));
    this.#killSwitchQueue.start((name) =>
      this.#timed("KillSwitch", () =>
        reconcileKillSwitch(
          {
            api: this.api,
            killSwitches: this.caches.killSwitches,
            bots: this.caches.bots,
            pods: this.caches.pods,
            now,
          },
          name,
        ),
      ),
    );
    this.#resyncAll();
    this.#poller.start();
    const scheduleResync = () => {
      this.#resyncTimer = setTimeout(() => {
        this.#resyncAll();
        scheduleResync();
      }, this.#config.resyncPeriod);
      this.#resyncTimer.unref();
    };
    scheduleResync();
    this.#logger.info(
      { identity: this.#config.identity, concurrency: this.#config.concurrency },
      "reconciling",
    );
  }

  async #timed<T>(controller: string, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    let result = "success";
    try {
      const outcome = await run();
      if (outcome && (outcome as { requeueAfterMs?: number }).requeueAfterMs !== undefined)
        result = "requeue";
      return outcome;
    } catch (error) {
      result = "error";
      throw error;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.metrics.reconcileTotal.inc({ controller, result });
      this.metrics.reconcileDuration.observe({ controller, result }, seconds);
    }
  }

  /** Level-triggered resync: every bot and switch is reconciled again from the caches. */
  #resyncAll() {
    for (const key of this.caches.bots.keys()) this.#botQueue.add(key);
    if (this.#config.killSwitchStatus)
      for (const name of this.caches.killSwitches.keys()) this.#killSwitchQueue.add(name);
  }

  /** A full resync: every watch relists, then every object is reconciled (SIGHUP). */
  relistAll() {
    for (const informer of this.#informers) informer.relist();
    if (this.#leading) this.#resyncAll();
  }

  /** Stops reconciling (in-flight reconciles finish), hands the Lease over and closes everything. */
  async stop() {
    if (this.#resyncTimer) clearTimeout(this.#resyncTimer);
    this.#poller.stop();
    await Promise.all([this.#botQueue.shutdown(), this.#killSwitchQueue.shutdown()]);
    await Promise.race([this.#events.flushed(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    this.#leading = false;
    await this.#elector?.stop();
    this.metrics.leader.set(0);
    await Promise.all(this.#informers.map((informer) => informer.stop()));
    for (const server of this.#servers) server.close();
    this.client.close();
  }
}
