import type { z } from "zod";
import type { GridParams } from "../../api/v1alpha1/tradingbot.ts";
import type { MarketRules } from "../exchange/port.ts";
import { Decimal } from "../money/decimal.ts";
import {
  type Intent,
  type LiveOrder,
  minimumTradable,
  type PlaceIntent,
  type SlotFill,
  type StrategyInput,
} from "./intent.ts";

// Grid trading on fixed levels. The range between two neighbouring levels is a cell; each cell is either
// empty (it wants a buy at its lower level, placed while the price is above that level) or holding what
// its buy filled (it wants a sell of that amount at its upper level). A sell that fills empties the cell
// again, so every round trip earns one level's spacing.

export type GridParamsValue = z.infer<typeof GridParams>;

/** Base held per cell, as decimal strings (JSON-safe, persisted between restarts). */
export type GridMemory = { holdings: Record<string, string> };

export function initialGridMemory(): GridMemory {
  return { holdings: {} };
}

export function gridLevels(params: GridParamsValue, rules: MarketRules): Decimal[] {
  const lower = Decimal.parse(params.lowerPrice);
  const upper = Decimal.parse(params.upperPrice);
  const spacing = upper.minus(lower).dividedBy(Decimal.fromInteger(params.levels - 1));
  return Array.from({ length: params.levels }, (_, index) =>
    lower.plus(spacing.times(Decimal.fromInteger(index))).toStep(rules.tickSize, "halfEven"),
  );
}

export function gridCellSlot(cell: number): string {
  return `g${cell}`;
}

/** The cell a slot names, if it is a cell of a grid with this many levels. */
export function gridCellOfSlot(slot: string, levels = 101): number | undefined {
  const match = /^g([0-9]{1,3})$/.exec(slot);
  const cell = match === null ? undefined : Number(match[1]);
  return cell !== undefined && cell < levels - 1 ? cell : undefined;
}

export function gridIntents(params: GridParamsValue, input: StrategyInput<GridMemory>): Intent[] {
  const { market, liveOrders, memory } = input;
  const levels = gridLevels(params, market.rules);
  const quotePerOrder = Decimal.parse(params.quotePerOrder);
  const busyCells = new Set(
    liveOrders.map((order: LiveOrder) => gridCellOfSlot(order.slot)).filter((cell) => cell !== undefined),
  );
  const intents: PlaceIntent[] = [];
  for (let cell = 0; cell < levels.length - 1; cell++) {
    if (busyCells.has(cell)) continue;
    const buyLevel = levels[cell] as Decimal;
    const sellLevel = levels[cell + 1] as Decimal;
    const holding = Decimal.parse(memory.holdings[String(cell)] ?? "0");
    if (minimumTradable(holding, sellLevel, market.rules)) {
      intents.push({
        kind: "place",
        slot: gridCellSlot(cell),
        side: "sell",
        type: "limit",
        amount: holding,
        price: sellLevel,
        reason: `grid cell ${cell}: sell what its buy at ${buyLevel} filled, one level up at ${sellLevel}`,
      });
    } else if (buyLevel.lt(market.last)) {
      const amount = quotePerOrder.dividedBy(buyLevel, "floor");
      if (!minimumTradable(amount, buyLevel, market.rules)) continue;
      intents.push({
        kind: "place",
        slot: gridCellSlot(cell),
        side: "buy",
        type: "limit",
        amount,
        price: buyLevel,
        reason: `grid cell ${cell}: buy at level ${buyLevel} below the last price ${market.last}`,
      });
    }
  }
  // Nearest the price first: when the open-order limit cuts the list, the orders likeliest to fill stay.
  return intents.sort((a, b) => distance(a, market.last).compare(distance(b, market.last)));
}

function distance(intent: PlaceIntent, last: Decimal): Decimal {
  return (intent.price ?? last).minus(last).abs();
}

export function applyGridFill(memory: GridMemory, fill: SlotFill): GridMemory {
  const cell = gridCellOfSlot(fill.slot);
  if (cell === undefined) return memory;
  const key = String(cell);
  const held = Decimal.parse(memory.holdings[key] ?? "0");
  const next = fill.side === "buy" ? held.plus(fill.baseAmount) : held.minus(fill.baseAmount);
  const holdings = { ...memory.holdings };
  if (next.isPositive()) holdings[key] = next.toString();
  else delete holdings[key];
  return { holdings };
}

/** Reads memory stored by an earlier run; throws on anything this version did not write. */
export function parseGridMemory(value: unknown): GridMemory {
  const holdings = (value as { holdings?: unknown } | null)?.holdings;
  if (typeof holdings !== "object" || holdings === null) {
    throw new Error(`stored grid memory has no holdings object: ${JSON.stringify(value)}`);
  }
  const parsed: Record<string, string> = {};
  for (const [cell, amount] of Object.entries(holdings)) {
    if (!/^[0-9]{1,3}$/.test(cell) || typeof amount !== "string") {
      throw new Error(`stored grid memory has a malformed holding ${JSON.stringify({ [cell]: amount })}`);
    }
    parsed[cell] = Decimal.parse(amount).toString();
  }
  return { holdings: parsed };
}
