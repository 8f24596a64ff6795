import type { TextMapGetter, TextMapSetter } from "@opentelemetry/api";

/**
 * W3C trace context as plain values (https://www.w3.org/TR/trace-context/): what Breakwater reads
 * from a request (its `params._meta`, or its headers) and writes into what it sends upstream. The
 * OpenTelemetry propagator reads and writes it through `carrierGetter` and `carrierSetter`, so the
 * body and the headers are handled by Breakwater's own code (byte for byte) and the propagator only
 * parses and formats the values.
 */

/** The `traceparent` and `tracestate` values of a request, each when present. */
export interface TraceCarrier {
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}

/** A span context to send: its `traceparent`, and its `tracestate` when it has one. */
export interface TraceContextValues {
  readonly traceparent: string;
  readonly tracestate?: string | undefined;
}

const fields = ["traceparent", "tracestate"] as const;

function fieldOf(key: string): (typeof fields)[number] | undefined {
  return key === "traceparent" || key === "tracestate" ? key : undefined;
}

/**
 * Reads a carrier for `W3CTraceContextPropagator.extract`: only the two trace context fields, so that
 * an object holding more (the facts of a request) can be the carrier itself.
 */
export const carrierGetter: TextMapGetter<TraceCarrier> = {
  keys: (carrier) => fields.filter((field) => carrier[field] !== undefined),
  get: (carrier, key) => {
    const field = fieldOf(key);
    return field === undefined ? undefined : carrier[field];
  },
};

/** Writes a carrier for `W3CTraceContextPropagator.inject`; other fields (another propagator's) are not kept. */
export const carrierSetter: TextMapSetter<TraceCarrier> = {
  set: (carrier, key, value) => {
    const field = fieldOf(key);
    if (field !== undefined) carrier[field] = value;
  },
};
