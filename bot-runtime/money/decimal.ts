// Exact decimal arithmetic for prices, quantities, balances and PnL. A float cannot hold 0.1 exactly, and
// rounding errors in money compound; every value here is an integer count of 10^-18 units (the precision
// of the API's decimal strings), held in a bigint.

const SCALE_DIGITS = 18;
const SCALE = 10n ** BigInt(SCALE_DIGITS);
const DECIMAL_PATTERN = /^(-?)([0-9]+)(?:\.([0-9]+))?$/;

/** How a result that does not fit the precision is rounded. */
export type RoundingMode = "floor" | "ceil" | "halfEven";

export class Decimal {
  readonly #units: bigint;

  private constructor(units: bigint) {
    this.#units = units;
  }

  static readonly ZERO = new Decimal(0n);
  static readonly ONE = new Decimal(SCALE);
  static readonly HUNDRED = new Decimal(100n * SCALE);

  /** Parses "12", "-0.5", "0.00000001". Rejects exponents, blanks and more than 18 fractional digits. */
  static parse(text: string): Decimal {
    const match = DECIMAL_PATTERN.exec(text);
    if (match === null) {
      throw new RangeError(`not a decimal number: ${JSON.stringify(text)} (expected digits such as "12.5")`);
    }
    const [, sign, whole = "0", fraction = ""] = match;
    const significant = fraction.replace(/0+$/, "");
    if (significant.length > SCALE_DIGITS) {
      throw new RangeError(`${text} has more than ${SCALE_DIGITS} significant fractional digits`);
    }
    const units = BigInt(whole) * SCALE + BigInt(significant.padEnd(SCALE_DIGITS, "0") || "0");
    return new Decimal(sign === "-" ? -units : units);
  }

  /**
   * Converts a number from a source that only speaks floats (ccxt's parsed market limits, for example):
   * through its shortest round-trip decimal text, so 0.1 becomes exactly 0.1.
   */
  static fromNumber(value: number): Decimal {
    if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
    const text = plainDecimalText(value);
    const [whole = "0", fraction = ""] = text.split(".");
    if (fraction.length <= SCALE_DIGITS) return Decimal.parse(text);
    const extra = fraction.length - SCALE_DIGITS;
    const units = divideRounded(BigInt(whole + fraction), 10n ** BigInt(extra), "halfEven");
    return new Decimal(units);
  }

  static fromInteger(value: number | bigint): Decimal {
    return new Decimal(BigInt(value) * SCALE);
  }

  /** The smallest representable step, 10^-18. */
  static fromUnits(units: bigint): Decimal {
    return new Decimal(units);
  }

  get units(): bigint {
    return this.#units;
  }

  plus(other: Decimal): Decimal {
    return new Decimal(this.#units + other.#units);
  }

  minus(other: Decimal): Decimal {
    return new Decimal(this.#units - other.#units);
  }

  times(other: Decimal, rounding: RoundingMode = "halfEven"): Decimal {
    return new Decimal(divideRounded(this.#units * other.#units, SCALE, rounding));
  }

  dividedBy(other: Decimal, rounding: RoundingMode = "halfEven"): Decimal {
    if (other.#units === 0n) throw new RangeError("division by zero");
    return new Decimal(divideRounded(this.#units * SCALE, other.#units, rounding));
  }

  negated(): Decimal {
    return new Decimal(-this.#units);
  }

  abs(): Decimal {
    return this.#units < 0n ? this.negated() : this;
  }

  compare(other: Decimal): -1 | 0 | 1 {
    return this.#units < other.#units ? -1 : this.#units > other.#units ? 1 : 0;
  }

  eq(other: Decimal): boolean {
    return this.#units === other.#units;
  }
  lt(other: Decimal): boolean {
    return this.#units < other.#units;
  }
  lte(other: Decimal): boolean {
    return this.#units <= other.#units;
  }
  gt(other: Decimal): boolean {
    return this.#units > other.#units;
  }
  gte(other: Decimal): boolean {
    return this.#units >= other.#units;
  }
  isZero(): boolean {
    return this.#units === 0n;
  }
  isPositive(): boolean {
    return this.#units > 0n;
  }
  isNegative(): boolean {
    return this.#units < 0n;
  }

  /** Rounds to a whole multiple of `step` (a tick size or lot step). A zero step leaves the value as is. */
  toStep(step: Decimal, rounding: RoundingMode): Decimal {
    if (step.#units === 0n) return this;
    if (step.#units < 0n) throw new RangeError(`step must be positive, got ${step.toString()}`);
    return new Decimal(divideRounded(this.#units, step.#units, rounding) * step.#units);
  }

  /** Rounds to a number of fractional digits. */
  toPlaces(places: number, rounding: RoundingMode): Decimal {
    return this.toStep(new Decimal(10n ** BigInt(SCALE_DIGITS - places)), rounding);
  }

  /** Plain decimal text without exponent or trailing zeros: "12.5", "-0.001", "0". */
  toString(): string {
    const negative = this.#units < 0n;
    const magnitude = negative ? -this.#units : this.#units;
    const whole = magnitude / SCALE;
    const fraction = (magnitude % SCALE).toString().padStart(SCALE_DIGITS, "0").replace(/0+$/, "");
    return `${negative ? "-" : ""}${whole}${fraction === "" ? "" : `.${fraction}`}`;
  }

  /** For gauges and latency-free displays only: never feed the result back into money arithmetic. */
  toNumber(): number {
    return Number(this.toString());
  }

  toJSON(): string {
    return this.toString();
  }

  static min(a: Decimal, b: Decimal): Decimal {
    return a.lte(b) ? a : b;
  }

  static max(a: Decimal, b: Decimal): Decimal {
    return a.gte(b) ? a : b;
  }

  static sum(values: Iterable<Decimal>): Decimal {
    let total = 0n;
    for (const value of values) total += value.#units;
    return new Decimal(total);
  }
}

function divideRounded(numerator: bigint, denominator: bigint, rounding: RoundingMode): bigint {
  const quotient = numerator / denominator; // truncates toward zero
  const remainder = numerator % denominator;
  if (remainder === 0n) return quotient;
  const negative = numerator < 0n !== denominator < 0n;
  switch (rounding) {
    case "floor":
      return negative ? quotient - 1n : quotient;
    case "ceil":
      return negative ? quotient : quotient + 1n;
    case "halfEven": {
      const twiceRemainder = 2n * (remainder < 0n ? -remainder : remainder);
      const absDenominator = denominator < 0n ? -denominator : denominator;
      const awayFromZero = negative ? quotient - 1n : quotient + 1n;
      if (twiceRemainder > absDenominator) return awayFromZero;
      if (twiceRemainder < absDenominator) return quotient;
      return quotient % 2n === 0n ? quotient : awayFromZero;
    }
  }
}

function plainDecimalText(value: number): string {
  const text = String(value);
  if (!/e/i.test(text)) return text;
  const [mantissa = "", exponentText = "0"] = text.toLowerCase().split("e");
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith("-");
  const [whole = "", fraction = ""] = mantissa.replace("-", "").split(".");
  const digits = whole + fraction;
  const pointAt = whole.length + exponent;
  const body =
    pointAt <= 0
      ? `0.${"0".repeat(-pointAt)}${digits}`
      : pointAt >= digits.length
        ? digits + "0".repeat(pointAt - digits.length)
        : `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
  return (negative ? "-" : "") + body;
}
