import { z } from "zod";
import { withRules } from "./rules.ts";

// Money, prices and percentages are decimal strings, never floats: a float cannot hold 0.1 exactly, and
// a spec is a statement of intent that must read back byte for byte.
const DECIMAL_MAX_LENGTH = 40;
const NON_NEGATIVE_DECIMAL = /^(0|[1-9][0-9]{0,19})(\.[0-9]{1,18})?$/;
const SIGNED_DECIMAL = /^-?(0|[1-9][0-9]{0,19})(\.[0-9]{1,18})?$/;

/** A decimal string greater than zero, e.g. "25" or "0.0015". */
export function positiveDecimal(description: string) {
  return withRules(
    z.string().max(DECIMAL_MAX_LENGTH).regex(NON_NEGATIVE_DECIMAL, {
      message: 'must be a decimal string such as "25" or "0.0015" (no sign, no exponent)',
    }),
    [{ rule: "double(self) > 0.0", message: "must be greater than zero", holds: (v) => Number(v) > 0 }],
  ).describe(description);
}

/** A decimal string in (0, max], e.g. percentages. */
export function boundedPositiveDecimal(description: string, max: number) {
  return withRules(
    z.string().max(DECIMAL_MAX_LENGTH).regex(NON_NEGATIVE_DECIMAL, {
      message: 'must be a decimal string such as "5" or "2.5" (no sign, no exponent)',
    }),
    [
      {
        rule: `double(self) > 0.0 && double(self) <= ${max.toFixed(1)}`,
        message: `must be greater than 0 and at most ${max}`,
        holds: (v) => Number(v) > 0 && Number(v) <= max,
      },
    ],
  ).describe(description);
}

/** A decimal string that may be negative (PnL); only ever written by the operator. */
export function signedDecimal(description: string) {
  return z.string().max(DECIMAL_MAX_LENGTH).regex(SIGNED_DECIMAL).describe(description);
}

/** A non-negative decimal string (quantities reported by the runtime). */
export function nonNegativeDecimal(description: string) {
  return z.string().max(DECIMAL_MAX_LENGTH).regex(NON_NEGATIVE_DECIMAL).describe(description);
}

// Durations are one whole number and one unit ("90s", "15m", "4h", "1d"): simple to read in a spec, and
// the same pattern for zod, the CRD and the API server. Each field names the units it accepts.
const DURATION_UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
export type DurationUnit = keyof typeof DURATION_UNIT_SECONDS;
const DURATION = /^([1-9][0-9]{0,4})(s|m|h|d)$/;

/** A duration string in the given units, 1 to 99999 of one unit, such as 15m, 4h or 1d. */
export function durationString(units: readonly DurationUnit[], message: string) {
  return z
    .string()
    .max(8)
    .regex(new RegExp(`^[1-9][0-9]{0,4}(${units.join("|")})$`), { message });
}

/** A duration string ("90s", "15m", "4h", "1d") in seconds; `field` names it in the error. */
export function durationSeconds(duration: string, field: string): number {
  const match = DURATION.exec(duration);
  if (!match) {
    throw new Error(`${field}: ${JSON.stringify(duration)} is not a duration such as 90s, 15m, 4h or 1d`);
  }
  return Number(match[1]) * DURATION_UNIT_SECONDS[match[2] as DurationUnit];
}

/** An RFC 3339 timestamp as Kubernetes writes them (metav1.Time). */
export function timestamp(description: string) {
  return z.iso.datetime({ offset: true }).describe(description);
}

/** A DNS-1123 subdomain: the names of Secrets and most other objects. */
export function objectName(description: string) {
  return z
    .string()
    .min(1)
    .max(253)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
      message: "must be a lowercase DNS-1123 name (a-z, 0-9, '-', '.'), such as binance-keys",
    })
    .describe(description);
}

/** A DNS-1123 label: namespace names. */
export function labelName(description: string) {
  return z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
      message: "must be a lowercase DNS-1123 label (a-z, 0-9, '-'), such as trading",
    })
    .describe(description);
}
