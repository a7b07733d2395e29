import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Decimal } from "./decimal.ts";

const d = Decimal.parse;

describe("Decimal", () => {
  it("adds tenths exactly, where floats drift", () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(d("0.1").plus(d("0.2")).toString()).toBe("0.3");
  });

  it("prints plain decimal text without exponent or trailing zeros", () => {
    expect(d("12.500").toString()).toBe("12.5");
    expect(d("-0.000000000000000001").toString()).toBe("-0.000000000000000001");
    expect(d("100").toString()).toBe("100");
    expect(d("-0").toString()).toBe("0");
  });

  it("refuses text that is not a plain decimal, naming it", () => {
    expect(() => d("1e5")).toThrow(/not a decimal number: "1e5"/);
    expect(() => d(" 1")).toThrow(/not a decimal number/);
    expect(() => d("0.0000000000000000001")).toThrow(/more than 18/);
  });

  it("converts floats through their shortest decimal text", () => {
    expect(Decimal.fromNumber(0.1).toString()).toBe("0.1");
    expect(Decimal.fromNumber(1e-8).toString()).toBe("0.00000001");
    expect(Decimal.fromNumber(1.5e21).toString()).toBe("1500000000000000000000");
  });

  it("rounds to a step in the requested direction", () => {
    const step = d("0.01");
    expect(d("1.239").toStep(step, "floor").toString()).toBe("1.23");
    expect(d("1.231").toStep(step, "ceil").toString()).toBe("1.24");
    expect(d("1.235").toStep(step, "halfEven").toString()).toBe("1.24");
    expect(d("1.225").toStep(step, "halfEven").toString()).toBe("1.22");
    expect(d("-1.231").toStep(step, "floor").toString()).toBe("-1.24");
    expect(d("1.5").toStep(d("0.5"), "floor").toString()).toBe("1.5");
  });

  it("divides with the requested rounding", () => {
    expect(d("1").dividedBy(d("3"), "floor").toString()).toBe("0.333333333333333333");
    expect(d("2").dividedBy(d("3"), "ceil").toString()).toBe("0.666666666666666667");
    expect(() => d("1").dividedBy(Decimal.ZERO)).toThrow(/division by zero/);
  });

  it("round-trips every decimal string it prints", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), (units) => {
        const value = Decimal.fromUnits(units);
        expect(d(value.toString()).units).toBe(units);
      }),
    );
  });

  it("keeps a + b - b == a and multiplication by one exact", () => {
    const arbitrary = fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(Decimal.fromUnits);
    fc.assert(
      fc.property(arbitrary, arbitrary, (a, b) => {
        expect(a.plus(b).minus(b).eq(a)).toBe(true);
        expect(a.times(Decimal.ONE).eq(a)).toBe(true);
      }),
    );
  });

  it("floors to a step never above the value and within one step of it", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 27n }),
        fc.bigInt({ min: 1n, max: 10n ** 20n }),
        (units, stepUnits) => {
          const value = Decimal.fromUnits(units);
          const step = Decimal.fromUnits(stepUnits);
          const floored = value.toStep(step, "floor");
          expect(floored.lte(value)).toBe(true);
          expect(value.minus(floored).lt(step)).toBe(true);
          expect(floored.units % stepUnits).toBe(0n);
        },
      ),
    );
  });
});
