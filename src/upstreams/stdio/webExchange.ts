import type { IncomingHttpHeaders } from "node:http";
import { upstreamRequestHeaders } from "../../http/hopByHop.ts";
import {
  type ResponseSink,
  type TransportControls,
  transportFailure,
  type UpstreamRequest,
} from "../Upstream.ts";

/**
 * The client's request as a web `Request`, for the SDK's Streamable HTTP server transport: the same
 * headers an HTTP upstream would get (hop-by-hop ones dropped) and the buffered body.
 */
export function webRequest(request: UpstreamRequest): Request {
  const flat = upstreamRequestHeaders(request.rawHeaders, request.connection, {
    address: request.clientAddress,
    host: request.host,
    proto: request.proto,
  });
  const headers = new Headers();
  for (let i = 0; i < flat.length; i += 2) headers.append(flat[i] as string, flat[i + 1] as string);
  const hasBody = request.body !== undefined && request.method !== "GET" && request.method !== "HEAD";
  return new Request(`http://stdio.invalid${request.target.startsWith("/") ? "" : "/"}${request.target}`, {
    method: request.method,
    headers,
    ...(hasBody ? { body: new Uint8Array(request.body as Buffer) } : {}),
  });
}

/**
 * Streams a web `Response` into a sink, as an HTTP transport would: its head, each chunk of its body
 * (read only while the client keeps up), its end. The controls pause, resume or abort the reading.
 */
export class WebResponseStream implements TransportControls {
  readonly #sink: ResponseSink;
  readonly #finished: () => void;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** Called once if the exchange is aborted (the client gone, the deadline passed). */
  onAbort: (() => void) | undefined;
  /** Called once when the exchange is over, however it ended. */
  onOver: (() => void) | undefined;
  #paused = false;
  #reading = false;
  #over = false;

  constructor(sink: ResponseSink, finished: () => void) {
    this.#sink = sink;
    this.#finished = finished;
  }

  get over(): boolean {
    return this.#over;
  }

  /** Passes `response` on. */
  deliver(response: Response): void {
    if (this.#over) {
      void response.body?.cancel();
      return;
    }
    const headers: IncomingHttpHeaders = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    this.#sink.head(response.status, headers, response.statusText);
    if (this.#over) return;
    if (response.body === null) {
      this.#done();
      this.#sink.end();
      return;
    }
    this.#reader = response.body.getReader();
    void this.#pump();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    void this.#pump();
  }

  abort(_reason: Error): void {
    if (this.#over) return;
    this.#done();
    this.onAbort?.();
    void this.#reader?.cancel().catch(() => {});
  }

  async #pump(): Promise<void> {
    const reader = this.#reader;
    if (reader === undefined || this.#reading) return;
    this.#reading = true;
    try {
      while (!this.#paused && !this.#over) {
        const { done, value } = await reader.read();
        if (this.#over) return;
        if (done) {
          this.#done();
          this.#sink.end();
          return;
        }
        this.#sink.data(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      }
    } catch (error) {
      if (this.#over) return;
      this.#done();
      this.#sink.error(transportFailure(error as Error, { connectionLost: true }));
    } finally {
      this.#reading = false;
    }
  }

  #done(): void {
    if (this.#over) return;
    this.#over = true;
    this.#finished();
    this.onOver?.();
  }
}
