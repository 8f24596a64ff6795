import type { Registry } from "prom-client";
import type { RequestTracing } from "../proxy/RequestTracing.ts";

/**
 * Telemetry running (SPEC §9): what the proxy, the log and `/metrics` take of it. Loaded only when an
 * OTLP endpoint is configured (see `loadTelemetry`): off, none of its code is even imported.
 */
export interface Telemetry {
  /** The proxy's traces: server and client spans, and the MCP duration histograms. */
  readonly tracing: RequestTracing;
  /** `trace_id` and `span_id` of the span current now, for each log line (none outside a span). */
  readonly logFields: () => Record<string, string>;
  /** Shows the duration histograms and `breakwater_telemetry_dropped_total` on `registry` (`/metrics`). */
  showOn(registry: Registry): void;
  /** Exports what is queued (bounded by the export timeout) and stops. */
  shutdown(): Promise<void>;
}
