import type { Logger } from "pino";
import { API_VERSION, TRADING_BOT } from "../../api/v1alpha1/index.ts";
import { KubeApiError, type KubeClient } from "./client.ts";
import type { StoredTradingBot } from "./views.ts";

// One watch of every TradingBot, made with the console's own identity and shared by every live page:
// the API server sees one watch however many people have the console open. Who may see which bot is
// decided per connection (by namespace, as the person) where the changes are handed out.

export type BotChange = { type: "upsert" | "delete"; bot: StoredTradingBot };
export type BotChangeListener = (change: BotChange) => void;

interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: StoredTradingBot & { code?: number; message?: string };
}

const keyOf = (bot: StoredTradingBot) => `${bot.metadata.namespace}/${bot.metadata.name}`;
const listPath = `/apis/${API_VERSION}/${TRADING_BOT.plural}`;

export class BotFeed {
  private readonly bots = new Map<string, StoredTradingBot>();
  private readonly listeners = new Set<BotChangeListener>();
  private readonly stopping = new AbortController();
  private resourceVersion = "";
  private running?: Promise<void>;

  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly retryDelayMs: number;

  constructor(client: KubeClient, log: Logger, retryDelayMs = 1_000) {
    this.client = client;
    this.log = log;
    this.retryDelayMs = retryDelayMs;
  }

  /** Starts listing and watching; resolves once the first list is in. */
  async start(): Promise<void> {
    await this.relist();
    this.running = this.watchForever();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
    this.listeners.clear();
  }

  snapshot(): StoredTradingBot[] {
    return [...this.bots.values()];
  }

  namespaces(): string[] {
    return [...new Set(this.snapshot().map((bot) => bot.metadata.namespace ?? ""))];
  }

  subscribe(listener: BotChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: BotChange): void {
    for (const listener of this.listeners) listener(change);
  }

  private async relist(): Promise<void> {
    const list = await this.client.request<{
      items: StoredTradingBot[];
      metadata: { resourceVersion: string };
    }>(listPath);
    const seen = new Set<string>();
    for (const bot of list.items) {
      seen.add(keyOf(bot));
      this.upsert(bot);
    }
    for (const [key, bot] of this.bots) {
      if (!seen.has(key)) {
        this.bots.delete(key);
        this.emit({ type: "delete", bot });
      }
    }
    this.resourceVersion = list.metadata.resourceVersion;
  }

  private upsert(bot: StoredTradingBot): void {
    const before = this.bots.get(keyOf(bot));
    if (before?.metadata.resourceVersion === bot.metadata.resourceVersion) return;
    this.bots.set(keyOf(bot), bot);
    this.emit({ type: "upsert", bot });
  }

  private async watchForever(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      try {
        const path = `${listPath}?watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(this.resourceVersion)}`;
        await this.client.stream(path, (line) => this.onWatchLine(line), signal);
      } catch (error) {
        if (signal.aborted) return;
        const expired = error instanceof KubeApiError && error.status === 410;
        if (!expired) this.log.warn({ err: error }, "TradingBot watch failed; watching again");
        await sleep(this.retryDelayMs, signal);
        await this.relist().catch((e: unknown) => this.log.warn({ err: e }, "TradingBot list failed"));
      }
    }
  }

  private onWatchLine(line: string): void {
    const event = JSON.parse(line) as WatchEvent;
    if (event.type === "ERROR") {
      throw new KubeApiError(event.object.code ?? 500, event.object.message ?? "watch error");
    }
    if (event.object.metadata?.resourceVersion) this.resourceVersion = event.object.metadata.resourceVersion;
    if (event.type === "BOOKMARK") return;
    if (event.type === "DELETED") {
      if (this.bots.delete(keyOf(event.object))) this.emit({ type: "delete", bot: event.object });
    } else {
      this.upsert(event.object);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
