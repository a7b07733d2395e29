// The admin API (JSON, on its own loopback port): read-back of orders, trades, accounts and requests, and
// control of accounts, keys, faults, prices and resets. Maps admin routes onto the simulator's operations.

import { z } from "zod";
import { formatIssues } from "./accounts-file.ts";
import type { ExchangeSimulator } from "./simulator.ts";

export interface AdminResponse {
  status: number;
  body: unknown;
}

const priceChangeSchema = z.union([
  z.strictObject({
    symbol: z.string().min(1),
    price: z.union([z.string(), z.number().positive()]).transform(String),
  }),
  z.strictObject({ symbol: z.string().min(1), movePct: z.number() }),
]);

class AdminInputError extends Error {}

function selectorFrom(query: URLSearchParams) {
  const apiKey = query.get("apiKey") ?? undefined;
  const accountId = query.get("accountId") ?? undefined;
  const symbol = query.get("symbol") ?? undefined;
  return {
    ...(apiKey === undefined ? {} : { apiKey }),
    ...(accountId === undefined ? {} : { accountId }),
    ...(symbol === undefined ? {} : { symbol }),
  };
}

function sinceFrom(query: URLSearchParams): number | undefined {
  const since = query.get("since");
  if (since === null) return undefined;
  const value = Number(since);
  if (!Number.isSafeInteger(value))
    throw new AdminInputError(`since must be epoch milliseconds (got ${since})`);
  return value;
}

export const adminRoutes = [
  "GET /admin/status",
  "GET /admin/orders?apiKey=|accountId=&symbol=",
  "GET /admin/trades?apiKey=|accountId=&symbol=",
  "GET /admin/accounts?apiKey=|accountId=",
  "POST /admin/accounts",
  "DELETE /admin/accounts/:apiKey",
  "GET /admin/faults",
  "POST /admin/faults",
  "DELETE /admin/faults",
  "GET /admin/price?symbol=",
  "POST /admin/price",
  "GET /admin/requests?apiKey=&since=&path=",
  "POST /admin/reset",
];

export function handleAdminRequest(
  sim: ExchangeSimulator,
  method: string,
  path: string,
  query: URLSearchParams,
  body: unknown,
): AdminResponse {
  try {
    return route(sim, method, path, query, body);
  } catch (error) {
    const message = (error as Error).message;
    const status = /^no (API key|account)/.test(message) ? 404 : 400;
    return { status, body: { error: message } };
  }
}

function route(
  sim: ExchangeSimulator,
  method: string,
  path: string,
  query: URLSearchParams,
  body: unknown,
): AdminResponse {
  const ok = (value: unknown, status = 200): AdminResponse => ({ status, body: value });
  const key = `${method} ${path}`;
  switch (key) {
    case "GET /admin/status":
      return ok({ serverTime: sim.serverTime(), startTime: sim.startMs, rateLimits: sim.limits });
    case "GET /admin/orders":
      return ok(sim.orders(selectorFrom(query)));
    case "GET /admin/trades":
      return ok(sim.trades(selectorFrom(query)));
    case "GET /admin/accounts":
      return ok(sim.accounts(selectorFrom(query)));
    case "POST /admin/accounts":
      return ok(sim.addAccount(body as never), 201);
    case "GET /admin/faults":
      return ok(sim.faults());
    case "POST /admin/faults":
      return ok(sim.setFaults(body as never));
    case "DELETE /admin/faults":
      return ok(sim.setFaults({ clear: true }));
    case "GET /admin/price": {
      const symbol = query.get("symbol");
      if (symbol === null)
        throw new AdminInputError("symbol query parameter is required, e.g. ?symbol=BTCUSDT");
      return ok({ symbol, price: sim.price(symbol) });
    }
    case "POST /admin/price": {
      const parsed = priceChangeSchema.safeParse(body);
      if (!parsed.success) {
        throw new AdminInputError(
          `price change: ${formatIssues(parsed.error)} (send {"symbol": "BTCUSDT", "price": "50000"} or {"symbol": "BTCUSDT", "movePct": -20})`,
        );
      }
      return ok(sim.setPrice(parsed.data));
    }
    case "GET /admin/requests": {
      const apiKey = query.get("apiKey") ?? undefined;
      const since = sinceFrom(query);
      const requestPath = query.get("path") ?? undefined;
      return ok(
        sim.requests({
          ...(apiKey === undefined ? {} : { apiKey }),
          ...(since === undefined ? {} : { sinceMs: since }),
          ...(requestPath === undefined ? {} : { path: requestPath }),
        }),
      );
    }
    case "POST /admin/reset":
      sim.reset();
      return ok({ reset: true });
  }
  if (method === "DELETE" && path.startsWith("/admin/accounts/")) {
    const apiKey = decodeURIComponent(path.slice("/admin/accounts/".length));
    if (!sim.revokeKey(apiKey)) return { status: 404, body: { error: "no such API key" } };
    return ok({ revoked: true });
  }
  return {
    status: 404,
    body: { error: `no admin route ${method} ${path}; routes: ${adminRoutes.join(", ")}` },
  };
}
