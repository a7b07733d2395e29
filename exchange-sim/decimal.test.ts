import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ceilToStep,
  divideUnits,
  floorToStep,
  formatUnits,
  isMultipleOf,
  multiplyUnits,
  parseUnits,
  roundToStep,
  unitsOf,
} from "./decimal.ts";

describe("decimal amounts", () => {
  it("parse Binance decimal strings exactly into 1e-8 units", () => {
    expect(parseUnits("0.001")).toEqual({ ok: true, units: 100_000n });
    expect(parseUnits("60000")).toEqual({ ok: true, units: 6_000_000_000_000n });
    expect(parseUnits("1.10000000000")).toEqual({ ok: true, units: 110_000_000n });
  });

  it("refuse numbers Binance refuses: other syntax is illegal, more than 8 decimals is too precise", () => {
    for (const text of ["", "-1", "1e3", "0x10", " 1", "1.", ".5", "1,5"]) {
      expect(parseUnits(text)).toEqual({ ok: false, reason: "illegal" });
    }
    expect(parseUnits("0.000000001")).toEqual({ ok: false, reason: "precision" });
  });

  it("format with Binance's 8 decimals", () => {
    expect(formatUnits(100_000n)).toBe("0.00100000");
    expect(formatUnits(-150_000_000n)).toBe("-1.50000000");
    expect(formatUnits(unitsOf("5"), 1)).toBe("5.0");
  });

  it("round trip every amount through text", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 20n }), (units) => {
        expect(parseUnits(formatUnits(units))).toEqual({ ok: true, units });
      }),
    );
  });

  it("multiply and divide with an explicit rounding direction", () => {
    expect(multiplyUnits(unitsOf("0.00000001"), unitsOf("0.5"), "floor")).toBe(0n);
    expect(multiplyUnits(unitsOf("0.00000001"), unitsOf("0.5"), "ceil")).toBe(1n);
    expect(multiplyUnits(unitsOf("0.00000003"), unitsOf("0.5"), "half-up")).toBe(2n);
    expect(multiplyUnits(unitsOf("60000.12"), unitsOf("0.001"), "floor")).toBe(unitsOf("60.00012"));
    expect(divideUnits(unitsOf("100"), unitsOf("3"), "floor")).toBe(unitsOf("33.33333333"));
    expect(divideUnits(unitsOf("100"), unitsOf("3"), "ceil")).toBe(unitsOf("33.33333334"));
  });

  it("snap to a step size", () => {
    const step = unitsOf("0.01");
    expect(floorToStep(unitsOf("1.239"), step)).toBe(unitsOf("1.23"));
    expect(ceilToStep(unitsOf("1.231"), step)).toBe(unitsOf("1.24"));
    expect(roundToStep(unitsOf("1.235"), step)).toBe(unitsOf("1.24"));
    expect(isMultipleOf(unitsOf("1.23"), step)).toBe(true);
    expect(isMultipleOf(unitsOf("1.235"), step)).toBe(false);
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        fc.bigInt({ min: 1n, max: 10n ** 9n }),
        (v, s) => {
          const down = floorToStep(v, s);
          const up = ceilToStep(v, s);
          expect(down <= v && v <= up && up - down <= s).toBe(true);
          expect(isMultipleOf(down, s) && isMultipleOf(up, s)).toBe(true);
        },
      ),
    );
  });
});
