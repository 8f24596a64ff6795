import { performance } from "node:perf_hooks";
import { trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { getNumberFromEnv, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { Counter, type Registry } from "prom-client";
import type { TelemetryConfig } from "../config/Config.ts";
import { droppedSpansMeter } from "./droppedSpans.ts";
import { McpTracing } from "./McpTracing.ts";
import { OperationDurations } from "./OperationDurations.ts";
import type { Telemetry } from "./Telemetry.ts";

/** How the batches are made and sent; the `OTEL_BSP_*` and `OTEL_METRIC_EXPORT_*` variables, else these. */
export interface ExportOptions {
  readonly maxQueueSize?: number;
  readonly maxExportBatchSize?: number;
  readonly scheduledDelayMillis?: number;
  readonly exportTimeoutMillis?: number;
  readonly metricIntervalMillis?: number;
  /** The exporters' own deadline, retries included (else `OTEL_EXPORTER_OTLP_TIMEOUT`, else 10 s). */
  readonly exporterTimeoutMillis?: number;
}

const scope = "breakwater";
/** The longest attribute value a span keeps: a URI or a tool name, not a megabyte a client sent. */
const maxAttributeLength = 1024;

/**
 * Starts telemetry (SPEC §9) on the OpenTelemetry SDK: spans batched and exported over OTLP/HTTP
 * (protobuf) to `config.otlpEndpoint`, sampled parent-based at `config.sampleRatio`; the MCP duration
 * histograms exported alike every minute (`OTEL_METRIC_EXPORT_INTERVAL`). Nothing is registered
 * globally: the tracer, meter and context are Breakwater's own. A collector that is slow or down costs
 * spans, never a request's time: spans wait in a bounded queue, and those lost are counted.
 */
export function startTelemetry(config: TelemetryConfig, options: ExportOptions = {}): Telemetry {
  const resource = detectResources({ detectors: [envDetector] }).merge(
    resourceFromAttributes({ "service.name": config.serviceName }),
  );
  let dropped = 0;
  let droppedSeries: Counter | undefined;
  const lost = (count: number) => {
    dropped += count;
    droppedSeries?.inc(count);
  };
  const timeoutMillis = options.exporterTimeoutMillis;
  const exporterTimeout = timeoutMillis === undefined ? {} : { timeoutMillis };
  const spanProcessor = new BatchSpanProcessor({
    exporter: new OTLPTraceExporter({ url: config.tracesUrl, ...exporterTimeout }),
    maxQueueSize: options.maxQueueSize ?? getNumberFromEnv("OTEL_BSP_MAX_QUEUE_SIZE") ?? 2048,
    maxExportBatchSize:
      options.maxExportBatchSize ?? getNumberFromEnv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") ?? 512,
    scheduledDelayMillis:
      options.scheduledDelayMillis ?? getNumberFromEnv("OTEL_BSP_SCHEDULE_DELAY") ?? 5_000,
    exportTimeoutMillis: options.exportTimeoutMillis ?? getNumberFromEnv("OTEL_BSP_EXPORT_TIMEOUT") ?? 30_000,
    selfObsMeterProvider: droppedSpansMeter(lost),
  });
  const tracerProvider = new TracerProvider({
    resource,
    // a queued span holds what a client wrote (a tool name, a URI, an id): each value is cut to this
    spanLimits: { attributeValueLengthLimit: maxAttributeLength },
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [spanProcessor],
  });
  // only a traces endpoint named (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT): the histograms are on /metrics alone
  const metricsUrl = config.metricsUrl;
  const readers =
    metricsUrl === undefined
      ? []
      : [
          new PeriodicExportingMetricReader({
            exporter: new OTLPMetricExporter({ url: metricsUrl, ...exporterTimeout }),
            exportIntervalMillis:
              options.metricIntervalMillis ?? getNumberFromEnv("OTEL_METRIC_EXPORT_INTERVAL") ?? 60_000,
          }),
        ];
  const meterProvider = new MeterProvider({ resource, readers });
  const durations = new OperationDurations(meterProvider.getMeter(scope));
  const contexts = new AsyncLocalStorageContextManager();
  const tracing = new McpTracing({
    tracer: tracerProvider.getTracer(scope),
    durations,
    propagator: new W3CTraceContextPropagator(),
    contexts,
    now: () => performance.now(),
  });
  return {
    tracing,
    logFields: () => {
      const span = trace.getSpan(contexts.active());
      // an ended span (a context a timer or a child process kept from an earlier request) names nothing;
      // an unsampled one records nothing to find
      if (span === undefined || !span.isRecording()) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
    showOn(registry: Registry) {
      durations.showOn(registry);
      droppedSeries = new Counter({
        name: "breakwater_telemetry_dropped_total",
        help: "Spans lost before reaching the collector: dropped from a full queue, or in a failed export",
        registers: [registry],
      });
      droppedSeries.inc(dropped);
    },
    async shutdown() {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}
