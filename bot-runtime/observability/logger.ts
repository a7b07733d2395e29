import pino, { type Logger } from "pino";
import type { SecretScrubber } from "./secret-scrubber.ts";

// JSON logs, one object per line, each with an `event` field naming what happened (order_placed,
// order_cancelled, fill, risk_event, halt, ...). Secrets are removed twice: by key path, and by value
// from the serialized line (see secret-scrubber.ts).

export type { Logger };

const REDACTED_PATHS = [
  "apiKey",
  "secret",
  "password",
  "signature",
  "*.apiKey",
  "*.secret",
  "*.password",
  "*.signature",
  'headers["X-MBX-APIKEY"]',
  '*.headers["X-MBX-APIKEY"]',
];

export type LogSink = { write(line: string): void };

export function createLogger(
  scrubber: SecretScrubber,
  sink: LogSink = process.stdout,
  bindings: Record<string, string> = {},
): Logger {
  return pino(
    {
      level: "info",
      base: bindings,
      messageKey: "msg",
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: "[REDACTED]" },
    },
    { write: (line: string) => sink.write(scrubber.scrub(line)) },
  );
}
