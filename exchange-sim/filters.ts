// Symbol filters (Binance filters.md): the checks a new order must pass before it reaches the matching engine.
// Each returns the failing filter's name, which becomes Binance's "Filter failure: <NAME>" (-1013).

import { isMultipleOf, multiplyUnits } from "./decimal.ts";
import type { SymbolSpec } from "./symbols.ts";

export type FilterName =
  | "PRICE_FILTER"
  | "PERCENT_PRICE_BY_SIDE"
  | "LOT_SIZE"
  | "MARKET_LOT_SIZE"
  | "NOTIONAL"
  | "MAX_NUM_ORDERS";

export interface FilterCheckInput {
  side: "BUY" | "SELL";
  isMarket: boolean;
  price: bigint | undefined;
  quantity: bigint | undefined;
  quoteOrderQty: bigint | undefined;
  /** Average price over the symbol's avgPriceMins (used for market notional and price bands). */
  averagePrice: bigint;
  openOrdersOnSymbol: number;
}

export function priceFilterPasses(spec: SymbolSpec, price: bigint): boolean {
  if (spec.minPrice > 0n && price < spec.minPrice) return false;
  if (spec.maxPrice > 0n && price > spec.maxPrice) return false;
  return isMultipleOf(price, spec.tickSize);
}

export function lotSizePasses(minQty: bigint, maxQty: bigint, stepSize: bigint, quantity: bigint): boolean {
  if (quantity < minQty) return false;
  if (maxQty > 0n && quantity > maxQty) return false;
  return isMultipleOf(quantity - minQty, stepSize);
}

export function percentPriceBySidePasses(spec: SymbolSpec, price: bigint, averagePrice: bigint): boolean {
  const upper = multiplyUnits(averagePrice, spec.multiplierUp, "ceil");
  const lower = multiplyUnits(averagePrice, spec.multiplierDown, "floor");
  return price <= upper && price >= lower;
}

/** The first filter the order fails, in the order Binance evaluates them, or undefined when it passes. */
export function failedFilter(spec: SymbolSpec, order: FilterCheckInput): FilterName | undefined {
  if (order.price !== undefined) {
    if (!priceFilterPasses(spec, order.price)) return "PRICE_FILTER";
    if (!percentPriceBySidePasses(spec, order.price, order.averagePrice)) return "PERCENT_PRICE_BY_SIDE";
  }
  if (order.quantity !== undefined) {
    if (!lotSizePasses(spec.minQty, spec.maxQty, spec.stepSize, order.quantity)) return "LOT_SIZE";
    if (order.isMarket && !lotSizePasses(spec.marketMinQty, spec.marketMaxQty, 0n, order.quantity)) {
      return "MARKET_LOT_SIZE";
    }
  }
  const notional = orderNotional(order);
  if (notional !== undefined) {
    if (notional < spec.minNotional) return "NOTIONAL";
    // applyMaxToMarket is false, as on Binance's major pairs.
    if (!order.isMarket && spec.maxNotional > 0n && notional > spec.maxNotional) return "NOTIONAL";
  }
  if (!order.isMarket && order.openOrdersOnSymbol >= spec.maxNumOrders) return "MAX_NUM_ORDERS";
  return undefined;
}

function orderNotional(order: FilterCheckInput): bigint | undefined {
  if (order.quoteOrderQty !== undefined) return order.quoteOrderQty;
  if (order.quantity === undefined) return undefined;
  const price = order.isMarket ? order.averagePrice : order.price;
  return price === undefined ? undefined : multiplyUnits(price, order.quantity, "floor");
}
