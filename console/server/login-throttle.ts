// Brute-force throttles for logins, as pure decisions over recorded failures and an injected clock: a
// client IP and a username each lock out for a while once they fail too often within their window.

export interface ThrottleRule {
  /** Failures within `windowMs` that lock the key out. */
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
}

export interface LoginThrottlePolicy {
  perIp: ThrottleRule;
  perUsername: ThrottleRule;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottlePolicy = {
  perIp: { maxFailures: 5, windowMs: 60_000, lockoutMs: 15 * 60_000 },
  perUsername: { maxFailures: 10, windowMs: 60 * 60_000, lockoutMs: 15 * 60_000 },
};

/** What is on record for one key (an IP or a username). */
export interface FailureRecord {
  /** Times of the failures still inside the window, oldest first. */
  failures: readonly number[];
  lockedUntil?: number;
}

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Whether a key may try now. */
export function throttleVerdict(record: FailureRecord | undefined, now: number): ThrottleVerdict {
  if (record?.lockedUntil !== undefined && now < record.lockedUntil) {
    return { allowed: false, retryAfterSeconds: Math.ceil((record.lockedUntil - now) / 1000) };
  }
  return { allowed: true };
}

/** The record after one more failure: old failures drop out of the window; too many lock the key out. */
export function withFailure(
  record: FailureRecord | undefined,
  rule: ThrottleRule,
  now: number,
): FailureRecord {
  const failures = [...(record?.failures ?? []).filter((at) => now - at < rule.windowMs), now];
  if (failures.length >= rule.maxFailures) return { failures: [], lockedUntil: now + rule.lockoutMs };
  const lockedUntil =
    record?.lockedUntil !== undefined && now < record.lockedUntil ? record.lockedUntil : undefined;
  return lockedUntil === undefined ? { failures } : { failures, lockedUntil };
}

/** Whether a record says nothing any more and may be forgotten. */
export function isStale(record: FailureRecord, rule: ThrottleRule, now: number): boolean {
  const locked = record.lockedUntil !== undefined && now < record.lockedUntil;
  return !locked && record.failures.every((at) => now - at >= rule.windowMs);
}

/** The verdict for a login attempt: both its IP and its username must be allowed; the longer wait wins. */
export function loginVerdict(ip: ThrottleVerdict, username: ThrottleVerdict): ThrottleVerdict {
  if (ip.allowed && username.allowed) return { allowed: true };
  const waits = [ip, username].flatMap((v) => (v.allowed ? [] : [v.retryAfterSeconds]));
  return { allowed: false, retryAfterSeconds: Math.max(...waits) };
}

/** The failure books of the running console (the thin stateful edge around the functions above). */
export class LoginThrottle {
  private readonly byIp = new Map<string, FailureRecord>();
  private readonly byUsername = new Map<string, FailureRecord>();

  private readonly policy: LoginThrottlePolicy;
  private readonly now: () => number;
  /** Bounds memory under a flood of distinct names or addresses; the oldest entries go first. */
  private readonly maxEntries: number;

  constructor(policy = DEFAULT_LOGIN_THROTTLE, now: () => number = Date.now, maxEntries = 100_000) {
    this.policy = policy;
    this.now = now;
    this.maxEntries = maxEntries;
  }

  verdict(ip: string, username: string): ThrottleVerdict {
    const now = this.now();
    return loginVerdict(
      throttleVerdict(this.byIp.get(ip), now),
      throttleVerdict(this.byUsername.get(username), now),
    );
  }

  recordFailure(ip: string, username: string): void {
    const now = this.now();
    this.record(this.byIp, ip, this.policy.perIp, now);
    this.record(this.byUsername, username, this.policy.perUsername, now);
  }

  /** A successful login clears the username's failures (not the IP's: one IP may try many names). */
  recordSuccess(username: string): void {
    this.byUsername.delete(username);
  }

  private record(book: Map<string, FailureRecord>, key: string, rule: ThrottleRule, now: number): void {
    const next = withFailure(book.get(key), rule, now);
    book.delete(key);
    book.set(key, next);
    for (const [oldKey, oldRecord] of book) {
      if (book.size <= this.maxEntries && !isStale(oldRecord, rule, now)) break;
      book.delete(oldKey);
    }
  }
}
