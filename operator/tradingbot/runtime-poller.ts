import { request } from "node:http";
import type { Logger } from "pino";
import { RUNTIME_STATUS_PORT, RuntimeReport } from "../../api/v1alpha1/index.ts";
import { deepEqual } from "../kube/json-compare.ts";
import type { ObjectCache } from "../kube/object-cache.ts";
import type { Pod } from "../kube/types.ts";
import type { Metrics } from "../ops/metrics.ts";
import { isPodReady, isTerminating } from "./pod-lifecycle.ts";
import type { RuntimeObservation } from "./status.ts";

export interface RuntimePollerOptions {
  pods: ObjectCache<Pod>;
  /** The TradingBot key (namespace/name) that owns a pod, or undefined. */
  ownerOf: (pod: Pod) => string | undefined;
  intervalMs: number;
  timeoutMs?: number;
  concurrency?: number;
  /** Called when a bot's observation changed in a way its status may show. */
  onChange: (botKey: string) => void;
  /** Polls only while this holds (the leader). */
  active: () => boolean;
  metrics: Metrics;
  logger: Logger;
}

const MAX_BACKOFF_MS = 5 * 60_000;

/** A failure in words that stay the same from one poll to the next (so status does not churn). */
export function describePollFailure(error: unknown): string {
  const cause = (error as { code?: string })?.code;
  const name = (error as { name?: string })?.name;
  if (name === "TimeoutError" || name === "AbortError")
    return "no answer from the runtime's status port in time";
  switch (cause) {
    case "ECONNREFUSED":
      return "the runtime's status port refused the connection";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "the pod's address is unreachable from the operator";
    case "ECONNRESET":
      return "the runtime closed the connection";
    default:
      return error instanceof RangeError || error instanceof SyntaxError
        ? "the runtime answered with something that is not a status report"
        : `the runtime's status endpoint failed (${cause ?? name ?? "unknown error"})`;
  }
}

/**
 * Asks each ready bot pod for GET /status, a few at a time with a short timeout. A pod that does not
 * answer is asked less and less often (up to every 5 minutes) until it changes. Results are kept per
 * bot; the status computation decides what reaches the TradingBot.
 */
export class RuntimePoller {
  readonly #options: RuntimePollerOptions;
  readonly #observations = new Map<string, RuntimeObservation>();
  readonly #schedule = new Map<string, { podUid: string; failures: number; nextAt: number }>();
  #soon: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #again = false;

  constructor(options: RuntimePollerOptions) {
    this.#options = options;
  }

  observation(botKey: string): RuntimeObservation | undefined {
    return this.#observations.get(botKey);
  }

  forget(botKey: string) {
    this.#observations.delete(botKey);
    this.#schedule.delete(botKey);
  }

  start() {
    const tick = () => {
      this.#timer = setTimeout(async () => {
        await this.pollAll();
        tick();
      }, this.#options.intervalMs);
      this.#timer.unref();
    };
    tick();
  }

  stop() {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#soon) clearTimeout(this.#soon);
  }

  /** Asks pods that just became ready soon, rather than at the next round. */
  pollSoon() {
    if (this.#soon) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      void this.pollAll();
    }, 200);
    this.#soon.unref();
  }

  async pollAll(): Promise<void> {
    if (!this.#options.active()) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    try {
      const now = Date.now();
      const due: [string, Pod][] = [];
      for (const pod of this.#options.pods.values()) {
        const key = this.#options.ownerOf(pod);
        if (!key || !pod.status?.podIP || isTerminating(pod) || !isPodReady(pod)) continue;
        const planned = this.#schedule.get(key);
        if (planned && planned.podUid === pod.metadata.uid && planned.nextAt > now) continue;
        due.push([key, pod]);
      }
      const workers = Array.from(
        { length: Math.min(this.#options.concurrency ?? 16, due.length) },
        async () => {
          for (let next = due.shift(); next; next = due.shift()) await this.#poll(next[0], next[1]);
        },
      );
      await Promise.all(workers);
    } finally {
      this.#running = false;
    }
    if (this.#again) {
      this.#again = false;
      return this.pollAll();
    }
  }

  async #poll(botKey: string, pod: Pod) {
    const ip = pod.status?.podIP as string;
    const podUid = pod.metadata.uid ?? "";
    let observation: RuntimeObservation;
    try {
      const report = RuntimeReport.safeParse(await getStatus(ip, this.#options.timeoutMs ?? 2000));
      if (!report.success) throw new RangeError("invalid report");
      observation = { podUid, reachable: true, report: report.data };
      this.#schedule.set(botKey, {
        podUid,
        failures: 0,
        nextAt: Date.now() + this.#options.intervalMs - 100,
      });
      this.#options.metrics.runtimePolls.inc({ result: "reachable" });
    } catch (error) {
      const before = this.#observations.get(botKey);
      const reachedBefore = before?.podUid === podUid && (before.reachable || before.reachedBefore);
      observation = { podUid, reachable: false, error: describePollFailure(error), reachedBefore };
      const previous = this.#schedule.get(botKey);
      const failures = previous?.podUid === podUid ? previous.failures + 1 : 1;
      const delay = Math.min(MAX_BACKOFF_MS, this.#options.intervalMs * 2 ** (failures - 1));
      this.#schedule.set(botKey, { podUid, failures, nextAt: Date.now() + delay });
      this.#options.metrics.runtimePolls.inc({ result: "unreachable" });
    }
    const previous = this.#observations.get(botKey);
    this.#observations.set(botKey, observation);
    if (!deepEqual(previous, observation)) this.#options.onChange(botKey);
  }
}

const MAX_REPORT_BYTES = 64 * 1024;

/**
 * GET http://<podIP>:8080/status on a connection of its own (no pool: every pod is a different host,
 * and a pool per host would keep a socket and its buffers per bot), bounded in time and size.
 */
function getStatus(ip: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: ip,
        port: RUNTIME_STATUS_PORT,
        path: "/status",
        method: "GET",
        agent: false,
        headers: { Connection: "close" },
      },
      (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          reject(
            Object.assign(new Error(`HTTP ${response.statusCode}`), { code: `HTTP ${response.statusCode}` }),
          );
          return;
        }
        let size = 0;
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_REPORT_BYTES) req.destroy(new RangeError("report too large"));
          else chunks.push(chunk);
        });
        response.on("end", () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
          } catch (error) {
            reject(error);
          }
        });
        response.on("error", reject);
      },
    );
    req.setTimeout(timeoutMs, () =>
      req.destroy(Object.assign(new Error("timed out"), { name: "TimeoutError" })),
    );
    req.on("error", reject);
    req.end();
  });
}
