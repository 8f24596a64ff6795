import { gunzipSync } from "node:zlib";
import { otlpTypes } from "./otlpProto.ts";

// What an OTLP export body says, as records a test can compare: ids in hex, enums by name, times in
// nanoseconds as bigint, attributes as a plain object. The OTLP/HTTP receiver keeps what it accepts so.

export type AttributeValue =
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | null
  | readonly AttributeValue[]
  | { readonly [key: string]: AttributeValue };
export type Attributes = Readonly<Record<string, AttributeValue>>;

export type SpanKindName = "unspecified" | "internal" | "server" | "client" | "producer" | "consumer";
export type StatusCodeName = "unset" | "ok" | "error";

/** One span as a test reads it: ids in lower-case hex (`""` when absent), times in Unix nanoseconds. */
export interface ReceivedSpan {
  readonly name: string;
  readonly kind: SpanKindName;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly traceState: string;
  readonly flags: number;
  readonly attributes: Attributes;
  readonly events: readonly {
    readonly name: string;
    readonly timeNs: bigint;
    readonly attributes: Attributes;
  }[];
  readonly links: readonly {
    readonly traceId: string;
    readonly spanId: string;
    readonly traceState: string;
    readonly attributes: Attributes;
  }[];
  readonly status: { readonly code: StatusCodeName; readonly message: string };
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly resource: Attributes;
  readonly scope: string;
}

export type MetricKind = "gauge" | "sum" | "histogram" | "exponentialHistogram" | "summary" | "none";

/** One metric as received; `data` is its data message as decoded (for the kinds without a record). */
export interface ReceivedMetric {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  readonly kind: MetricKind;
  readonly data: unknown;
  readonly resource: Attributes;
  readonly scope: string;
}

/** One data point of an explicit-bucket histogram. `bucketCounts` has one more entry than the bounds. */
export interface HistogramPoint {
  readonly metric: string;
  readonly unit: string;
  readonly temporality: "unspecified" | "delta" | "cumulative";
  readonly attributes: Attributes;
  readonly count: number;
  readonly sum: number | undefined;
  readonly min: number | undefined;
  readonly max: number | undefined;
  readonly bucketCounts: readonly number[];
  readonly explicitBounds: readonly number[];
  readonly startNs: bigint;
  readonly timeNs: bigint;
  readonly resource: Attributes;
  readonly scope: string;
}

const SPAN_KINDS: readonly SpanKindName[] = [
  "unspecified",
  "internal",
  "server",
  "client",
  "producer",
  "consumer",
];
const STATUS_CODES: readonly StatusCodeName[] = ["unset", "ok", "error"];
const TEMPORALITIES = ["unspecified", "delta", "cumulative"] as const;
const METRIC_KINDS = ["gauge", "sum", "histogram", "exponentialHistogram", "summary"] as const;

type Plain = Readonly<Record<string, unknown>>;

/** The signal an export carries, by its OTLP/HTTP path. */
export type Signal = "traces" | "metrics";

/** How an export body came: `contentType` without parameters, `contentEncoding` as sent (`""` for none). */
export interface BodyFormat {
  readonly contentType: string;
  readonly contentEncoding: string;
}

/** What one export request carried, as records. */
export interface ExportContents {
  readonly spans: ReceivedSpan[];
  readonly metrics: ReceivedMetric[];
  readonly histogramPoints: HistogramPoint[];
}

/**
 * Reads an Export{Trace,Metrics}ServiceRequest body: binary protobuf (OTLP/HTTP's default,
 * `application/x-protobuf`) or OTLP/JSON (`application/json`), gzip-compressed or not
 * (https://opentelemetry.io/docs/specs/otlp/#otlphttp-request).
 * @throws when the body is not such a request
 */
export function readExport(signal: Signal, body: Buffer, format: BodyFormat): ExportContents {
  const bytes = format.contentEncoding === "gzip" ? gunzipSync(body) : body;
  const request =
    format.contentType === "application/json"
      ? plain(JSON.parse(bytes.toString("utf8")))
      : decodeProtobuf(signal, bytes);
  const contents: ExportContents = { spans: [], metrics: [], histogramPoints: [] };
  if (signal === "traces") contents.spans.push(...spansOf(request));
  else metricsOf(request, contents);
  return contents;
}

function decodeProtobuf(signal: Signal, bytes: Buffer): Plain {
  const types = otlpTypes();
  const type = signal === "traces" ? types.exportTraceRequest : types.exportMetricsRequest;
  // 64-bit integers as decimal strings (exact); bytes stay bytes; enums stay numbers: the shape of OTLP/JSON.
  return type.toObject(type.decode(bytes), { longs: String }) as Plain;
}

