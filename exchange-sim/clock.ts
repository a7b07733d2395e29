// The simulator's notion of "now" (epoch milliseconds). Injectable so tests control time exactly.

export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

export interface ManualClock {
  (): number;
  set(timeMs: number): void;
  advance(ms: number): void;
}

/** A clock that only moves when told to. */
export function manualClock(startMs: number): ManualClock {
  let now = startMs;
  const clock = (() => now) as ManualClock;
  clock.set = (timeMs: number) => {
    now = timeMs;
  };
  clock.advance = (ms: number) => {
    now += ms;
  };
  return clock;
}
