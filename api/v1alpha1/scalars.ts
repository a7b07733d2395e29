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
