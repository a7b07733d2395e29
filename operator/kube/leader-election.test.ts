import { describe, expect, it } from "vitest";
import { mayTakeLease } from "./leader-election.ts";

describe("mayTakeLease", () => {
  const held = { holder: "operator-a", observedAt: 1_000, leaseDurationMs: 15_000 };

  it("takes a Lease that does not exist, is free, or is already ours", () => {
    expect(mayTakeLease("operator-b", undefined, 0)).toBe(true);
    expect(mayTakeLease("operator-b", { ...held, holder: "" }, 1_000)).toBe(true);
    expect(mayTakeLease("operator-a", held, 1_000)).toBe(true);
  });

  it("waits a whole lease duration after last seeing the holder's record change", () => {
    expect(mayTakeLease("operator-b", held, 15_999)).toBe(false);
    expect(mayTakeLease("operator-b", held, 16_000)).toBe(true);
  });
});
