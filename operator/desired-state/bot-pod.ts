import {
  BOT_CONTAINER_PATHS,
  HALT_WATCH_TOKEN,
  RUNTIME_CONFIG_KEY,
  RUNTIME_FLAGS,
  RUNTIME_STATUS_PORT,
  type TradingBotSpec,
} from "../../api/v1alpha1/index.ts";
import type { Pod } from "../kube/types.ts";
import { ANNOTATIONS, configMapNameFor, podNameFor, serviceAccountNameFor, shortHash } from "../names.ts";
import { type BotIdentity, ownedMetadata } from "./bot-identity.ts";

/** The non-root user and group the runtime runs as (the "nonroot" user of distroless images). */
export const BOT_USER_ID = 65532;
export const BOT_CONTAINER_NAME = "bot";
export const MIGRATE_CONTAINER_NAME = "migrate";
export const TMP_SIZE_LIMIT = "16Mi";
/** Owner read-only. With fsGroup set, the kubelet adds group read so the non-root user can read. */
export const SECRET_FILE_MODE = 0o400;
const CONFIG_FILE_MODE = 0o444;

/** The most time a bot gets to stop unless the operator is told otherwise (--max-grace-period). */
export const DEFAULT_MAX_GRACE_PERIOD_SECONDS = 60;

/**
 * The grace period the bot's pod gets: its spec's, capped by the operator. The pod is built with it and the
 * runtime is told it (RuntimeConfig.stopGracePeriodSeconds), so its stop ends before the SIGKILL.
 */
export function podGracePeriodSeconds(
  spec: TradingBotSpec,
  maxGracePeriodSeconds = DEFAULT_MAX_GRACE_PERIOD_SECONDS,
): number {
  return Math.min(spec.pod.terminationGracePeriodSeconds, maxGracePeriodSeconds);
}

export const DEFAULT_RESOURCES = {
  requests: { cpu: "50m", memory: "128Mi" },
  limits: { cpu: "500m", memory: "256Mi" },
} as const;

export interface SecretVersions {
  exchange: string;
  database: string;
  migration?: string;
}

export interface BotPodInput {
  bot: BotIdentity;
  spec: TradingBotSpec;
  /** spec.pod.image, else the operator's default. */
  defaultImage: string;
  configHash: string;
  /** resourceVersions of the referenced Secrets: a rotation changes the pod, which restarts the bot. */
  secretVersions: SecretVersions;
  /**
   * The operator's cap on spec.pod.terminationGracePeriodSeconds: egress stays open while a bot stops,
   * so whoever writes the bot does not choose how long that is.
   */
  maxGracePeriodSeconds?: number;
  /**
   * The audience of the halt watch's token; undefined: the API server's own. An audience of its own keeps
   * the token from being accepted anywhere else, once the API server lists it in --api-audiences.
   */
  haltWatchAudience?: string | undefined;
}

const VOLUMES = {
  config: "config",
  exchange: "exchange-credentials",
  database: "database-credentials",
  migration: "migration-credentials",
  tmp: "tmp",
  haltWatch: "halt-watch",
} as const;

/** Where the kubelet finds the cluster's CA in every namespace (published by kube-controller-manager). */
const ROOT_CA_CONFIG_MAP = "kube-root-ca.crt";

