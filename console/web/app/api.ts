import type {
  AuditPage,
  ChainAnchorCheck,
  FillView,
  HaltView,
  OrderView,
  RiskEventView,
  SnapshotPoint,
} from "../../db/views.ts";
import type { BotSummary, KillSwitchItem } from "../../kube/views.ts";

// The console's HTTP API as the page uses it (contract: docs/console.md). The session is an HttpOnly
// cookie the page never sees; the CSRF token it must send with every state-changing request comes from
// login and GET /api/session and is kept in memory only (never in localStorage).

export type {
  AuditPage,
  BotSummary,
  ChainAnchorCheck,
  FillView,
  HaltView,
  KillSwitchItem,
  OrderView,
  RiskEventView,
  SnapshotPoint,
};

export interface SessionInfo {
  user: { name: string; groups: string[] };
  csrfToken: string;
}

/** The ways in this console offers: local users' passwords, an OIDC issuer, or both. */
export interface LoginOptions {
  password: boolean;
  oidc: { name: string; startUrl: string } | null;
}

export class ApiError extends Error {
  readonly status: number;
  readonly retryAfterSeconds: number | undefined;
  constructor(status: number, message: string, retryAfterSeconds: number | undefined) {
    super(message);
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

let csrfToken: string | undefined;
let onSignedOut: () => void = () => {};

/** What to do when the API says the session is gone (expired, logged out elsewhere). */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

async function request<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (method === "POST") {
    headers["content-type"] = "application/json";
    if (csrfToken !== undefined) headers["x-csrf-token"] = csrfToken;
  }
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    ...(method === "POST" ? { body: JSON.stringify(body ?? {}) } : {}),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const parsed = text === "" ? undefined : (JSON.parse(text) as unknown);
  if (!response.ok) {
    const message = (parsed as { error?: unknown } | undefined)?.error;
    const retryAfter = Number(response.headers.get("retry-after"));
    if (response.status === 401 && path !== "/api/login") {
      csrfToken = undefined;
      onSignedOut();
    }
    throw new ApiError(
      response.status,
      typeof message === "string" ? message : `${response.status} ${response.statusText}`,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    );
  }
  return parsed as T;
}

const path = (...segments: string[]) => segments.map(encodeURIComponent).join("/");

export const api = {
  async session(): Promise<SessionInfo | undefined> {
    try {
      const session = await request<SessionInfo>("GET", "/api/session");
      csrfToken = session.csrfToken;
      return session;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return undefined;
      throw error;
    }
  },
  loginOptions: () => request<LoginOptions>("GET", "/api/login-options"),
  async login(username: string, password: string): Promise<SessionInfo> {
    const session = await request<SessionInfo>("POST", "/api/login", { username, password });
    csrfToken = session.csrfToken;
    return session;
  },
  async logout(): Promise<void> {
    await request("POST", "/api/logout");
    csrfToken = undefined;
  },
  bots: (filter: { namespace?: string; phase?: string } = {}) => {
    const query = new URLSearchParams(
      Object.entries(filter).filter((entry): entry is [string, string] => Boolean(entry[1])),
    ).toString();
    return request<{ items: BotSummary[] }>("GET", `/api/bots${query ? `?${query}` : ""}`);
  },
  bot: (namespace: string, name: string) => request<BotSummary>("GET", `/api/bots/${path(namespace, name)}`),
  botPermissions: (namespace: string, name: string) =>
    request<{ halt: boolean; resume: boolean; acknowledge: boolean }>(
      "GET",
      `/api/bots/${path(namespace, name)}/permissions`,
    ),
  halt: (namespace: string, name: string, reason: string) =>
    request<BotSummary>("POST", `/api/bots/${path(namespace, name)}/halt`, { reason }),
  resume: (namespace: string, name: string) =>
    request<BotSummary>("POST", `/api/bots/${path(namespace, name)}/resume`, {}),
  acknowledge: (namespace: string, name: string, haltId: string) =>
    request<BotSummary>("POST", `/api/bots/${path(namespace, name)}/acknowledge`, { haltId }),
  botOrders: (namespace: string, name: string) =>
    request<{ items: OrderView[] }>("GET", `/api/bots/${path(namespace, name)}/orders`),
  botFills: (namespace: string, name: string) =>
    request<{ items: FillView[] }>("GET", `/api/bots/${path(namespace, name)}/fills`),
  botSnapshots: (namespace: string, name: string, since?: string) =>
    request<{ since: string; items: SnapshotPoint[] }>(
      "GET",
      `/api/bots/${path(namespace, name)}/snapshots${since ? `?${new URLSearchParams({ since })}` : ""}`,
    ),
  botRiskEvents: (namespace: string, name: string) =>
    request<{ items: RiskEventView[] }>("GET", `/api/bots/${path(namespace, name)}/risk-events`),
  botAudit: (namespace: string, name: string, before?: number) =>
    request<AuditPage>(
      "GET",
      `/api/bots/${path(namespace, name)}/audit${before === undefined ? "" : `?before=${before}`}`,
    ),
  botHalts: (namespace: string, name: string) =>
    request<{ items: HaltView[] }>("GET", `/api/bots/${path(namespace, name)}/halts`),
  killSwitches: () => request<{ items: KillSwitchItem[] }>("GET", "/api/killswitches"),
  killSwitchPermissions: () =>
    request<{ create: boolean; update: boolean }>("GET", "/api/killswitches/permissions"),
  createKillSwitch: (body: {
    name: string;
    reason: string;
    namespaces?: string[];
    selector?: { matchLabels: Record<string, string> };
    confirmScope: string;
  }) => request<KillSwitchItem>("POST", "/api/killswitches", body),
  engageKillSwitch: (name: string, reason: string) =>
    request<KillSwitchItem>("POST", `/api/killswitches/${path(name)}/engage`, { reason }),
  releaseKillSwitch: (name: string) =>
    request<KillSwitchItem>("POST", `/api/killswitches/${path(name)}/release`, {}),
};

/** The scope of a KillSwitch as the person must type it back (docs/console.md). */
export function scopeText(namespaces: string[], matchLabels: Record<string, string>): string {
  const parts = [];
  if (namespaces.length > 0) parts.push(namespaces.join(","));
  const labels = Object.entries(matchLabels).map(([key, value]) => `${key}=${value}`);
  if (labels.length > 0) parts.push(labels.join(","));
  return parts.length > 0 ? parts.join(" ") : "all";
}

/** The fleet as the live stream tells it: every visible bot, kept current, with a listener per page. */
export class FleetFeed {
  readonly bots = new Map<string, BotSummary>();
  #source: EventSource | undefined;
  #listeners = new Set<() => void>();

  start(): void {
    if (this.#source) return;
    const source = new EventSource("/api/stream");
    source.addEventListener("bot", (event) => {
      const change = JSON.parse((event as MessageEvent<string>).data) as {
        type: "upsert" | "delete";
        bot: BotSummary;
      };
      const key = `${change.bot.namespace}/${change.bot.name}`;
      if (change.type === "delete") this.bots.delete(key);
      else this.bots.set(key, change.bot);
      for (const listener of this.#listeners) listener();
    });
    this.#source = source;
  }

  stop(): void {
    this.#source?.close();
    this.#source = undefined;
    this.bots.clear();
  }

  /** Calls `listener` on every change until the returned function is called. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
