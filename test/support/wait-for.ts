import { setTimeout as sleep } from "node:timers/promises";

export interface WaitOptions {
  /** What is awaited, in words: the failure message is "timed out after Ns waiting for <what>". */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Polls `condition` until it returns a value other than `undefined`/`false` and returns that value. Errors
 * thrown by the condition count as "not yet"; the last one is quoted if time runs out.
 */
export async function waitFor<T>(
  condition: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 200;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${options.what}${cause}`);
    }
    await sleep(intervalMs);
  }
}
