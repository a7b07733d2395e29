// The synthetic order book around the path price: what market orders and marketable limit orders trade
// against. Levels are spaced from the tick size and the price, their quantities are seeded per second, and the
// book refills every second (orders placed within the same second all see the full book).

import {
  ceilToStep,
  divideUnits,
  floorToStep,
  maxUnits,
  minUnits,
  multiplyUnits,
  unitsFromNumber,
} from "./decimal.ts";
import { hashString, uniformAt } from "./random.ts";
import type { SymbolSpec } from "./symbols.ts";

export interface BookLevel {
  price: bigint;
  quantity: bigint;
}

export interface SyntheticBook {
  bids: BookLevel[];
  asks: BookLevel[];
}

// Half the quoted spread and the spacing between levels, as fractions of the price.
const HALF_SPREAD = 0.00001;
const LEVEL_SPACING = 0.00002;

export function bestPrices(spec: SymbolSpec, price: number): { bid: bigint; ask: bigint } {
  const bid = maxUnits(floorToStep(unitsFromNumber(price * (1 - HALF_SPREAD)), spec.tickSize), spec.tickSize);
  let ask = ceilToStep(unitsFromNumber(price * (1 + HALF_SPREAD)), spec.tickSize);
  if (ask <= bid) ask = bid + spec.tickSize;
  return { bid, ask };
}

/** Levels of one side around `price` at the given second (relative to the simulator's start), best first. */
export function* bookSide(
  spec: SymbolSpec,
  price: number,
  seed: number,
  second: number,
  side: "bids" | "asks",
  depth: number,
): Generator<BookLevel> {
  const { bid, ask } = bestPrices(spec, price);
  const spacing = maxUnits(floorToStep(unitsFromNumber(price * LEVEL_SPACING), spec.tickSize), spec.tickSize);
  const symbolKey = hashString(spec.symbol);
  const sideKey = side === "bids" ? 0 : 1;
  for (let level = 0; level < depth; level++) {
    const levelPrice = side === "bids" ? bid - spacing * BigInt(level) : ask + spacing * BigInt(level);
    if (levelPrice < spec.tickSize) return;
    const factor = unitsFromNumber(0.5 + uniformAt(seed, symbolKey, second, sideKey, level));
    const quantity = floorToStep(multiplyUnits(spec.bookLevelQty, factor, "floor"), spec.stepSize);
    yield { price: levelPrice, quantity: maxUnits(quantity, spec.stepSize) };
  }
}

/** `depth` levels per side. */
export function syntheticBook(
  spec: SymbolSpec,
  price: number,
  seed: number,
  second: number,
  depth: number,
): SyntheticBook {
  return {
    bids: [...bookSide(spec, price, seed, second, "bids", depth)],
    asks: [...bookSide(spec, price, seed, second, "asks", depth)],
  };
}

export interface BookFill {
  price: bigint;
  quantity: bigint;
  /** price × quantity, truncated to 8 decimals. */
  quote: bigint;
}

export interface SweepLimit {
  /** Base quantity to trade (multiple of the step size). */
  quantity?: bigint;
  /** Quote amount to spend (buy) or receive (sell) instead of a quantity. */
  quoteAmount?: bigint;
  /** Worst acceptable price (limit orders). */
  limitPrice?: bigint;
}

/** Walks the levels best-first, as a taker order would, and returns the fills it gets. */
export function sweepLevels(
  levels: Iterable<BookLevel>,
  side: "BUY" | "SELL",
  stepSize: bigint,
  limit: SweepLimit,
) {
  const fills: BookFill[] = [];
  let remainingQuantity = limit.quantity;
  let remainingQuote = limit.quoteAmount;
  for (const level of levels) {
    if (limit.limitPrice !== undefined) {
      if (side === "BUY" && level.price > limit.limitPrice) break;
      if (side === "SELL" && level.price < limit.limitPrice) break;
    }
    let take = level.quantity;
    if (remainingQuantity !== undefined) take = minUnits(take, remainingQuantity);
    if (remainingQuote !== undefined) {
      const affordable = floorToStep(divideUnits(remainingQuote, level.price, "floor"), stepSize);
      take = minUnits(take, affordable);
    }
    if (take <= 0n) break;
    const quote = multiplyUnits(take, level.price, "floor");
    fills.push({ price: level.price, quantity: take, quote });
    if (remainingQuantity !== undefined) remainingQuantity -= take;
    if (remainingQuote !== undefined) remainingQuote -= quote;
    if (remainingQuantity === 0n || remainingQuote === 0n) break;
  }
  return fills;
}