function containerSecurityContext() {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: BOT_USER_ID,
    runAsGroup: BOT_USER_ID,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

function resourcesFor(spec: TradingBotSpec) {
  const overrides = spec.pod.resources;
  return {
    requests: { ...DEFAULT_RESOURCES.requests, ...overrides?.requests },
    limits: { ...DEFAULT_RESOURCES.limits, ...overrides?.limits },
  };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * A bot is mostly idle between ticks: a small young generation, one V8 worker thread and two malloc arenas
 * keep its resident memory low. A fixed malloc mmap threshold of 8 KiB gives the blocks V8's compilers and
 * garbage collector use for a moment back to the system when freed, instead of leaving them as holes in
 * glibc's heap. The V8 flags Node refuses in NODE_OPTIONS the runtime sets itself
 * (bot-runtime/v8-settings.ts). docs/runtime.md has the measurements.
 */
export const RUNTIME_PROCESS_ENV = [
  { name: "NODE_OPTIONS", value: "--max-semi-space-size=1 --v8-pool-size=1" },
  { name: "MALLOC_ARENA_MAX", value: "2" },
  { name: "MALLOC_MMAP_THRESHOLD_", value: "8192" },
] as const;

function botContainer(image: string, spec: TradingBotSpec) {
  return {
    name: BOT_CONTAINER_NAME,
    image,
    command: ["bot-runtime"],
    args: [
      "run",
      `${RUNTIME_FLAGS.config}=${BOT_CONTAINER_PATHS.configDir}/${RUNTIME_CONFIG_KEY}`,
      `${RUNTIME_FLAGS.exchangeCredentials}=${BOT_CONTAINER_PATHS.exchangeCredentialsDir}`,
      `${RUNTIME_FLAGS.databaseCredentials}=${BOT_CONTAINER_PATHS.databaseCredentialsDir}`,
      `${RUNTIME_FLAGS.terminationLog}=${BOT_CONTAINER_PATHS.terminationLog}`,
      `${RUNTIME_FLAGS.listen}=$(POD_IP):${RUNTIME_STATUS_PORT}`,
      `${RUNTIME_FLAGS.haltWatch}=${BOT_CONTAINER_PATHS.haltWatchDir}`,
    ],
    env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }, ...RUNTIME_PROCESS_ENV],
    ports: [{ name: "status", containerPort: RUNTIME_STATUS_PORT, protocol: "TCP" }],
    readinessProbe: {
      httpGet: { path: "/readyz", port: RUNTIME_STATUS_PORT },
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 3,
    },
    livenessProbe: {
      httpGet: { path: "/healthz", port: RUNTIME_STATUS_PORT },
      initialDelaySeconds: 15,
      periodSeconds: 10,
      timeoutSeconds: 2,
      failureThreshold: 3,
    },
    resources: resourcesFor(spec),
    securityContext: containerSecurityContext(),
    terminationMessagePath: BOT_CONTAINER_PATHS.terminationLog,
    terminationMessagePolicy: "File",
    volumeMounts: [
      { name: VOLUMES.config, mountPath: BOT_CONTAINER_PATHS.configDir, readOnly: true },
      { name: VOLUMES.exchange, mountPath: BOT_CONTAINER_PATHS.exchangeCredentialsDir, readOnly: true },
      { name: VOLUMES.database, mountPath: BOT_CONTAINER_PATHS.databaseCredentialsDir, readOnly: true },
      { name: VOLUMES.tmp, mountPath: BOT_CONTAINER_PATHS.tmp },
      { name: VOLUMES.haltWatch, mountPath: BOT_CONTAINER_PATHS.haltWatchDir, readOnly: true },
    ],
  };
}

/**
 * The halt watch's credentials: a token of the bot's ServiceAccount bound to this pod, valid an hour and
 * renewed by the kubelet, and the cluster CA. Only the bot container mounts it.
 */
function haltWatchVolume(audience: string | undefined) {
  return {
    name: VOLUMES.haltWatch,
    projected: {
      defaultMode: SECRET_FILE_MODE,
      sources: [
        {
          serviceAccountToken: withoutUndefined({
            audience,
            expirationSeconds: HALT_WATCH_TOKEN.expirationSeconds,
            path: HALT_WATCH_TOKEN.path,
          }),
        },
        { configMap: { name: ROOT_CA_CONFIG_MAP, items: [{ key: "ca.crt", path: "ca.crt" }] } },
      ],
    },
  };
}

/**
 * Applies schema migrations with the migration role and grants the bot's own role (read from the bot's
 * database Secret) its least privileges; only this container sees the migration Secret.
 */
