import { createNoopMeter, type Meter, type MeterProvider } from "@opentelemetry/api";

/** The SDK's own counter of the spans its batch processor finished with, `error.type` set on a loss. */
const processedSpans = "otel.sdk.processor.span.processed";

/**
 * A meter provider for the span processor's self-observation (`selfObsMeterProvider`) that only
 * counts the spans it lost — dropped from a full queue (`error.type = queue_full`) or in an export
 * that failed — into `count`. What the SDK counts is what is told: Breakwater counts no span itself.
 */
export function droppedSpansMeter(count: (spans: number) => void): MeterProvider {
  const noop = createNoopMeter();
  const meter: Meter = Object.create(noop);
  meter.createCounter = (name, options) => {
    if (name !== processedSpans) return noop.createCounter(name, options);
    // a counter of its own: the noop meter's are shared by everyone who asks for one
    return {
      add: (value, attributes) => {
        if (attributes?.["error.type"] !== undefined) count(value);
      },
    };
  };
  return { getMeter: () => meter };
}
