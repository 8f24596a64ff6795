import { type DestinationStream, type Logger, pino } from "pino";
import type { LogLevel } from "../config/schema.ts";

/**
 * JSON lines on stdout (or `destination`), from `level` up (default `info`). Secrets never reach a log
 * line: Authorization and Cookie values are censored wherever they appear under `headers`, and the
 * admin token is never logged. With telemetry on, `traceFields` adds the current span's ids to each line.
 */
export function createLogger(
  destination?: DestinationStream,
  level: LogLevel = "info",
  traceFields?: () => Record<string, string>,
): Logger {
  return pino(
    {
      level,
      // trace_id and span_id of the span current when the line is written (SPEC §9); off: no mixin
      ...(traceFields === undefined ? {} : { mixin: traceFields }),
      base: { service: "breakwater" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ["*.headers.authorization", "*.headers.cookie", "headers.authorization", "headers.cookie"],
        censor: "[redacted]",
      },
    },
    // synchronous: state changes are rare, and a line must not be lost when the process exits
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
