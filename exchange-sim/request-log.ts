// What reached the exchange: one entry per API request (never the key itself, only its id), bounded.

export interface RequestLogEntry {
  time: number;
  method: string;
  path: string;
  keyId: string | null;
  ip: string;
  /** HTTP status answered; 0 when the request was left hanging. */
  status: number;
  /** Binance error code of the answer, when it was an error. */
  code: number | null;
  weight: number;
  /** The injected fault that shaped the answer, if any. */
  fault: "storm" | "error5xx" | "hang" | "dropped" | null;
}

export class RequestLog {
  private entries: RequestLogEntry[] = [];
  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  add(entry: RequestLogEntry): void {
    this.entries.push(entry);
    if (this.entries.length > this.capacity * 1.25) this.entries = this.entries.slice(-this.capacity);
  }

  query(filter: { keyIds?: readonly string[]; sinceMs?: number; path?: string }): RequestLogEntry[] {
    return this.entries
      .slice(-this.capacity)
      .filter(
        (entry) =>
          (filter.keyIds === undefined || (entry.keyId !== null && filter.keyIds.includes(entry.keyId))) &&
          (filter.sinceMs === undefined || entry.time >= filter.sinceMs) &&
          (filter.path === undefined || entry.path === filter.path),
      );
  }

  clear(): void {
    this.entries = [];
  }
}
