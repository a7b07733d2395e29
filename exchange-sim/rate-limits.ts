// Binance's limits: request weight per IP per minute, order counts per account per 10 s and per day, and the
// IP ban (HTTP 418) for clients that keep sending after 429s. Windows are fixed and aligned to the clock, as
// the X-MBX-USED-WEIGHT-1M and X-MBX-ORDER-COUNT-* headers report them.

export interface RateLimitConfig {
  requestWeightPerMinute: number;
  ordersPer10Seconds: number;
  ordersPerDay: number;
  /** 429 answers within one minute after which the IP is banned. */
  bannedAfter429s: number;
  firstBanMs: number;
  maxBanMs: number;
}

export const defaultRateLimits: RateLimitConfig = {
  requestWeightPerMinute: 6000,
  ordersPer10Seconds: 100,
  ordersPerDay: 200_000,
  bannedAfter429s: 10,
  firstBanMs: 2 * 60_000,
  maxBanMs: 3 * 24 * 3600_000,
};

const MINUTE = 60_000;
const TEN_SECONDS = 10_000;
const DAY = 24 * 3600_000;

interface IpState {
  windowStart: number;
  weight: number;
  rejections: number;
  bannedUntil: number;
  bans: number;
}

interface AccountOrderState {
  tenSecondStart: number;
  tenSecondCount: number;
  dayStart: number;
  dayCount: number;
}

export type WeightVerdict =
  | { kind: "allowed"; usedWeight: number }
  | { kind: "limited"; usedWeight: number; retryAfterSeconds: number }
  | { kind: "banned"; usedWeight: number; untilMs: number; retryAfterSeconds: number };

export type OrderVerdict =
  | { kind: "allowed"; count10s: number; count1d: number }
  | { kind: "limited"; count10s: number; count1d: number; limit: number; interval: string };

export class RateLimiter {
  readonly config: RateLimitConfig;
  private readonly ips = new Map<string, IpState>();
  private readonly accounts = new Map<string, AccountOrderState>();

  constructor(config: RateLimitConfig) {
    this.config = config;
  }

  private ip(address: string, nowMs: number): IpState {
    let state = this.ips.get(address);
    const windowStart = Math.floor(nowMs / MINUTE) * MINUTE;
    if (state === undefined) {
      state = { windowStart, weight: 0, rejections: 0, bannedUntil: 0, bans: 0 };
      this.ips.set(address, state);
    } else if (state.windowStart !== windowStart) {
      state.windowStart = windowStart;
      state.weight = 0;
      state.rejections = 0;
    }
    return state;
  }

  /** A ban in force for the IP, if any. */
  banOf(address: string, nowMs: number): WeightVerdict | undefined {
    const state = this.ip(address, nowMs);
    if (state.bannedUntil <= nowMs) return undefined;
    return {
      kind: "banned",
      usedWeight: state.weight,
      untilMs: state.bannedUntil,
      retryAfterSeconds: Math.ceil((state.bannedUntil - nowMs) / 1000),
    };
  }

  /** Counts a 429 against the IP; enough of them within a minute ban it, for longer at each repeat. */
  recordRejection(address: string, nowMs: number): Exclude<WeightVerdict, { kind: "allowed" }> {
    const state = this.ip(address, nowMs);
    state.rejections++;
    if (state.rejections > this.config.bannedAfter429s) {
      const duration = Math.min(this.config.firstBanMs * 2 ** state.bans, this.config.maxBanMs);
      state.bans++;
      state.bannedUntil = nowMs + duration;
      state.rejections = 0;
      return {
        kind: "banned",
        usedWeight: state.weight,
        untilMs: state.bannedUntil,
        retryAfterSeconds: Math.ceil(duration / 1000),
      };
    }
    return {
      kind: "limited",
      usedWeight: state.weight,
      retryAfterSeconds: Math.max(1, Math.ceil((state.windowStart + MINUTE - nowMs) / 1000)),
    };
  }

  /** Adds a request's weight; over the limit the request is refused (429), repeatedly so → banned (418). */
  chargeWeight(address: string, weight: number, nowMs: number): WeightVerdict {
    const ban = this.banOf(address, nowMs);
    if (ban !== undefined) return ban;
    const state = this.ip(address, nowMs);
    state.weight += weight;
    if (state.weight > this.config.requestWeightPerMinute) return this.recordRejection(address, nowMs);
    return { kind: "allowed", usedWeight: state.weight };
  }

  usedWeight(address: string, nowMs: number): number {
    return this.ip(address, nowMs).weight;
  }

  private account(accountId: string, nowMs: number): AccountOrderState {
    let state = this.accounts.get(accountId);
    const tenSecondStart = Math.floor(nowMs / TEN_SECONDS) * TEN_SECONDS;
    const dayStart = Math.floor(nowMs / DAY) * DAY;
    if (state === undefined) {
      state = { tenSecondStart, tenSecondCount: 0, dayStart, dayCount: 0 };
      this.accounts.set(accountId, state);
    }
    if (state.tenSecondStart !== tenSecondStart) {
      state.tenSecondStart = tenSecondStart;
      state.tenSecondCount = 0;
    }
    if (state.dayStart !== dayStart) {
      state.dayStart = dayStart;
      state.dayCount = 0;
    }
    return state;
  }

  /** Whether the account may place another order now (orders already counted in both windows). */
  orderAllowance(accountId: string, nowMs: number): OrderVerdict {
    const state = this.account(accountId, nowMs);
    const counts = { count10s: state.tenSecondCount, count1d: state.dayCount };
    if (state.tenSecondCount >= this.config.ordersPer10Seconds) {
      return { kind: "limited", ...counts, limit: this.config.ordersPer10Seconds, interval: "10 SECOND" };
    }
    if (state.dayCount >= this.config.ordersPerDay) {
      return { kind: "limited", ...counts, limit: this.config.ordersPerDay, interval: "1 DAY" };
    }
    return { kind: "allowed", ...counts };
  }

  /** Counts an order the exchange accepted. */
  recordOrder(accountId: string, nowMs: number): { count10s: number; count1d: number } {
    const state = this.account(accountId, nowMs);
    state.tenSecondCount++;
    state.dayCount++;
    return { count10s: state.tenSecondCount, count1d: state.dayCount };
  }

  orderCounts(accountId: string, nowMs: number): { count10s: number; count1d: number } {
    const state = this.account(accountId, nowMs);
    return { count10s: state.tenSecondCount, count1d: state.dayCount };
  }
}
