import { CoreV1Api, CustomObjectsApi, type KubeConfig, NetworkingV1Api } from "@kubernetes/client-node";
import type { TradingBotStatus } from "../../api/v1alpha1/index.ts";
import { waitFor } from "../support/wait-for.ts";

// Reads of the cluster as its admin, independent of the operator's own client, for the suites' assertions.

export interface BotObject {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    generation: number;
    finalizers?: string[];
  };
  spec: Record<string, unknown>;
  status?: TradingBotStatus;
}

const notFound = (error: unknown) => (error as { code?: number }).code === 404;

export class ClusterView {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly networking: NetworkingV1Api;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.networking = kc.makeApiClient(NetworkingV1Api);
  }

  async bot(namespace: string, name: string): Promise<BotObject | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({
        group: "trading.botops.dev",
        version: "v1alpha1",
        namespace,
        plural: "tradingbots",
        name,
      })) as BotObject;
    } catch (error) {
      if (notFound(error)) return undefined;
      throw error;
    }
  }

  async pod(namespace: string, name: string) {
    try {
      return await this.core.readNamespacedPod({ namespace, name });
    } catch (error) {
      if (notFound(error)) return undefined;
      throw error;
    }
  }

  async botPods(namespace: string, bot?: string) {
    const selector = bot
      ? `trading.botops.dev/bot=${bot}`
      : "app.kubernetes.io/managed-by=tradingbot-operator";
    return (await this.core.listNamespacedPod({ namespace, labelSelector: selector })).items;
  }

  async networkPolicy(namespace: string, name: string) {
    return this.networking.readNamespacedNetworkPolicy({ namespace, name });
  }

  /** Waits until the bot's status satisfies `accept`, and returns the bot. */
  waitForBot(
    namespace: string,
    name: string,
    accept: (bot: BotObject) => boolean,
    what: string,
    timeoutMs = 30_000,
  ) {
    return waitFor(
      async () => {
        const bot = await this.bot(namespace, name);
        return bot && accept(bot) ? bot : undefined;
      },
      { what: `${namespace}/${name}: ${what}`, timeoutMs },
    );
  }

  waitForPodGone(namespace: string, name: string, timeoutMs = 30_000) {
    return waitFor(async () => (await this.pod(namespace, name)) === undefined, {
      what: `pod ${namespace}/${name} to be gone`,
      timeoutMs,
    });
  }
}

export const condition = (bot: BotObject | undefined, type: string) =>
  bot?.status?.conditions?.find((c) => c.type === type);
export const isReady = (bot: BotObject) => condition(bot, "Ready")?.status === "True";
