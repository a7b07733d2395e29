// Exact decimal amounts. Every Binance spot price, quantity, balance and commission has at most 8 decimals, so
// amounts are held as bigint counts of 1e-8 ("units"); floats never touch money.

export const UNIT_DECIMALS = 8;
export const ONE = 100_000_000n;

/** Binance's accepted number syntax, quoted in its -1100 error message. */
export const DECIMAL_SYNTAX = "^([0-9]{1,20})(\\.[0-9]{1,20})?$";
const decimalPattern = /^([0-9]{1,20})(?:\.([0-9]{1,20}))?$/;

export type ParsedUnits = { ok: true; units: bigint } | { ok: false; reason: "illegal" | "precision" };

/** Parses a non-negative decimal string ("0.001", "60000") into units. */
export function parseUnits(text: string): ParsedUnits {
  const match = decimalPattern.exec(text);
  if (match === null) return { ok: false, reason: "illegal" };
  const whole = match[1] ?? "0";
  const fraction = (match[2] ?? "").replace(/0+$/, "");
  if (fraction.length > UNIT_DECIMALS) return { ok: false, reason: "precision" };
  return { ok: true, units: BigInt(whole) * ONE + BigInt(fraction.padEnd(UNIT_DECIMALS, "0")) };
}

/** Parses a decimal string known to be valid (configuration defaults); throws with the value otherwise. */
export function unitsOf(text: string): bigint {
  const parsed = parseUnits(text);
  if (!parsed.ok) throw new Error(`"${text}" is not a decimal with at most ${UNIT_DECIMALS} decimals`);
  return parsed.units;
}

/** Formats units the way Binance prints amounts: always 8 decimals ("0.00100000"). */
export function formatUnits(units: bigint, decimals = UNIT_DECIMALS): string {
  const negative = units < 0n;
  const absolute = negative ? -units : units;
  const whole = absolute / ONE;
  const fraction = (absolute % ONE).toString().padStart(UNIT_DECIMALS, "0").slice(0, decimals);
  const sign = negative ? "-" : "";
  return decimals === 0 ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}

/** Nearest units of a float (market path values are floats; they become money only through here). */
export function unitsFromNumber(value: number): bigint {
  if (!Number.isFinite(value)) throw new Error(`cannot convert ${value} to an amount`);
  return BigInt(Math.round(value * 1e8));
}

export function unitsToNumber(units: bigint): number {
  return Number(units) / 1e8;
}

export type Rounding = "floor" | "ceil" | "half-up";

function divide(numerator: bigint, denominator: bigint, rounding: Rounding): bigint {
  const quotient = numerator / denominator;
  const remainder = numerator % denominator;
  if (remainder === 0n) return quotient;
  const negative = numerator < 0n !== denominator < 0n;
  if (rounding === "floor") return negative ? quotient - 1n : quotient;
  if (rounding === "ceil") return negative ? quotient : quotient + 1n;
  const twiceRemainder = (remainder < 0n ? -remainder : remainder) * 2n;
  const absoluteDenominator = denominator < 0n ? -denominator : denominator;
  if (twiceRemainder >= absoluteDenominator) return negative ? quotient - 1n : quotient + 1n;
  return quotient;
}

/** a × b for two unit amounts (e.g. price × quantity = notional). */
export function multiplyUnits(a: bigint, b: bigint, rounding: Rounding): bigint {
  return divide(a * b, ONE, rounding);
}

/** a ÷ b for two unit amounts (e.g. quote amount ÷ price = quantity). */
export function divideUnits(a: bigint, b: bigint, rounding: Rounding): bigint {
  return divide(a * ONE, b, rounding);
}

export function floorToStep(value: bigint, step: bigint): bigint {
  if (step <= 0n) return value;
  return divide(value, step, "floor") * step;
}

export function ceilToStep(value: bigint, step: bigint): bigint {
  if (step <= 0n) return value;
  return divide(value, step, "ceil") * step;
}

export function roundToStep(value: bigint, step: bigint): bigint {
  if (step <= 0n) return value;
  return divide(value, step, "half-up") * step;
}

export function isMultipleOf(value: bigint, step: bigint): boolean {
  return step <= 0n || value % step === 0n;
}

export function minUnits(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

export function maxUnits(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
