import type { TextMapPropagator, Tracer } from "@opentelemetry/api";
import type { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import type { OperationDurations } from "./OperationDurations.ts";

/** What every span of the proxy's is made with: one set per running telemetry. */
export interface TracingParts {
  readonly tracer: Tracer;
  readonly durations: OperationDurations;
  /** W3C trace context, read from and written to headers and `params._meta` alike. */
  readonly propagator: TextMapPropagator;
  /** The context a request is handled in (Breakwater's own: nothing is registered globally). */
  readonly contexts: AsyncLocalStorageContextManager;
  /** Milliseconds on a monotonic clock, for the operations' durations. */
  readonly now: () => number;
}
