import type { Strategy, StrategyType } from "../../api/v1alpha1/tradingbot.ts";
import type { MarketRules } from "../exchange/port.ts";
import { applyDcaFill, dcaIntents, initialDcaMemory, parseDcaMemory } from "./dca.ts";
import { applyGridFill, gridCellOfSlot, gridIntents, initialGridMemory, parseGridMemory } from "./grid.ts";
import type { Intent, SlotFill, StrategyInput } from "./intent.ts";
import {
  applySmaCrossFill,
  initialSmaCrossMemory,
  parseSmaCrossMemory,
  smaCrossCandleCount,
  smaCrossIntents,
} from "./sma-cross.ts";

/** Strategy memory: a JSON object persisted with every fill, so a restart resumes where it stopped. */
export type StrategyMemory = object;

/** One configured strategy with its parameters bound, behind a shape the trading loop can drive. */
export type StrategyRunner = {
  type: StrategyType;
  /** Candles the strategy needs each tick, if any. */
  candles: { timeframe: string; count: number } | undefined;
  initialMemory(): StrategyMemory;
  /** Validates memory stored by an earlier run. */
  parseMemory(stored: unknown): StrategyMemory;
  intents(input: StrategyInput<StrategyMemory>): Intent[];
  applyFill(memory: StrategyMemory, fill: SlotFill, rules: MarketRules): StrategyMemory;
  /** Whether an order on this slot is one this strategy (as configured now) manages. */
  ownsSlot(slot: string): boolean;
};

/** The slot of the market sell that closes the position when a bot stops with onStop Flatten. */
export const FLATTEN_SLOT = "f";

type TypedRunner<Memory extends StrategyMemory> = {
  type: StrategyType;
  candles: { timeframe: string; count: number } | undefined;
  initialMemory(): Memory;
  parseMemory(stored: unknown): Memory;
  intents(input: StrategyInput<Memory>): Intent[];
  applyFill(memory: Memory, fill: SlotFill, rules: MarketRules): Memory;
  ownsSlot(slot: string): boolean;
};

// The memory a runner receives is always one it produced (initialMemory, parseMemory or applyFill), so
// widening its type at this single boundary is sound.
function erase<Memory extends StrategyMemory>(runner: TypedRunner<Memory>): StrategyRunner {
  return runner as unknown as StrategyRunner;
}

export function strategyFor(strategy: Strategy): StrategyRunner {
  switch (strategy.type) {
    case "grid": {
      const params = strategy.grid;
      return erase({
        type: "grid",
        candles: undefined,
        initialMemory: initialGridMemory,
        parseMemory: parseGridMemory,
        intents: (input) => gridIntents(params, input),
        applyFill: (memory, fill) => applyGridFill(memory, fill),
        ownsSlot: (slot) => slot === FLATTEN_SLOT || gridCellOfSlot(slot, params.levels) !== undefined,
      });
    }
    case "dca": {
      const params = strategy.dca;
      return erase({
        type: "dca",
        candles: undefined,
        initialMemory: initialDcaMemory,
        parseMemory: parseDcaMemory,
        intents: (input) => dcaIntents(params, input),
        applyFill: (memory, fill, rules) => applyDcaFill(memory, fill, rules),
        ownsSlot: (slot) => slot === FLATTEN_SLOT || /^[dt][0-9a-z]{1,15}$/.test(slot),
      });
    }
    case "smaCross": {
      const params = strategy.smaCross;
      return erase({
        type: "smaCross",
        candles: { timeframe: params.timeframe, count: smaCrossCandleCount(params) },
        initialMemory: initialSmaCrossMemory,
        parseMemory: parseSmaCrossMemory,
        intents: (input) => smaCrossIntents(params, input),
        applyFill: (memory, fill, rules) => applySmaCrossFill(memory, fill, params, rules),
        ownsSlot: (slot) => slot === FLATTEN_SLOT || /^x[0-9a-z]{1,15}$/.test(slot),
      });
    }
  }
}
