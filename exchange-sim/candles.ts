// Recorded candles for replay: Binance's kline CSV archive format and JSON forms, parsed into one shape.

export interface ReplayCandle {
  openTime: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface ReplayData {
  /** Binance symbol id named by the file, when it names one. */
  symbol: string | undefined;
  candles: ReplayCandle[];
}

// Binance's archive switched spot klines to microsecond timestamps in 2025; anything past year 5138 in
// milliseconds is taken as microseconds.
const MICROSECONDS_THRESHOLD = 1e14;

function toMilliseconds(time: number): number {
  return time >= MICROSECONDS_THRESHOLD ? Math.floor(time / 1000) : time;
}

function candleFromFields(fields: readonly unknown[], where: string): ReplayCandle {
  const numbers = fields.slice(0, 6).map((value, column) => {
    const number = typeof value === "number" ? value : Number(String(value).trim());
    if (String(value).trim() === "" || !Number.isFinite(number)) {
      const names = ["openTime", "open", "high", "low", "close", "volume"];
      throw new Error(`${where}: ${names[column]} must be a number (got ${JSON.stringify(value)})`);
    }
    return number;
  });
  if (numbers.length < 6) {
    throw new Error(`${where}: expected at least 6 columns (openTime,open,high,low,close,volume)`);
  }
  const [openTime, open, high, low, close, volume] = numbers as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return checkCandle({ openTime: toMilliseconds(openTime), open, high, low, close, volume }, where);
}

function checkCandle(candle: ReplayCandle, where: string): ReplayCandle {
  const { open, high, low, close, volume } = candle;
  if (!(open > 0 && high > 0 && low > 0 && close > 0)) throw new Error(`${where}: prices must be > 0`);
  if (high < Math.max(open, close, low) || low > Math.min(open, close)) {
    throw new Error(`${where}: high must be the highest and low the lowest of open, high, low, close`);
  }
  if (!(volume >= 0)) throw new Error(`${where}: volume must be >= 0`);
  return candle;
}

/** Binance archive CSV: openTime,open,high,low,close,volume,closeTime,quoteVolume,trades,takerBuyBase,takerBuyQuote,ignore. */
export function parseKlineCsv(text: string): ReplayCandle[] {
  const candles: ReplayCandle[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === "") return;
    // Some archive files start with a header row.
    if (index === 0 && /[a-z_]/i.test(trimmed.split(",")[0] ?? "")) return;
    candles.push(candleFromFields(trimmed.split(","), `line ${index + 1}`));
  });
  return candles;
}

function candleFromObject(entry: Record<string, unknown>, where: string): ReplayCandle {
  const openTime = entry.openTimeMs ?? entry.openTime ?? entry.timestamp ?? entry.time;
  return candleFromFields([openTime, entry.open, entry.high, entry.low, entry.close, entry.volume], where);
}

/**
 * JSON forms: an array of kline arrays (the /api/v3/klines response, or ccxt OHLCV rows), an array of objects
 * with openTime/open/high/low/close/volume, or an object {symbol?, candles: [...]} holding either.
 */
export function parseKlineJson(text: string): ReplayData {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new Error(`not valid JSON: ${(error as Error).message}`);
  }
  let symbol: string | undefined;
  let rows: unknown = document;
  if (document !== null && typeof document === "object" && !Array.isArray(document)) {
    const wrapper = document as Record<string, unknown>;
    rows = wrapper.candles ?? wrapper.klines;
    if (typeof wrapper.symbol === "string") symbol = wrapper.symbol.replace(/^[A-Z]+:/, "").replace("/", "");
  }
  if (!Array.isArray(rows))
    throw new Error("expected an array of candles, or an object with a candles array");
  const candles = rows.map((row: unknown, index) => {
    const where = `candle ${index}`;
    if (Array.isArray(row)) return candleFromFields(row, where);
    if (row !== null && typeof row === "object")
      return candleFromObject(row as Record<string, unknown>, where);
    throw new Error(`${where}: expected an array or an object`);
  });
  return { symbol, candles };
}

/** Parses a replay file by content: JSON when it starts with [ or {, Binance kline CSV otherwise. */
export function parseReplayFile(text: string): ReplayData {
  const trimmed = text.trimStart();
  const data =
    trimmed.startsWith("[") || trimmed.startsWith("{")
      ? parseKlineJson(text)
      : { symbol: undefined, candles: parseKlineCsv(text) };
  if (data.candles.length === 0) throw new Error("contains no candles");
  return data;
}
