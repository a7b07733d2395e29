import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ExchangeObserver } from "../exchange/ccxt-binance.ts";

// The runtime's Prometheus metrics. Label values are fixed vocabularies (sides, order types, results,
// exchange error codes, limit names): never free text, so no secret or message can become a label.

export type RuntimeMetrics = ReturnType<typeof createMetrics>;

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "tradingbot_runtime_" });
  const metrics = {
    registry,
    orders: new Counter({
      name: "tradingbot_runtime_orders_total",
      help: "Orders by side, type and result (placed, rejected, refused by the risk gate, not_placed, unknown, cancelled).",
      labelNames: ["side", "type", "result"] as const,
      registers: [registry],
    }),
    fills: new Counter({
      name: "tradingbot_runtime_fills_total",
      help: "Fills (trades) of the bot's orders, by side.",
      labelNames: ["side"] as const,
      registers: [registry],
    }),
    orderRoundTrip: new Histogram({
      name: "tradingbot_runtime_order_round_trip_seconds",
      help: "Time from sending an order to the exchange's answer.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    exchangeErrors: new Counter({
      name: "tradingbot_runtime_exchange_errors_total",
      help: "Failed exchange calls by code (Binance error code, HTTP_<status>, TIMEOUT or NETWORK).",
      labelNames: ["code"] as const,
      registers: [registry],
    }),
    requestWeight: new Gauge({
      name: "tradingbot_runtime_request_weight_used",
      help: "Request weight used in the current minute, as the exchange last reported it.",
      registers: [registry],
    }),
    rateLimitHits: new Counter({
      name: "tradingbot_runtime_rate_limit_hits_total",
      help: "Answers 429 (rate limited) and 418 (IP banned) from the exchange.",
      labelNames: ["status"] as const,
      registers: [registry],
    }),
    clockResyncs: new Counter({
      name: "tradingbot_runtime_clock_resyncs_total",
      help: "Clock resynchronisations after a -1021 (timestamp outside recvWindow).",
      registers: [registry],
    }),
    riskEvents: new Counter({
      name: "tradingbot_runtime_risk_events_total",
      help: "Risk events by limit; halting limits stop the bot.",
      labelNames: ["limit"] as const,
      registers: [registry],
    }),
    position: new Gauge({
      name: "tradingbot_runtime_position_base",
      help: "Position held by the bot, in the base currency.",
      registers: [registry],
    }),
    equity: new Gauge({
      name: "tradingbot_runtime_equity_quote",
      help: "Quote balance plus position at the last price.",
      registers: [registry],
    }),
    realizedPnl: new Gauge({
      name: "tradingbot_runtime_realized_pnl_quote",
      help: "Realized profit and loss, in the quote currency.",
      registers: [registry],
    }),
    openOrders: new Gauge({
      name: "tradingbot_runtime_open_orders",
      help: "The bot's open orders.",
      registers: [registry],
    }),
    haltWatchUnconfirmed: new Gauge({
      name: "tradingbot_runtime_halt_watch_unconfirmed_seconds",
      help: "Seconds since the bot's halt watch last confirmed its halt sources (its TradingBot and the KillSwitches) current: a list, an event or a bookmark of both.",
      registers: [registry],
    }),
    haltWatchRestarts: new Counter({
      name: "tradingbot_runtime_halt_watch_restarts_total",
      help: "Restarts of the halt watch's list or watch, by collection (tradingbot, killswitches).",
      labelNames: ["collection"] as const,
      registers: [registry],
    }),
    lastHeartbeat: new Gauge({
      name: "tradingbot_runtime_last_heartbeat_timestamp_seconds",
      help: "When the trading loop last completed a tick (Unix time).",
      registers: [registry],
    }),
    databaseUp: new Gauge({
      name: "tradingbot_runtime_database_up",
      help: "1 while the database is reachable; 0 while the runtime fails closed.",
      registers: [registry],
    }),
  };
  metrics.databaseUp.set(1);
  return metrics;
}

export function exchangeObserverFor(
  metrics: RuntimeMetrics,
  onRateLimited: (status: 429 | 418, retryAfterMs: number) => void,
  onClockResynced: (offsetMs: number) => void,
): ExchangeObserver {
  return {
    error: (code) => metrics.exchangeErrors.inc({ code }),
    weightUsed: (weight) => metrics.requestWeight.set(weight),
    rateLimited: (status, retryAfterMs) => {
      metrics.rateLimitHits.inc({ status: String(status) });
      onRateLimited(status, retryAfterMs);
    },
    clockResynced: (offsetMs) => {
      metrics.clockResyncs.inc();
      onClockResynced(offsetMs);
    },
  };
}
