import type { Logger } from "pino";
import { describeError } from "./informer.ts";
import type { KubeApi } from "./kube-client.ts";
import type { Metrics } from "./metrics.ts";
import { REPORTING_CONTROLLER } from "./names.ts";
import { RESOURCES } from "./resources.ts";

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

function microTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000Z`;
}

/**
 * Records events.k8s.io/v1 Events in the background, a few at a time, and none while reconciles wait
 * in the queue (`busy`): an Event never delays a halt, not even the thousandth of a fleet halt. A
 * failure to record one is logged and counted, never retried into a storm.
 */
export class EventRecorder {
  readonly #api: KubeApi;
  readonly #instance: string;
  readonly #metrics: Metrics;
  readonly #logger: Logger;
  readonly #backlog: { target: EventTarget; event: BotEvent; at: number }[] = [];
  #running = 0;
  #sequence = 0;
  readonly #concurrency: number;
  readonly #busy: () => boolean;
  #idle: (() => void)[] = [];
  #retry: NodeJS.Timeout | undefined;

  constructor(
    api: KubeApi,
    instance: string,
    metrics: Metrics,
    logger: Logger,
    busy: () => boolean = () => false,
    concurrency = 4,
  ) {
    this.#api = api;
    this.#instance = instance;
    this.#metrics = metrics;
    this.#logger = logger;
    this.#busy = busy;
    this.#concurrency = concurrency;
  }

  record(target: EventTarget, event: BotEvent) {
    if (this.#backlog.length >= MAX_BACKLOG) {
      this.#metrics.events.inc({ reason: event.reason, result: "dropped" });
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
      await this.#api.create(RESOURCES.events, {
        apiVersion: "events.k8s.io/v1",
        kind: "Event",
        metadata: { name, namespace: target.namespace },
        eventTime: microTime(at),
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: this.#instance.slice(0, 128),
        action: event.action,
        reason: event.reason,
        type: event.type,
        note: event.note.length > MAX_NOTE ? `${event.note.slice(0, MAX_NOTE - 1)}…` : event.note,
        regarding: target,
      } as never);
      this.#metrics.events.inc({ reason: event.reason, result: "recorded" });
    } catch (error) {
      this.#metrics.events.inc({ reason: event.reason, result: "failed" });
      this.#logger.warn(
        { reason: event.reason, object: `${target.namespace}/${target.name}`, err: describeError(error) },
        "could not record event",
      );
    }
  }
}
