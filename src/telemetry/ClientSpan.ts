import { type Context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { AttemptTrace } from "../exchange/AttemptTrace.ts";
import type { ExchangeOutcome } from "../judges/ExchangeJudge.ts";
import type { FailureCause } from "../judges/failureCause.ts";
import type { ResponseSink, TransportFailure, Upstream, UpstreamRequest } from "../upstreams/Upstream.ts";
import { withHeaderContext } from "./headerContext.ts";
import { attr, causeErrorType } from "./mcpAttributes.ts";
import { type McpRequestFacts, mcpRequestFacts, spanName } from "./mcpRequestFacts.ts";
import { withMetaContext } from "./metaContext.ts";
import { requestAttributes, type ServerSpan } from "./ServerSpan.ts";
import { TracedSink } from "./TracedSink.ts";
import type { TracingParts } from "./TracingParts.ts";
import { carrierSetter, type TraceCarrier } from "./traceCarrier.ts";

const sessionHeader = "mcp-session-id";

/**
 * The client span of one attempt at one upstream (SPEC §9), a child of the request's server span:
 * named and attributed as the request it sends (the aggregate's bare name, not the client's prefixed
 * one), with the upstream's address (or `pipe`), and the upstream's own session id. Its context goes
 * upstream in the `traceparent` header and in `params._meta` — the one change Breakwater makes to a
 * body it forwards, and only while telemetry is on. It ends with the attempt's outcome, or when no
 * response came.
 */
export class ClientSpan implements AttemptTrace {
  readonly request: UpstreamRequest;
  readonly #parts: TracingParts;
  readonly #parent: ServerSpan;
  readonly #upstream: Upstream;
  readonly #span: Span;
  readonly #context: Context;
  readonly #facts: McpRequestFacts | undefined;
  readonly #startedAt: number;
  #status = 0;
  #ended = false;

  /** `facts`: the request's, when its body is the client's own (read once already). */
  constructor(
    parts: TracingParts,
    parent: ServerSpan,
    upstream: Upstream,
    request: UpstreamRequest,
    facts: McpRequestFacts | undefined,
  ) {
    this.#parts = parts;
    this.#parent = parent;
    this.#upstream = upstream;
    this.#startedAt = parts.now();
    const body = request.body;
    const own = facts ?? (body === undefined ? undefined : mcpRequestFacts(body, request.rawHeaders));
    this.#facts = own;
    const span = parts.tracer.startSpan(
      own === undefined ? request.method : spanName(own),
      { kind: SpanKind.CLIENT },
      parent.context,
    );
    this.#span = span;
    // after the sampler's decision, as on the server span
    if (span.isRecording()) {
      if (own !== undefined) span.setAttributes(requestAttributes(own));
      describeUpstream(span, upstream, request.rawHeaders, parent.server);
    }
    this.#context = trace.setSpan(parent.context, span);
    const carrier: TraceCarrier = {};
    parts.propagator.inject(this.#context, carrier, carrierSetter);
    const traceparent = carrier.traceparent;
    if (traceparent === undefined) this.request = request;
    else {
      const context = { traceparent, tracestate: carrier.tracestate };
      this.request = {
        ...request,
        rawHeaders: withHeaderContext(request.rawHeaders, context),
        body: own === undefined || body === undefined ? body : withMetaContext(body, context, own),
      };
    }
  }

  bind(sink: ResponseSink): ResponseSink {
    return new TracedSink(sink, this.#parts.contexts, this.#context, (status) => {
      this.#status = status;
    });
  }

  settled(_outcome: ExchangeOutcome, cause: FailureCause | undefined, answerError: string | undefined): void {
    const status = this.#status;
    const errorType =
      answerError ??
      (cause === undefined ? (status >= 400 ? String(status) : undefined) : causeErrorType(cause));
    const code = answerError !== undefined && answerError !== "tool_error" ? answerError : undefined;
    this.#end(errorType, code, undefined);
  }

  failed(failure: TransportFailure): void {
    const error = failure.error as NodeJS.ErrnoException;
    this.#end(error.code ?? error.name, undefined, error.message);
  }

  #end(errorType: string | undefined, code: string | undefined, message: string | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    const span = this.#span;
    if (this.#status !== 0) span.setAttribute(attr.httpStatusCode, this.#status);
    if (code !== undefined) span.setAttribute(attr.responseStatusCode, code);
    if (errorType !== undefined) {
      span.setAttribute(attr.errorType, errorType);
      span.setStatus(
        message === undefined ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.ERROR, message },
      );
    }
    span.end();
    const upstream = this.#upstream;
    this.#parent.attemptEnded(upstream.name, errorType, code);
    const facts = this.#facts;
    if (facts === undefined) return;
    const seconds = (this.#parts.now() - this.#startedAt) / 1_000;
    this.#parts.durations.sent(
      seconds,
      {
        method: facts.method,
        tool: facts.toolName,
        prompt: facts.promptName,
        protocolVersion: facts.protocolVersion,
        errorType,
        statusCode: code,
        server: this.#parent.server,
      },
      upstream.name,
      upstream.peer,
    );
  }
}

/** The upstream's side of a client span: where it is, and the session it holds (its own id). */
function describeUpstream(
  span: Span,
  upstream: Upstream,
  rawHeaders: readonly string[],
  server: string | undefined,
): void {
  span.setAttribute(attr.upstream, upstream.name);
  if (server !== undefined) span.setAttribute(attr.server, server);
  const peer = upstream.peer;
  if (peer !== undefined) {
    span.setAttribute(attr.networkTransport, peer.transport);
    if (peer.transport === "tcp") {
      span.setAttribute(attr.serverAddress, peer.address);
      span.setAttribute(attr.serverPort, peer.port);
      span.setAttribute(attr.networkProtocolName, "http");
    }
  }
  const session = headerValue(rawHeaders, sessionHeader);
  if (session !== undefined) span.setAttribute(attr.sessionId, session);
}

function headerValue(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === name) return rawHeaders[i + 1];
  }
  return undefined;
}
