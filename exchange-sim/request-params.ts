// Request parameters as Binance reads them: form-encoded query string and body (the query string wins when a
// name is in both), typed accessors that fail with Binance's -1100/-1102/-1111/-11xx errors, and the
// signature payload (totalParams: query string then body, without the signature itself).

import { DECIMAL_SYNTAX, parseUnits } from "./decimal.ts";
import { BinanceApiError, binanceErrors } from "./errors.ts";

const INTEGER_SYNTAX = "^[0-9]{1,20}$";
const CLIENT_ORDER_ID_SYNTAX = "^[a-zA-Z0-9-_]{1,36}$";
const clientOrderIdPattern = /^[a-zA-Z0-9\-_]{1,36}$/;

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    throw new BinanceApiError(400, -1100, "Illegal characters found in a parameter.");
  }
}

function parsePart(raw: string): Map<string, string> {
  const values = new Map<string, string>();
  if (raw === "") return values;
  for (const segment of raw.split("&")) {
    if (segment === "") continue;
    const equals = segment.indexOf("=");
    const name = decodeComponent(equals === -1 ? segment : segment.slice(0, equals));
    const value = equals === -1 ? "" : decodeComponent(segment.slice(equals + 1));
    if (values.has(name)) throw binanceErrors.duplicateParameter();
    values.set(name, value);
  }
  return values;
}

function withoutSignature(raw: string): string {
  return raw
    .split("&")
    .filter((segment) => !segment.startsWith("signature="))
    .join("&");
}

export class RequestParams {
  private readonly values: Map<string, string>;
  /** The signed payload: query string concatenated with the body, signature removed. */
  readonly totalParams: string;

  constructor(rawQuery: string, rawBody: string) {
    const body = parsePart(rawBody);
    const query = parsePart(rawQuery);
    this.values = new Map([...body, ...query]);
    this.totalParams = withoutSignature(rawQuery) + withoutSignature(rawBody);
  }

  has(name: string): boolean {
    const value = this.values.get(name);
    return value !== undefined && value !== "";
  }

  optionalString(name: string): string | undefined {
    const value = this.values.get(name);
    return value === undefined || value === "" ? undefined : value;
  }

  string(name: string): string {
    const value = this.optionalString(name);
    if (value === undefined) throw binanceErrors.mandatoryParameter(name);
    return value;
  }

  optionalInteger(name: string): number | undefined {
    const value = this.optionalString(name);
    if (value === undefined) return undefined;
    if (!/^-?[0-9]{1,20}$/.test(value)) throw binanceErrors.illegalCharacters(name, INTEGER_SYNTAX);
    const number = Number(value);
    if (!Number.isSafeInteger(number))
      throw new BinanceApiError(400, -1108, `Parameter '${name}' overflowed.`);
    return number;
  }

  integer(name: string): number {
    const value = this.optionalInteger(name);
    if (value === undefined) throw binanceErrors.mandatoryParameter(name);
    return value;
  }

  optionalDecimal(name: string): bigint | undefined {
    const value = this.optionalString(name);
    if (value === undefined) return undefined;
    const parsed = parseUnits(value);
    if (!parsed.ok) {
      throw parsed.reason === "precision"
        ? binanceErrors.tooMuchPrecision(name)
        : binanceErrors.illegalCharacters(name, DECIMAL_SYNTAX);
    }
    return parsed.units;
  }

  optionalEnum<T extends string>(
    name: string,
    allowed: readonly T[],
    invalid: () => BinanceApiError,
  ): T | undefined {
    const value = this.optionalString(name);
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) throw invalid();
    return value as T;
  }

  enumValue<T extends string>(name: string, allowed: readonly T[], invalid: () => BinanceApiError): T {
    const value = this.optionalEnum(name, allowed, invalid);
    if (value === undefined) throw binanceErrors.mandatoryParameter(name);
    return value;
  }

  optionalClientOrderId(name: string): string | undefined {
    const raw = this.values.get(name);
    if (raw === undefined) return undefined;
    if (raw === "" && name === "newClientOrderId") throw binanceErrors.emptyNewClientOrderId();
    if (!clientOrderIdPattern.test(raw)) throw binanceErrors.illegalCharacters(name, CLIENT_ORDER_ID_SYNTAX);
    return raw;
  }

  /** A `limit` parameter: default when absent, clamped to max as Binance does. */
  limit(defaultValue: number, max: number): number {
    const value = this.optionalInteger("limit");
    if (value === undefined) return defaultValue;
    if (value <= 0) throw binanceErrors.invalidParameter("limit");
    return Math.min(value, max);
  }
}
