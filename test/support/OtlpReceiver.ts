import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type HistogramPoint,
  type ReceivedMetric,
  type ReceivedSpan,
  readExport,
  type Signal,
} from "./otlpRecords.ts";
import { until } from "./until.ts";

export type {
  Attributes,
  AttributeValue,
  HistogramPoint,
  ReceivedMetric,
  ReceivedSpan,
} from "./otlpRecords.ts";

/** What the receiver does with an export: answer 200, hold it unanswered, or answer `failStatus`. */
export type ReceiverMode = "ok" | "hang" | "fail";

export interface OtlpReceiverOptions {
  readonly mode?: ReceiverMode;
  /** What `"fail"` answers (default 503, which the OTLP exporters retry; 400 is not retried). */
  readonly failStatus?: number;
}

/** What reached the receiver, before any decoding: the signal's path and how the body was sent. */
export interface ReceivedRequest {
  readonly path: string;
  readonly contentType: string;
  readonly contentEncoding: string;
  readonly userAgent: string;
}

/** The OTLP/HTTP paths, by signal (https://opentelemetry.io/docs/specs/otlp/#otlphttp-request). */
const SIGNALS: Readonly<Record<string, Signal>> = { "/v1/traces": "traces", "/v1/metrics": "metrics" };
/** A bound on one export's body: a test receiver must not grow without limit on a broken exporter. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

interface HeldExport {
  readonly request: ReceivedRequest;
  readonly body: Buffer;
  readonly res: ServerResponse;
}

/**
 * An OTLP/HTTP receiver (https://opentelemetry.io/docs/specs/otlp/#otlphttp) on 127.0.0.1 at a port of
 * the system's choosing: POST /v1/traces and /v1/metrics, bodies in binary protobuf (what the
 * `-otlp-proto` exporters send) or OTLP/JSON, gzip or not. What it accepts (answers 200) is decoded into
 * plain records; what it holds (`"hang"`) or refuses (`"fail"`) is only counted. Stop it from `t.after`.
 */
export class OtlpReceiver {
  readonly #server: Server;
  readonly #failStatus: number;
  readonly #held: HeldExport[] = [];
  #mode: ReceiverMode;
  #port = 0;
  /** Every request that reached the receiver, in order (whatever was then done with it). */
  readonly requests: ReceivedRequest[] = [];
  readonly spans: ReceivedSpan[] = [];
  readonly metrics: ReceivedMetric[] = [];
  readonly histogramPoints: HistogramPoint[] = [];
  /** Bodies that could not be decoded (answered 400): a test expects none. */
  readonly errors: Error[] = [];

  private constructor(options: OtlpReceiverOptions) {
    this.#mode = options.mode ?? "ok";
    this.#failStatus = options.failStatus ?? 503;
    this.#server = createServer((req, res) => this.#receive(req, res));
  }

  static async start(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver(options);
    await new Promise<void>((resolve) => receiver.#server.listen(0, "127.0.0.1", resolve));
    receiver.#port = (receiver.#server.address() as AddressInfo).port;
    return receiver;
  }

  /** The base URL; the signals are at `${url}/v1/traces` and `${url}/v1/metrics`. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get mode(): ReceiverMode {
    return this.#mode;
  }

  /** Switching out of `"hang"` answers every held export as the new mode says. */
  set mode(mode: ReceiverMode) {
    this.#mode = mode;
    if (mode === "hang") return;
    for (const held of this.#held.splice(0)) this.#answer(held);
  }

  /** How many exports are held unanswered (mode `"hang"`). */
  get held(): number {
    return this.#held.length;
  }

  /** How many requests reached `path` (`"/v1/traces"`, `"/v1/metrics"`), answered or not. */
  received(path: string): number {
    return this.requests.filter((request) => request.path === path).length;
  }

  /** Forgets what was received (counters included); the mode stays. */
  clear(): void {
    for (const list of [this.requests, this.spans, this.metrics, this.histogramPoints, this.errors]) {
      list.length = 0;
    }
  }

  async waitForSpans(
    want: number | ((spans: readonly ReceivedSpan[]) => boolean),
    what = typeof want === "number" ? `${want} spans` : "the spans",
  ): Promise<readonly ReceivedSpan[]> {
    await until(() => (typeof want === "number" ? this.spans.length >= want : want(this.spans)), what);
    return this.spans;
  }

  async waitForSpan(predicate: (span: ReceivedSpan) => boolean, what = "the span"): Promise<ReceivedSpan> {
    await until(() => this.spans.some(predicate), what);
    return this.spans.find(predicate) as ReceivedSpan;
  }

  async waitForHistogramPoints(
    want: number | ((points: readonly HistogramPoint[]) => boolean),
    what = typeof want === "number" ? `${want} histogram points` : "the histogram points",
  ): Promise<readonly HistogramPoint[]> {
    const holds = () =>
      typeof want === "number" ? this.histogramPoints.length >= want : want(this.histogramPoints);
    await until(holds, what);
    return this.histogramPoints;
  }

  async waitForRequests(path: string, count: number, what = `${count} requests to ${path}`): Promise<void> {
    await until(() => this.received(path) >= count, what);
  }

  async waitForHeld(count: number, what = `${count} held exports`): Promise<void> {
    await until(() => this.#held.length >= count, what);
  }

  /** Closes the listener and every connection, held exports included (their clients see a reset). */
  async stop(): Promise<void> {
    this.#held.length = 0;
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #receive(req: IncomingMessage, res: ServerResponse): void {
    const request: ReceivedRequest = {
      path: (req.url ?? "").split("?")[0] ?? "",
      contentType: (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "",
      contentEncoding: (req.headers["content-encoding"] ?? "").toLowerCase(),
      userAgent: req.headers["user-agent"] ?? "",
    };
    this.requests.push(request);
    if (req.method !== "POST" || SIGNALS[request.path] === undefined) {
      res.writeHead(404).end();
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413, { connection: "close" }).end();
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => {
      const held = { request, body: Buffer.concat(chunks), res };
      if (this.#mode !== "hang") return this.#answer(held);
      this.#held.push(held);
      res.on("close", () => {
        const index = this.#held.indexOf(held);
        if (index >= 0) this.#held.splice(index, 1);
      });
    });
  }

  #answer({ request, body, res }: HeldExport): void {
    if (this.#mode === "fail") {
      res.writeHead(this.#failStatus, { "content-type": "text/plain" }).end("refused by the test");
      return;
    }
    const json = request.contentType === "application/json";
    try {
      const contents = readExport(SIGNALS[request.path] as Signal, body, request);
      this.spans.push(...contents.spans);
      this.metrics.push(...contents.metrics);
      this.histogramPoints.push(...contents.histogramPoints);
    } catch (error) {
      this.errors.push(error as Error);
      res.writeHead(400, { "content-type": "text/plain" }).end(String(error));
      return;
    }
    // An empty Export*ServiceResponse: no partial_success, so the exporter counts every item accepted.
    if (json) res.writeHead(200, { "content-type": "application/json" }).end("{}");
    else res.writeHead(200, { "content-type": "application/x-protobuf", "content-length": "0" }).end();
  }
}
