// Binance's error payloads ({"code": -1013, "msg": "..."}) with the codes, messages and HTTP statuses of the
// Binance Spot API documentation (errors.md), so clients map them exactly as they would against Binance.

export class BinanceApiError extends Error {
  readonly httpStatus: number;
  readonly code: number;
  readonly retryAfterSeconds: number | undefined;

  constructor(httpStatus: number, code: number, msg: string, retryAfterSeconds?: number) {
    super(msg);
    this.name = "BinanceApiError";
    this.httpStatus = httpStatus;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  toJSON(): { code: number; msg: string } {
    return { code: this.code, msg: this.message };
  }
}

const badRequest = (code: number, msg: string) => new BinanceApiError(400, code, msg);

export const binanceErrors = {
  internal: () =>
    new BinanceApiError(503, -1001, "Internal error; unable to process your request. Please try again."),
  tooMuchWeight: (limit: number, retryAfterSeconds: number) =>
    new BinanceApiError(
      429,
      -1003,
      `Too much request weight used; current limit is ${limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.`,
      retryAfterSeconds,
    ),
  banned: (untilMs: number, retryAfterSeconds: number) =>
    new BinanceApiError(
      418,
      -1003,
      `Way too much request weight used; IP banned until ${untilMs}. Please use WebSocket Streams for live updates to avoid bans.`,
      retryAfterSeconds,
    ),
  tooManyOrders: (limit: number, interval: string) =>
    new BinanceApiError(429, -1015, `Too many new orders; current limit is ${limit} orders per ${interval}.`),
  unsupportedOperation: () => new BinanceApiError(404, -1020, "This operation is not supported."),
  timestampOutsideRecvWindow: () =>
    badRequest(-1021, "Timestamp for this request is outside of the recvWindow."),
  timestampAhead: () =>
    badRequest(-1021, "Timestamp for this request was 1000ms ahead of the server's time."),
  invalidSignature: () => badRequest(-1022, "Signature for this request is not valid."),
  illegalCharacters: (parameter: string, legalRange: string) =>
    badRequest(
      -1100,
      `Illegal characters found in parameter '${parameter}'; legal range is '${legalRange}'.`,
    ),
  duplicateParameter: () => badRequest(-1101, "Duplicate values for a parameter detected."),
  mandatoryParameter: (parameter: string) =>
    badRequest(-1102, `Mandatory parameter '${parameter}' was not sent, was empty/null, or malformed.`),
  eitherParameter: (first: string, second: string) =>
    badRequest(-1102, `Param '${first}' or '${second}' must be sent, but both were empty/null!`),
  parameterNotRequired: (parameter: string) =>
    badRequest(-1106, `Parameter '${parameter}' sent when not required.`),
  tooMuchPrecision: (parameter: string) =>
    badRequest(-1111, `Parameter '${parameter}' has too much precision.`),
  invalidTimeInForce: () => badRequest(-1115, "Invalid timeInForce."),
  invalidOrderType: () => badRequest(-1116, "Invalid orderType."),
  invalidSide: () => badRequest(-1117, "Invalid side."),
  emptyNewClientOrderId: () => badRequest(-1118, "New client order ID was empty."),
  invalidInterval: () => badRequest(-1120, "Invalid interval."),
  invalidSymbol: () => badRequest(-1121, "Invalid symbol."),
  lookupIntervalTooBig: (hours: number) =>
    badRequest(-1127, `More than ${hours} hours between startTime and endTime.`),
  invalidParameter: (parameter: string) =>
    badRequest(-1130, `Data sent for parameter '${parameter}' is not valid.`),
  recvWindowTooLarge: () => badRequest(-1131, "recvWindow must be less than 60000"),
  filterFailure: (filter: string) => badRequest(-1013, `Filter failure: ${filter}`),
  invalidQuantity: () => badRequest(-1013, "Invalid quantity."),
  invalidPrice: () => badRequest(-1013, "Invalid price."),
  marketClosed: () => badRequest(-1013, "Market is closed."),
  insufficientBalance: () => badRequest(-2010, "Account has insufficient balance for requested action."),
  duplicateOrder: () => badRequest(-2010, "Duplicate order sent."),
  wouldMatchAndTake: () => badRequest(-2010, "Order would immediately match and take."),
  orderTypeNotSupported: (message: string) => badRequest(-2010, message),
  unknownOrderOnCancel: () => badRequest(-2011, "Unknown order sent."),
  noSuchOrder: () => badRequest(-2013, "Order does not exist."),
  apiKeyFormatInvalid: () => new BinanceApiError(401, -2014, "API-key format invalid."),
  rejectedApiKey: () => new BinanceApiError(401, -2015, "Invalid API-key, IP, or permissions for action."),
  notValidMarginPair: () => badRequest(-3028, "Not a valid margin pair."),
};