function migrateContainer(image: string, spec: TradingBotSpec) {
  return {
    name: MIGRATE_CONTAINER_NAME,
    image,
    command: ["bot-runtime"],
    args: [
      "migrate",
      `${RUNTIME_FLAGS.databaseCredentials}=${BOT_CONTAINER_PATHS.migrationCredentialsDir}`,
      `${RUNTIME_FLAGS.tradingCredentials}=${BOT_CONTAINER_PATHS.databaseCredentialsDir}`,
    ],
    resources: resourcesFor(spec),
    securityContext: containerSecurityContext(),
    terminationMessagePath: BOT_CONTAINER_PATHS.terminationLog,
    terminationMessagePolicy: "File",
    volumeMounts: [
      { name: VOLUMES.migration, mountPath: BOT_CONTAINER_PATHS.migrationCredentialsDir, readOnly: true },
      { name: VOLUMES.database, mountPath: BOT_CONTAINER_PATHS.databaseCredentialsDir, readOnly: true },
      { name: VOLUMES.tmp, mountPath: BOT_CONTAINER_PATHS.tmp },
    ],
  };
}

function secretVolume(name: string, secretName: string) {
  return { name, secret: { secretName, defaultMode: SECRET_FILE_MODE } };
}

/**
 * The bot's pod: Pod Security Standard `restricted`, no automounted API token (only the halt watch's,
 * bound to the pod and readable by the bot container alone), no service links, credentials as
 * read-only files, restartPolicy Never (the operator restarts it, so it can read termination messages
 * and keep one pod per bot). The pod-spec-hash annotation identifies the desired state it was built from.
 */
export function buildBotPod(input: BotPodInput): Pod {
  const { bot, spec, secretVersions } = input;
  const image = spec.pod.image ?? input.defaultImage;
  const migration = spec.database.migrationSecretRef;
  const annotations: Record<string, string> = {
    [ANNOTATIONS.configHash]: input.configHash,
    [ANNOTATIONS.exchangeSecretVersion]: secretVersions.exchange,
    [ANNOTATIONS.databaseSecretVersion]: secretVersions.database,
  };
  if (migration && secretVersions.migration !== undefined) {
    annotations[ANNOTATIONS.migrationSecretVersion] = secretVersions.migration;
  }
  const metadata = { ...ownedMetadata(bot, podNameFor(bot.name)), annotations };
  const podSpec = withoutUndefined({
    serviceAccountName: serviceAccountNameFor(bot.name),
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    restartPolicy: "Never",
    terminationGracePeriodSeconds: podGracePeriodSeconds(spec, input.maxGracePeriodSeconds),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: BOT_USER_ID,
      runAsGroup: BOT_USER_ID,
      fsGroup: BOT_USER_ID,
      seccompProfile: { type: "RuntimeDefault" },
    },
    initContainers: migration ? [migrateContainer(image, spec)] : undefined,
    containers: [botContainer(image, spec)],
    volumes: [
      {
        name: VOLUMES.config,
        configMap: {
          name: configMapNameFor(bot.name),
          items: [{ key: RUNTIME_CONFIG_KEY, path: RUNTIME_CONFIG_KEY }],
          defaultMode: CONFIG_FILE_MODE,
        },
      },
      secretVolume(VOLUMES.exchange, spec.exchange.credentialsSecretRef.name),
      secretVolume(VOLUMES.database, spec.database.secretRef.name),
      ...(migration ? [secretVolume(VOLUMES.migration, migration.name)] : []),
      { name: VOLUMES.tmp, emptyDir: { medium: "Memory", sizeLimit: TMP_SIZE_LIMIT } },
      haltWatchVolume(input.haltWatchAudience),
    ],
    nodeSelector: spec.pod.nodeSelector,
    tolerations: spec.pod.tolerations?.map((toleration) => withoutUndefined(toleration)),
    priorityClassName: spec.pod.priorityClassName,
  });
  const pod: Pod = { apiVersion: "v1", kind: "Pod", metadata, spec: podSpec };
  annotations[ANNOTATIONS.podSpecHash] = shortHash(JSON.stringify(pod), 16);
  return pod;
}