function spansOf(request: Plain): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of list(request["resourceSpans"])) {
    const resource = attributes(plain(resourceSpans["resource"])["attributes"]);
    for (const scopeSpans of list(resourceSpans["scopeSpans"])) {
      const scope = string(plain(scopeSpans["scope"])["name"]);
      for (const span of list(scopeSpans["spans"])) {
        const status = plain(span["status"]);
        spans.push({
          name: string(span["name"]),
          kind: SPAN_KINDS[int(span["kind"])] ?? "unspecified",
          traceId: hex(span["traceId"]),
          spanId: hex(span["spanId"]),
          parentSpanId: hex(span["parentSpanId"]),
          traceState: string(span["traceState"]),
          flags: int(span["flags"]),
          attributes: attributes(span["attributes"]),
          events: list(span["events"]).map((event) => ({
            name: string(event["name"]),
            timeNs: nanos(event["timeUnixNano"]),
            attributes: attributes(event["attributes"]),
          })),
          links: list(span["links"]).map((link) => ({
            traceId: hex(link["traceId"]),
            spanId: hex(link["spanId"]),
            traceState: string(link["traceState"]),
            attributes: attributes(link["attributes"]),
          })),
          status: {
            code: STATUS_CODES[int(status["code"])] ?? "unset",
            message: string(status["message"]),
          },
          startNs: nanos(span["startTimeUnixNano"]),
          endNs: nanos(span["endTimeUnixNano"]),
          resource,
          scope,
        });
      }
    }
  }
  return spans;
}

function metricsOf(request: Plain, contents: ExportContents): void {
  for (const resourceMetrics of list(request["resourceMetrics"])) {
    const resource = attributes(plain(resourceMetrics["resource"])["attributes"]);
    for (const scopeMetrics of list(resourceMetrics["scopeMetrics"])) {
      const scope = string(plain(scopeMetrics["scope"])["name"]);
      for (const metric of list(scopeMetrics["metrics"])) {
        const kind = METRIC_KINDS.find((name) => metric[name] !== undefined) ?? "none";
        const data = kind === "none" ? undefined : metric[kind];
        const name = string(metric["name"]);
        const unit = string(metric["unit"]);
        contents.metrics.push({
          name,
          description: string(metric["description"]),
          unit,
          kind,
          data,
          resource,
          scope,
        });
        if (kind !== "histogram") continue;
        const temporality = TEMPORALITIES[int(plain(data)["aggregationTemporality"])] ?? "unspecified";
        for (const point of list(plain(data)["dataPoints"])) {
          contents.histogramPoints.push({
            metric: name,
            unit,
            temporality,
            attributes: attributes(point["attributes"]),
            count: int(point["count"]),
            sum: optionalNumber(point["sum"]),
            min: optionalNumber(point["min"]),
            max: optionalNumber(point["max"]),
            bucketCounts: (Array.isArray(point["bucketCounts"]) ? point["bucketCounts"] : []).map(Number),
            explicitBounds: (Array.isArray(point["explicitBounds"]) ? point["explicitBounds"] : []).map(
              Number,
            ),
            startNs: nanos(point["startTimeUnixNano"]),
            timeNs: nanos(point["timeUnixNano"]),
            resource,
            scope,
          });
        }
      }
    }
  }
}
// The decoded message and OTLP/JSON share their shape (lowerCamelCase keys, enums as numbers); they differ
// in ids (bytes, or hex strings in JSON) and 64-bit integers (decimal strings, or numbers in JSON).

function plain(value: unknown): Plain {
  return typeof value === "object" && value !== null ? (value as Plain) : {};
}

function list(value: unknown): Plain[] {
  return Array.isArray(value) ? value.map(plain) : [];
}

function string(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function int(value: unknown): number {
  return value === undefined ? 0 : Number(value);
}

function optionalNumber(value: unknown): number | undefined {
  return value === undefined || value === null ? undefined : Number(value);
}

function nanos(value: unknown): bigint {
  return typeof value === "string" || typeof value === "number" ? BigInt(value) : 0n;
}

function hex(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
  return typeof value === "string" ? value.toLowerCase() : "";
}

function attributes(value: unknown): Attributes {
  return Object.fromEntries(list(value).map((pair) => [string(pair["key"]), anyValue(pair["value"])]));
}

/** An AnyValue by whichever of its oneof fields is set (an empty AnyValue is null). */
function anyValue(value: unknown): AttributeValue {
  const v = plain(value);
  if (v["stringValue"] !== undefined) return string(v["stringValue"]);
  if (v["boolValue"] !== undefined) return v["boolValue"] === true;
  if (v["intValue"] !== undefined) {
    const exact = BigInt(v["intValue"] as string | number);
    return Number.isSafeInteger(Number(exact)) ? Number(exact) : exact;
  }
  if (v["doubleValue"] !== undefined) return Number(v["doubleValue"]);
  if (v["arrayValue"] !== undefined) return list(plain(v["arrayValue"])["values"]).map(anyValue);
  if (v["kvlistValue"] !== undefined) return attributes(plain(v["kvlistValue"])["values"]);
  if (v["bytesValue"] instanceof Uint8Array) return v["bytesValue"];
  if (typeof v["bytesValue"] === "string") return Buffer.from(v["bytesValue"], "base64");
  return null;
}
