import type { IncomingHttpHeaders } from "node:http";
import type { Context } from "@opentelemetry/api";
import type { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import type { ResponseSink, TransportControls, TransportFailure } from "../upstreams/Upstream.ts";

/**
 * A response sink run in its attempt's context. An upstream's callbacks come in the async context of
 * whatever its transport was doing (a pooled socket opened by another request), so what the sink logs
 * or starts would belong to that request's trace, not this one's: each call enters this attempt's
 * context first. Tells `onHead` the response's status.
 */
export class TracedSink implements ResponseSink {
  readonly #sink: ResponseSink;
  readonly #contexts: AsyncLocalStorageContextManager;
  readonly #context: Context;
  readonly #onHead: (status: number) => void;

  constructor(
    sink: ResponseSink,
    contexts: AsyncLocalStorageContextManager,
    context: Context,
    onHead: (status: number) => void,
  ) {
    this.#sink = sink;
    this.#contexts = contexts;
    this.#context = context;
    this.#onHead = onHead;
  }

  start(controls: TransportControls): void {
    this.#contexts.with(this.#context, () => this.#sink.start(controls));
  }

  head(status: number, headers: IncomingHttpHeaders, statusMessage: string): void {
    this.#onHead(status);
    this.#contexts.with(this.#context, () => this.#sink.head(status, headers, statusMessage));
  }

  data(chunk: Buffer): void {
    this.#contexts.with(this.#context, () => this.#sink.data(chunk));
  }

  end(): void {
    this.#contexts.with(this.#context, () => this.#sink.end());
  }

  error(failure: TransportFailure): void {
    this.#contexts.with(this.#context, () => this.#sink.error(failure));
  }
}
