import type { Logger } from "pino";
import { isConflict, isNotFound, type KubeApi } from "./client.ts";
import { describeError } from "./informer.ts";
import { CORE_RESOURCES } from "./resources.ts";
import { microTime } from "./time.ts";
import type { Lease } from "./types.ts";

// Leader election on a coordination.k8s.io Lease, with client-go's algorithm and controller-runtime's
// timings: a candidate takes the Lease when its holder has not renewed it for a whole lease duration,
// measured on the candidate's own clock from when it last saw the record change (clock skew between
// replicas does not matter); the leader renews every retry period and gives up leading once it has not
// renewed for the renew deadline, which is shorter than the lease duration, so two leaders never overlap.
// Durations are measured on the monotonic clock: a wall clock stepped back or forward (NTP, a VM resumed)
// neither extends a leadership nor cuts it short. The wall clock only fills the Lease's timestamps.

export interface LeaseTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const DEFAULT_LEASE_TIMINGS: LeaseTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

export interface ObservedLease {
  holder: string;
  /** Local time at which the record was last seen to change. */
  observedAt: number;
  leaseDurationMs: number;
}

/** Whether `identity` may take or renew the Lease now (pure: the core of the election). */
export function mayTakeLease(identity: string, observed: ObservedLease | undefined, now: number): boolean {
  if (!observed || observed.holder === "" || observed.holder === identity) return true;
  return observed.observedAt + observed.leaseDurationMs <= now;
}

export interface LeaderElectorOptions {
  api: KubeApi;
  namespace: string;
  name: string;
  identity: string;
  timings?: LeaseTimings;
  logger: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  /** Milliseconds on a clock that never jumps (performance.now by default). */
  monotonic?: () => number;
}

export class LeaderElector {
  readonly #options: LeaderElectorOptions;
  readonly #timings: LeaseTimings;
  #observed: ObservedLease | undefined;
  #observedRecord = "";
  #leading = false;
  #lastRenewAt = 0;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;

  readonly #monotonic: () => number;

  constructor(options: LeaderElectorOptions) {
    this.#options = options;
    this.#timings = options.timings ?? DEFAULT_LEASE_TIMINGS;
    this.#monotonic = options.monotonic ?? (() => performance.now());
  }

  /** True only while the Lease was renewed within the renew deadline: checked before every write. */
  isLeader(): boolean {
    return this.#leading && this.#monotonic() - this.#lastRenewAt < this.#timings.renewDeadlineMs;
  }

  /** Campaigns until leading, then renews until the lease is lost or `stop` is called. */
  async run(): Promise<void> {
    while (!this.#stopped && !this.#leading) {
      if (await this.#tryAcquireOrRenew()) {
        this.#leading = true;
        this.#options.logger.info(
          { lease: this.#options.name, identity: this.#options.identity },
          "became the leader",
        );
        this.#options.onStartedLeading();
        break;
      }
      await this.#sleep(this.#timings.retryPeriodMs * (1 + Math.random() * 0.2));
    }
    while (!this.#stopped && this.#leading) {
      await this.#sleep(this.#timings.retryPeriodMs);
      if (this.#stopped) break;
      const renewed = await this.#tryAcquireOrRenew();
      if (!renewed && this.#monotonic() - this.#lastRenewAt >= this.#timings.renewDeadlineMs) {
        this.#leading = false;
        this.#options.logger.error({ lease: this.#options.name }, "lost the leader lease: stopping");
        this.#options.onStoppedLeading();
      }
    }
  }

  /** Stops campaigning; a leader hands the Lease over (others take it at once). */
  async stop() {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#wake?.();
    if (!this.#leading) return;
    this.#leading = false;
    try {
      const lease = await this.#options.api.get<Lease>(
        CORE_RESOURCES.leases,
        this.#options.namespace,
        this.#options.name,
        true,
      );
      if (lease.spec?.holderIdentity !== this.#options.identity) return;
      const now = Date.now();
      await this.#options.api.replace(
        CORE_RESOURCES.leases,
        {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: null,
            leaseDurationSeconds: 1,
            acquireTime: microTime(now),
            renewTime: microTime(now),
          },
        },
        true,
      );
      this.#options.logger.info({ lease: this.#options.name }, "released the leader lease");
    } catch (error) {
      this.#options.logger.warn({ err: describeError(error) }, "could not release the leader lease");
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, ms);
    });
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity, logger } = this.#options;
    const now = this.#monotonic();
    const wallNow = Date.now();
    const leaseDurationSeconds = Math.round(this.#timings.leaseDurationMs / 1000);
    try {
      let lease: Lease | undefined;
      try {
        lease = await api.get<Lease>(CORE_RESOURCES.leases, namespace, name, true);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      if (!lease) {
        await api.create<Lease>(
          CORE_RESOURCES.leases,
          {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds,
              acquireTime: microTime(wallNow),
              renewTime: microTime(wallNow),
              leaseTransitions: 0,
            },
          },
          true,
        );
        this.#lastRenewAt = now;
        return true;
      }
      const spec = lease.spec ?? {};
      const record = JSON.stringify([
        spec.holderIdentity,
        spec.renewTime,
        spec.leaseTransitions,
        spec.leaseDurationSeconds,
      ]);
      if (record !== this.#observedRecord) {
        this.#observedRecord = record;
        this.#observed = {
          holder: spec.holderIdentity ?? "",
          observedAt: now,
          leaseDurationMs: (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000,
        };
      }
      if (!mayTakeLease(identity, this.#observed, now)) return false;
      const holding = spec.holderIdentity === identity;
      const updated = await api.replace<Lease>(
        CORE_RESOURCES.leases,
        {
          ...lease,
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds,
            acquireTime: holding && spec.acquireTime ? spec.acquireTime : microTime(wallNow),
            renewTime: microTime(wallNow),
            leaseTransitions: (spec.leaseTransitions ?? 0) + (holding ? 0 : 1),
          },
        },
        true,
      );
      const updatedSpec = updated.spec ?? {};
      this.#observedRecord = JSON.stringify([
        updatedSpec.holderIdentity,
        updatedSpec.renewTime,
        updatedSpec.leaseTransitions,
        updatedSpec.leaseDurationSeconds,
      ]);
      this.#observed = { holder: identity, observedAt: now, leaseDurationMs: leaseDurationSeconds * 1000 };
      this.#lastRenewAt = now;
      return true;
    } catch (error) {
      if (!isConflict(error))
        logger.warn({ lease: name, err: describeError(error) }, "leader election request failed");
      return false;
    }
  }
}
