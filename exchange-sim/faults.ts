// Fault injection: added latency, a share of 5xx answers, requests that never get an answer, a 429 storm, a
// skewed server clock, and orders that are accepted but whose response is lost. Random decisions come from a
// seeded stream, so a run with the same seed and the same requests sees the same faults.

import { z } from "zod";
import { formatIssues } from "./accounts-file.ts";
import { randomStream } from "./random.ts";

const share = z.number().min(0, "must be between 0 and 1").max(1, "must be between 0 and 1");

export const faultPatchSchema = z.strictObject({
  /** Clears every fault before applying the other fields. */
  clear: z.literal(true).optional(),
  latencyMs: z.number().int().min(0).max(600_000).optional(),
  errorRate5xx: share.optional(),
  hangRate: share.optional(),
  /** true/false, or a storm lasting durationMs from now. */
  rate429Storm: z
    .union([z.boolean(), z.strictObject({ durationMs: z.number().int().positive() })])
    .optional(),
  clockSkewMs: z.number().int().min(-86_400_000).max(86_400_000).optional(),
  /** The next N accepted orders, or a share of them, are executed but their response is dropped. */
  dropResponseAfterOrderAccepted: z
    .union([z.number().int().min(0), z.strictObject({ rate: share })])
    .optional(),
  /** Restricts latency, 5xx, hangs and the storm to requests whose path starts with one of these. */
  paths: z.array(z.string().startsWith("/", "paths start with /")).nullable().optional(),
});

export type FaultPatch = z.input<typeof faultPatchSchema>;

export interface FaultState {
  latencyMs: number;
  errorRate5xx: number;
  hangRate: number;
  /** Server time until which every request is answered 429; Infinity while switched on. */
  stormUntilMs: number;
  clockSkewMs: number;
  dropNextOrders: number;
  dropOrderRate: number;
  paths: string[] | null;
}

export interface FaultView {
  latencyMs: number;
  errorRate5xx: number;
  hangRate: number;
  rate429Storm: boolean | { untilMs: number };
  clockSkewMs: number;
  dropResponseAfterOrderAccepted: number | { rate: number };
  paths: string[] | null;
}

export type RequestFault = "storm" | "error5xx" | "hang";

function noFaults(): FaultState {
  return {
    latencyMs: 0,
    errorRate5xx: 0,
    hangRate: 0,
    stormUntilMs: 0,
    clockSkewMs: 0,
    dropNextOrders: 0,
    dropOrderRate: 0,
    paths: null,
  };
}

export function parseFaultPatch(value: unknown, where: string): FaultPatch {
  const result = faultPatchSchema.safeParse(value);
  if (!result.success) throw new Error(`${where}: ${formatIssues(result.error)}`);
  return result.data;
}

export class FaultInjector {
  private state: FaultState = noFaults();
  private random: () => number;
  private readonly seed: number;

  constructor(seed: number) {
    this.seed = seed;
    this.random = randomStream(seed ^ 0x5bd1e995);
  }

  apply(patch: FaultPatch, nowMs: number): FaultView {
    const parsed = parseFaultPatch(patch, "faults");
    const next = parsed.clear === true ? noFaults() : { ...this.state };
    if (parsed.latencyMs !== undefined) next.latencyMs = parsed.latencyMs;
    if (parsed.errorRate5xx !== undefined) next.errorRate5xx = parsed.errorRate5xx;
    if (parsed.hangRate !== undefined) next.hangRate = parsed.hangRate;
    if (parsed.clockSkewMs !== undefined) next.clockSkewMs = parsed.clockSkewMs;
    if (parsed.paths !== undefined) next.paths = parsed.paths;
    const storm = parsed.rate429Storm;
    if (storm !== undefined) {
      next.stormUntilMs =
        storm === true ? Number.POSITIVE_INFINITY : storm === false ? 0 : nowMs + storm.durationMs;
    }
    const drop = parsed.dropResponseAfterOrderAccepted;
    if (typeof drop === "number") {
      next.dropNextOrders = drop;
      next.dropOrderRate = 0;
    } else if (drop !== undefined) {
      next.dropNextOrders = 0;
      next.dropOrderRate = drop.rate;
    }
    this.state = next;
    return this.view(nowMs);
  }

  view(nowMs: number): FaultView {
    const { state } = this;
    const stormOn = state.stormUntilMs > nowMs;
    return {
      latencyMs: state.latencyMs,
      errorRate5xx: state.errorRate5xx,
      hangRate: state.hangRate,
      rate429Storm:
        stormOn && Number.isFinite(state.stormUntilMs) ? { untilMs: state.stormUntilMs } : stormOn,
      clockSkewMs: state.clockSkewMs,
      dropResponseAfterOrderAccepted:
        state.dropOrderRate > 0 ? { rate: state.dropOrderRate } : state.dropNextOrders,
      paths: state.paths,
    };
  }

  get clockSkewMs(): number {
    return this.state.clockSkewMs;
  }

  private applies(path: string): boolean {
    return this.state.paths === null || this.state.paths.some((prefix) => path.startsWith(prefix));
  }

  latencyFor(path: string): number {
    return this.applies(path) ? this.state.latencyMs : 0;
  }

  /** The fault, if any, that replaces this request's normal handling. */
  requestFault(path: string, nowMs: number): RequestFault | undefined {
    if (!this.applies(path)) return undefined;
    if (this.state.stormUntilMs > nowMs) return "storm";
    if (this.state.errorRate5xx > 0 && this.random() < this.state.errorRate5xx) return "error5xx";
    if (this.state.hangRate > 0 && this.random() < this.state.hangRate) return "hang";
    return undefined;
  }

  /** Whether the response to an order that was just accepted is to be lost. */
  dropsAcceptedOrderResponse(): boolean {
    if (this.state.dropNextOrders > 0) {
      this.state.dropNextOrders--;
      return true;
    }
    return this.state.dropOrderRate > 0 && this.random() < this.state.dropOrderRate;
  }

  reset(): void {
    this.state = noFaults();
    this.random = randomStream(this.seed ^ 0x5bd1e995);
  }
}
