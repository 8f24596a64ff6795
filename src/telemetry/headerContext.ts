import type { IncomingHttpHeaders } from "node:http";
import type { TraceCarrier, TraceContextValues } from "./traceCarrier.ts";

/**
 * The W3C trace context HTTP headers (https://www.w3.org/TR/trace-context/, "Trace Context HTTP
 * Headers Format"): read from a client's request, and set on what is sent upstream.
 */

/**
 * `rawHeaders` (`[name, value, …]` as node gives them) with every `traceparent` and `tracestate`, in
 * any case, replaced by `context`'s: the upstream request carries the client span's context and no
 * other. A context without `tracestate` drops the client's: a `tracestate` belongs to the
 * `traceparent` it came with (its left-most entry is the vendor that wrote that `traceparent`), and
 * the propagator gives the one the new span carries on.
 */
export function withHeaderContext(rawHeaders: readonly string[], context: TraceContextValues): string[] {
  const headers: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (!isTraceHeader(name)) headers.push(name, rawHeaders[i + 1] as string);
  }
  headers.push("traceparent", context.traceparent);
  if (context.tracestate !== undefined) headers.push("tracestate", context.tracestate);
  return headers;
}

/**
 * The trace context a request's headers carry, undefined when they carry no `traceparent`, or more
 * than one: node joins a repeated header with ", ", and the W3C test suite (`test_traceparent_duplicated`)
 * expects a repeated `traceparent` to start a new trace rather than follow either. Repeated
 * `tracestate` headers are one list (the spec lets a list be split over headers); node has joined them.
 */
export function headerCarrier(headers: IncomingHttpHeaders): TraceCarrier | undefined {
  const traceparent = headers["traceparent"];
  // a traceparent never holds a comma: one here is node's join of two headers
  if (typeof traceparent !== "string" || traceparent.includes(",")) return undefined;
  const tracestate = headers["tracestate"];
  const list = Array.isArray(tracestate) ? tracestate.join(",") : tracestate;
  return list === undefined ? { traceparent } : { traceparent, tracestate: list };
}

function isTraceHeader(name: string): boolean {
  if (name.length !== 11 && name.length !== 10) return false; // most names ruled out without lower-casing
  const lower = name.toLowerCase();
  return lower === "traceparent" || lower === "tracestate";
}
