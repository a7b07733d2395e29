import { closeSync, openSync, readSync, statSync } from "node:fs";

// The termination message of a finished container, read the way the kubelet reads it.

/** The kubelet reads at most this much of the termination-message file. */
export const MAX_TERMINATION_MESSAGE_BYTES = 4096;
/** FallbackToLogsOnError: the last lines of the log, at most this many and this long. */
export const FALLBACK_LOG_LINES = 80;
export const FALLBACK_LOG_BYTES = 2048;

/** The last `maxLines` lines of `text`, then at most its last `maxBytes` bytes. */
export function lastLogLines(text: string, maxLines: number, maxBytes: number): string {
  const lines = text.replace(/\n$/, "").split("\n");
  const tail = Buffer.from(lines.slice(-maxLines).join("\n"), "utf8");
  return tail.subarray(Math.max(0, tail.length - maxBytes)).toString("utf8");
}

/** Up to `maxBytes` from the start (`from: "start"`) or the end of a file; "" when it does not exist. */
function readCapped(path: string, maxBytes: number, from: "start" | "end"): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return "";
  }
  try {
    const size = statSync(path).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    const position = from === "start" ? 0 : size - length;
    const read = readSync(fd, buffer, 0, length, position);
    return buffer.subarray(0, read).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/**
 * The message the container status reports: the termination-message file (first 4096 bytes); with
 * policy FallbackToLogsOnError and a non-zero exit, the last log lines when the file is empty.
 */
export function readTerminationMessage(input: {
  messageFile: string;
  policy: string | undefined;
  exitCode: number;
  logFile: string;
}): string | undefined {
  const message = readCapped(input.messageFile, MAX_TERMINATION_MESSAGE_BYTES, "start");
  if (message.length > 0) return message;
  if (input.policy === "FallbackToLogsOnError" && input.exitCode !== 0) {
    // Read a generous tail: 80 lines of an unknown length, then cut to the byte limit.
    const tail = readCapped(input.logFile, FALLBACK_LOG_LINES * 1024, "end");
    const lines = lastLogLines(tail, FALLBACK_LOG_LINES, FALLBACK_LOG_BYTES);
    return lines.length > 0 ? lines : undefined;
  }
  return undefined;
}
