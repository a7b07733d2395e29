import { type KubeConfig, Watch } from "@kubernetes/client-node";

interface PodEvent {
  type: string;
  name: string;
  uid: string;
  bot: string;
  deleting: boolean;
}

/**
 * Records every watch event of the operator's pods in one namespace, and the largest number of pods
 * that ever existed at once for one bot: the singleton rule says it is never more than one.
 */
export class PodRecorder {
  readonly events: PodEvent[] = [];
  readonly #live = new Map<string, Set<string>>();
  #maxPerBot = new Map<string, number>();
  #abort: AbortController | undefined;

  static async start(kc: KubeConfig, namespace: string): Promise<PodRecorder> {
    const recorder = new PodRecorder();
    const watch = new Watch(kc);
    recorder.#abort = await watch.watch(
      `/api/v1/namespaces/${namespace}/pods`,
      { labelSelector: "app.kubernetes.io/managed-by=tradingbot-operator" },
      (
        type,
        object: {
          metadata: {
            name: string;
            uid: string;
            labels?: Record<string, string>;
            deletionTimestamp?: string;
          };
        },
      ) => recorder.#record(type, object),
      () => {},
    );
    return recorder;
  }

  #record(
    type: string,
    object: {
      metadata: { name: string; uid: string; labels?: Record<string, string>; deletionTimestamp?: string };
    },
  ) {
    const bot = object.metadata.labels?.["trading.botops.dev/bot"] ?? "?";
    this.events.push({
      type,
      name: object.metadata.name,
      uid: object.metadata.uid,
      bot,
      deleting: !!object.metadata.deletionTimestamp,
    });
    const live = this.#live.get(bot) ?? new Set<string>();
    if (type === "DELETED") live.delete(object.metadata.uid);
    else live.add(object.metadata.uid);
    this.#live.set(bot, live);
    this.#maxPerBot.set(bot, Math.max(this.#maxPerBot.get(bot) ?? 0, live.size));
  }

  /** The most pods that existed at the same time for any one bot. */
  maxPodsPerBot(bot?: string): number {
    if (bot !== undefined) return this.#maxPerBot.get(bot) ?? 0;
    return Math.max(0, ...this.#maxPerBot.values());
  }

  /** Distinct pods (uids) ever seen for a bot. */
  podsSeen(bot: string): number {
    return new Set(this.events.filter((e) => e.bot === bot).map((e) => e.uid)).size;
  }

  stop() {
    this.#abort?.abort();
  }
}
