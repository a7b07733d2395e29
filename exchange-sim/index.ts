// In-process entry point: start the simulator on loopback ports, or create it without listening.

import type { AccountEntryInput } from "./accounts-file.ts";
import type { FaultPatch, FaultView } from "./faults.ts";
import { listenAdmin, listenApi } from "./http-server.ts";
import type { RequestLogEntry } from "./request-log.ts";
import {
  type AccountSelector,
  type AccountView,
  type ExchangeSimOptions,
  ExchangeSimulator,
  type OrderView,
  type PriceChange,
  type TradeView,
} from "./simulator.ts";

export type { AccountEntryInput } from "./accounts-file.ts";
export { parseAccountsFile } from "./accounts-file.ts";
export type { ReplayCandle, ReplayData } from "./candles.ts";
export { parseReplayFile } from "./candles.ts";
export { type Clock, type ManualClock, manualClock, systemClock } from "./clock.ts";
export { apiKeyId } from "./credentials.ts";
export type { FaultPatch, FaultView } from "./faults.ts";
export type { RateLimitConfig } from "./rate-limits.ts";
export type { RequestLogEntry } from "./request-log.ts";
export type {
  AccountSelector,
  AccountView,
  ApiOutcome,
  ApiRequest,
  ExchangeSimOptions,
  KeyView,
  OrderView,
  PriceChange,
  TradeView,
} from "./simulator.ts";
export { ExchangeSimulator } from "./simulator.ts";
export type { SymbolConfig } from "./symbols.ts";
export { defaultSymbolConfigs } from "./symbols.ts";

export interface StartOptions extends ExchangeSimOptions {
  /** API bind address (default 127.0.0.1). */
  host?: string;
  /** API port; 0 picks a free one (default 0). */
  port?: number;
  /** Admin port, always on 127.0.0.1; 0 picks a free one (default 0). */
  adminPort?: number;
}

/** A running simulator: its URLs, and the admin operations as direct calls. */
export interface ExchangeSim {
  /** Base URL of the Binance-compatible API, e.g. http://127.0.0.1:41234 */
  url: string;
  adminUrl: string;
  simulator: ExchangeSimulator;
  close(): Promise<void>;
  orders(selector?: AccountSelector): OrderView[];
  trades(selector?: AccountSelector): TradeView[];
  accounts(selector?: AccountSelector): AccountView[];
  addAccount(account: AccountEntryInput): { accountId: string; keyId: string };
  revokeKey(apiKey: string): boolean;
  setFaults(patch: FaultPatch): FaultView;
  clearFaults(): FaultView;
  faults(): FaultView;
  setPrice(change: PriceChange): { symbol: string; price: string };
  price(symbol: string): string;
  requests(filter?: { apiKey?: string; sinceMs?: number; path?: string }): RequestLogEntry[];
  reset(): void;
}

/** The simulator without servers (drive it with handleApiRequest or the admin operations). */
export function createExchangeSim(options: ExchangeSimOptions): ExchangeSimulator {
  return new ExchangeSimulator(options);
}

export async function startExchangeSim(options: StartOptions): Promise<ExchangeSim> {
  const simulator = new ExchangeSimulator(options);
  const api = await listenApi(simulator, options.host ?? "127.0.0.1", options.port ?? 0);
  let admin: Awaited<ReturnType<typeof listenAdmin>>;
  try {
    admin = await listenAdmin(simulator, options.adminPort ?? 0);
  } catch (error) {
    await api.close();
    throw error;
  }
  return {
    url: api.url,
    adminUrl: admin.url,
    simulator,
    close: async () => {
      await Promise.all([api.close(), admin.close()]);
    },
    orders: (selector) => simulator.orders(selector),
    trades: (selector) => simulator.trades(selector),
    accounts: (selector) => simulator.accounts(selector),
    addAccount: (account) => simulator.addAccount(account),
    revokeKey: (apiKey) => simulator.revokeKey(apiKey),
    setFaults: (patch) => simulator.setFaults(patch),
    clearFaults: () => simulator.setFaults({ clear: true }),
    faults: () => simulator.faults(),
    setPrice: (change) => simulator.setPrice(change),
    price: (symbol) => simulator.price(symbol),
    requests: (filter) => simulator.requests(filter),
    reset: () => simulator.reset(),
  };
}
