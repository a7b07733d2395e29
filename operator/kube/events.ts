import type { Logger } from "pino";
import type { KubeApi } from "./client.ts";
import { describeError } from "./informer.ts";
import { CORE_RESOURCES } from "./resources.ts";
import { microTime } from "./time.ts";

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid: string;
}

export interface BotEvent {
  type: "Normal" | "Warning";
  reason: string;
  /** What the operator did (events.k8s.io `action`): Halt, Resume, Stop, ... */
  action: string;
  note: string;
}

const MAX_NOTE = 1024;
const MAX_BACKLOG = 10_000;

/**
 * Records events.k8s.io/v1 Events in the background, a few at a time, and none while reconciles wait
 * in the queue (`busy`): an Event never delays a halt, not even the thousandth of a fleet halt. A
 * failure to record one is logged and counted, never retried into a storm.
 */
export interface EventRecorderOptions {
  api: KubeApi;
  /** events.k8s.io reportingController and reportingInstance. */
  controller: string;
  instance: string;
  logger: Logger;
  /** Whether reconciles are waiting: Events wait while they do. */
  busy?: () => boolean;
  concurrency?: number;
  /** Each Event's fate, for metrics. */
  onResult?: (reason: string, result: "recorded" | "failed" | "dropped") => void;
}

export class EventRecorder {
  readonly #api: KubeApi;
  readonly #controller: string;
  readonly #instance: string;
  readonly #onResult: NonNullable<EventRecorderOptions["onResult"]>;
  readonly #logger: Logger;
  readonly #backlog: { target: EventTarget; event: BotEvent; at: number }[] = [];
  #running = 0;
  #sequence = 0;
  readonly #concurrency: number;
  readonly #busy: () => boolean;
  #idle: (() => void)[] = [];
  #retry: NodeJS.Timeout | undefined;

  constructor(options: EventRecorderOptions) {
    this.#api = options.api;
    this.#controller = options.controller;
    this.#instance = options.instance;
    this.#onResult = options.onResult ?? (() => {});
    this.#logger = options.logger;
    this.#busy = options.busy ?? (() => false);
    this.#concurrency = options.concurrency ?? 4;
  }

  record(target: EventTarget, event: BotEvent) {
    if (this.#backlog.length >= MAX_BACKLOG) {
      this.#onResult(event.reason, "dropped");
      return;
    }
    this.#backlog.push({ target, event, at: Date.now() });
    this.#pump();
  }

  /** Resolves once every queued Event was sent (shutdown: sent even if the queue is busy). */
  flushed(): Promise<void> {
    if (this.#backlog.length === 0 && this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idle.push(resolve);
      this.#pump(true);
    });
  }

  #pump(force = false) {
    if (!force && this.#busy()) {
      this.#retry ??= setTimeout(() => {
        this.#retry = undefined;
        this.#pump();
      }, 100);
      return;
    }
    while (this.#running < this.#concurrency && this.#backlog.length > 0) {
      const next = this.#backlog.shift();
      if (!next) break;
      this.#running += 1;
      this.#send(next.target, next.event, next.at).finally(() => {
        this.#running -= 1;
        this.#pump(this.#idle.length > 0);
        if (this.#running === 0 && this.#backlog.length === 0)
          for (const resolve of this.#idle.splice(0)) resolve();
      });
    }
  }

  async #send(target: EventTarget, event: BotEvent, at: number) {
    this.#sequence = (this.#sequence + 1) % 1_000_000;
    const name = `${target.name}.${(at * 1000 + this.#sequence).toString(16)}`;
    try {
      await this.#api.create(CORE_RESOURCES.events, {
        apiVersion: "events.k8s.io/v1",
        kind: "Event",
        metadata: { name, namespace: target.namespace },
        eventTime: microTime(at),
        reportingController: this.#controller,
        reportingInstance: this.#instance.slice(0, 128),
        action: event.action,
        reason: event.reason,
        type: event.type,
        note: event.note.length > MAX_NOTE ? `${event.note.slice(0, MAX_NOTE - 1)}…` : event.note,
        regarding: target,
      } as never);
      this.#onResult(event.reason, "recorded");
    } catch (error) {
      this.#onResult(event.reason, "failed");
      this.#logger.warn(
        { reason: event.reason, object: `${target.namespace}/${target.name}`, err: describeError(error) },
        "could not record event",
      );
    }
  }
}
