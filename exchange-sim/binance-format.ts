// Renders the engine's state in Binance Spot REST response shapes (field names, order, 8-decimal strings).

import { formatUnits } from "./decimal.ts";
import type { Balance, Order, Trade } from "./engine.ts";
import type { RateLimitConfig } from "./rate-limits.ts";
import type { SymbolSpec } from "./symbols.ts";

const fmt = (units: bigint) => formatUnits(units);

export function exchangeInfoSymbol(spec: SymbolSpec) {
  return {
    symbol: spec.symbol,
    status: "TRADING",
    baseAsset: spec.baseAsset,
    baseAssetPrecision: 8,
    quoteAsset: spec.quoteAsset,
    quotePrecision: 8,
    quoteAssetPrecision: 8,
    baseCommissionPrecision: 8,
    quoteCommissionPrecision: 8,
    orderTypes: ["LIMIT", "LIMIT_MAKER", "MARKET"],
    icebergAllowed: false,
    ocoAllowed: false,
    otoAllowed: false,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: false,
    cancelReplaceAllowed: false,
    amendAllowed: false,
    pegInstructionsAllowed: false,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      {
        filterType: "PRICE_FILTER",
        minPrice: fmt(spec.minPrice),
        maxPrice: fmt(spec.maxPrice),
        tickSize: fmt(spec.tickSize),
      },
      {
        filterType: "LOT_SIZE",
        minQty: fmt(spec.minQty),
        maxQty: fmt(spec.maxQty),
        stepSize: fmt(spec.stepSize),
      },
      {
        filterType: "MARKET_LOT_SIZE",
        minQty: fmt(spec.marketMinQty),
        maxQty: fmt(spec.marketMaxQty),
        stepSize: fmt(0n),
      },
      {
        filterType: "PERCENT_PRICE_BY_SIDE",
        bidMultiplierUp: formatUnits(spec.multiplierUp, 1),
        bidMultiplierDown: formatUnits(spec.multiplierDown, 1),
        askMultiplierUp: formatUnits(spec.multiplierUp, 1),
        askMultiplierDown: formatUnits(spec.multiplierDown, 1),
        avgPriceMins: spec.avgPriceMins,
      },
      {
        filterType: "NOTIONAL",
        minNotional: fmt(spec.minNotional),
        applyMinToMarket: true,
        maxNotional: fmt(spec.maxNotional),
        applyMaxToMarket: false,
        avgPriceMins: spec.avgPriceMins,
      },
      { filterType: "MAX_NUM_ORDERS", maxNumOrders: spec.maxNumOrders },
    ],
    permissions: [],
    permissionSets: [["SPOT"]],
    defaultSelfTradePreventionMode: "EXPIRE_MAKER",
    allowedSelfTradePreventionModes: ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
  };
}

export function rateLimitDefinitions(limits: RateLimitConfig) {
  return [
    {
      rateLimitType: "REQUEST_WEIGHT",
      interval: "MINUTE",
      intervalNum: 1,
      limit: limits.requestWeightPerMinute,
    },
    { rateLimitType: "ORDERS", interval: "SECOND", intervalNum: 10, limit: limits.ordersPer10Seconds },
    { rateLimitType: "ORDERS", interval: "DAY", intervalNum: 1, limit: limits.ordersPerDay },
  ];
}

function orderCore(order: Order) {
  return {
    symbol: order.symbol,
    orderId: order.orderId,
    orderListId: -1,
    clientOrderId: order.clientOrderId,
  };
}

function orderAmounts(order: Order) {
  return {
    price: fmt(order.price),
    origQty: fmt(order.origQty),
    executedQty: fmt(order.executedQty),
    origQuoteOrderQty: fmt(order.origQuoteOrderQty),
    cummulativeQuoteQty: fmt(order.cummulativeQuoteQty),
    status: order.status,
    timeInForce: order.timeInForce,
    type: order.type,
    side: order.side,
  };
}

/** GET /api/v3/order, openOrders, allOrders. */
export function queriedOrder(order: Order) {
  return {
    ...orderCore(order),
    ...orderAmounts(order),
    stopPrice: fmt(0n),
    icebergQty: fmt(0n),
    time: order.time,
    updateTime: order.updateTime,
    isWorking: order.type !== "MARKET",
    workingTime: order.workingTime,
    selfTradePreventionMode: order.selfTradePreventionMode,
  };
}

export type ResponseType = "ACK" | "RESULT" | "FULL";

/** POST /api/v3/order in the requested newOrderRespType. */
export function newOrderResponse(order: Order, fills: readonly Trade[], responseType: ResponseType) {
  const ack = { ...orderCore(order), transactTime: order.time };
  if (responseType === "ACK") return ack;
  const result = {
    ...ack,
    ...orderAmounts(order),
    workingTime: order.workingTime,
    selfTradePreventionMode: order.selfTradePreventionMode,
  };
  if (responseType === "RESULT") return result;
  return {
    ...result,
    fills: fills.map((trade) => ({
      price: fmt(trade.price),
      qty: fmt(trade.qty),
      commission: fmt(trade.commission),
      commissionAsset: trade.commissionAsset,
      tradeId: trade.id,
    })),
  };
}

/** DELETE /api/v3/order and each entry of DELETE /api/v3/openOrders. */
export function canceledOrder(order: Order, cancelClientOrderId: string, transactTime: number) {
  return {
    symbol: order.symbol,
    origClientOrderId: order.clientOrderId,
    orderId: order.orderId,
    orderListId: -1,
    clientOrderId: cancelClientOrderId,
    transactTime,
    ...orderAmounts(order),
    selfTradePreventionMode: order.selfTradePreventionMode,
  };
}

export function myTrade(trade: Trade) {
  return {
    symbol: trade.symbol,
    id: trade.id,
    orderId: trade.orderId,
    orderListId: -1,
    price: fmt(trade.price),
    qty: fmt(trade.qty),
    quoteQty: fmt(trade.quoteQty),
    commission: fmt(trade.commission),
    commissionAsset: trade.commissionAsset,
    time: trade.time,
    isBuyer: trade.isBuyer,
    isMaker: trade.isMaker,
    isBestMatch: true,
  };
}

export function commissionRates(maker: bigint, taker: bigint) {
  return { maker: fmt(maker), taker: fmt(taker), buyer: fmt(0n), seller: fmt(0n) };
}

export function accountBalances(balances: Map<string, Balance>, omitZero: boolean) {
  return [...balances]
    .filter(([, balance]) => !omitZero || balance.free > 0n || balance.locked > 0n)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([asset, balance]) => ({ asset, free: fmt(balance.free), locked: fmt(balance.locked) }));
}
