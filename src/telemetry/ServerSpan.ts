import type { IncomingMessage } from "node:http";
import { type Context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { AttemptTrace } from "../exchange/AttemptTrace.ts";
import type { UpstreamFailureAnswer } from "../proxy/proxyAnswers.ts";
import type { RequestTrace } from "../proxy/RequestTracing.ts";
import type { Upstream, UpstreamRequest } from "../upstreams/Upstream.ts";
import { ClientSpan } from "./ClientSpan.ts";
import { answerCode, answerErrorType, attr, executeTool } from "./mcpAttributes.ts";
import { type McpRequestFacts, spanName } from "./mcpRequestFacts.ts";
import type { TracingParts } from "./TracingParts.ts";

/**
 * The server span of one JSON-RPC request Breakwater handles (SPEC §9): named `{method} {target}`,
 * its attributes those of the conventions as the client's request states them; it ends when the
 * client's response closes, its `error.type` that of the answer the client got — the proxy's own
 * (`circuit_open`, `overloaded`, `timeout`…) or the last attempt's — and its duration is recorded.
 */
export class ServerSpan implements RequestTrace {
  readonly span: Span;
  /** The context the request is handled in: this span's, for its attempts' client spans. */
  readonly context: Context;
  readonly #parts: TracingParts;
  readonly #facts: McpRequestFacts;
  /** The client's body, as read: an attempt sending the same bytes shares its facts. */
  readonly #body: Buffer;
  readonly #startedAt: number;
  #server: string | undefined;
  #errorType: string | undefined;
  /** The JSON-RPC code of the answer the client got, when it was an error. */
  #statusCode: string | undefined;
  #ended = false;

  constructor(
    parts: TracingParts,
    req: IncomingMessage,
    body: Buffer,
    facts: McpRequestFacts,
    parent: Context,
    link: Context | undefined,
    receivedAt: number,
  ) {
    this.#parts = parts;
    this.#facts = facts;
    this.#body = body;
    this.#startedAt = receivedAt;
    const linked = link === undefined ? undefined : trace.getSpanContext(link);
    this.span = parts.tracer.startSpan(
      spanName(facts),
      {
        kind: SpanKind.SERVER,
        // from the request's arrival, its body's reading included (a `performance.now()` reading)
        startTime: receivedAt,
        ...(linked === undefined ? {} : { links: [{ context: linked }] }),
      },
      parent,
    );
    // set after the sampler decided, not given to startSpan: an unsampled span (most, at a ratio below 1)
    // would have them built and checked for nothing, a sampled one would have them checked twice
    if (this.span.isRecording()) {
      this.span.setAttributes(requestAttributes(facts));
      const address = req.socket.remoteAddress;
      if (address !== undefined) this.span.setAttribute(attr.clientAddress, address);
      const port = req.socket.remotePort;
      if (port !== undefined) this.span.setAttribute(attr.clientPort, port);
    }
    this.context = trace.setSpan(parent, this.span);
  }

  routed(server: string): void {
    this.#server = server;
    this.span.setAttribute(attr.server, server);
  }

  answeredForUpstream(answer: UpstreamFailureAnswer, asToolResult = false): void {
    this.#errorType = answerErrorType(answer);
    // a tool's circuit turning a call away answers a tool result: no JSON-RPC error was sent
    this.#statusCode = asToolResult ? undefined : answerCode(answer);
    const span = this.span;
    if (!span.isRecording()) return;
    span.setAttribute(attr.upstream, answer.upstream);
    if (this.#statusCode !== undefined) span.setAttribute(attr.responseStatusCode, this.#statusCode);
    if (answer.circuitState !== undefined) span.setAttribute(attr.circuitState, answer.circuitState);
    if (answer.retryAfterMs !== undefined) span.setAttribute(attr.retryAfterMs, answer.retryAfterMs);
  }

  answeredForServer(
    server: string,
    reason: string,
    retryAfterMs: number | undefined,
    asToolResult: boolean,
  ): void {
    this.routed(server);
    this.#errorType = reason;
    this.#statusCode = asToolResult ? undefined : "-32603";
    const span = this.span;
    if (!span.isRecording()) return;
    if (this.#statusCode !== undefined) span.setAttribute(attr.responseStatusCode, this.#statusCode);
    if (reason === "circuit_open") span.setAttribute(attr.circuitState, "open");
    if (retryAfterMs !== undefined) span.setAttribute(attr.retryAfterMs, retryAfterMs);
  }

  attempt(upstream: Upstream, request: UpstreamRequest): AttemptTrace {
    const body = request.body;
    return new ClientSpan(
      this.#parts,
      this,
      upstream,
      request,
      body === this.#body ? this.#facts : undefined,
    );
  }

  /** An attempt ended; the last one's error is the client's unless the proxy answers for it. */
  attemptEnded(upstream: string, errorType: string | undefined, statusCode: string | undefined): void {
    this.#errorType = errorType;
    this.#statusCode = statusCode;
    const span = this.span;
    if (!span.isRecording()) return;
    span.setAttribute(attr.upstream, upstream);
    if (statusCode !== undefined) span.setAttribute(attr.responseStatusCode, statusCode);
  }

  /** The server that served the request, once routed (for the attempts' spans and durations). */
  get server(): string | undefined {
    return this.#server;
  }

  /** The client's response has closed (finished or cut): the span ends. */
  end(statusCode: number, finished: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    // an answer of the proxy's own with no error named: a 5xx is its error, a 4xx the client's mistake
    const answered = this.#errorType ?? (statusCode >= 500 ? String(statusCode) : undefined);
    // the conventions: a server does not call the client's own mistakes its errors
    const errorType = answered !== undefined && clientMistakes.has(answered) ? undefined : answered;
    const span = this.span;
    if (errorType !== undefined) {
      span.setAttribute(attr.errorType, errorType);
      span.setStatus({ code: SpanStatusCode.ERROR });
    } else if (!finished) span.setStatus({ code: SpanStatusCode.ERROR, message: "the client went away" });
    span.end();
    const facts = this.#facts;
    this.#parts.durations.served((this.#parts.now() - this.#startedAt) / 1_000, {
      method: facts.method,
      tool: facts.toolName,
      prompt: facts.promptName,
      protocolVersion: facts.protocolVersion,
      errorType,
      statusCode: this.#statusCode,
      server: this.#server,
    });
  }
}

/**
 * JSON-RPC codes that a server span records (`rpc.response.status_code`) without an `error.type`: the
 * request was malformed, named no method or gave bad parameters, or a resource that is not there
 * (the conventions' list: the client erred, not the server).
 */
const clientMistakes: ReadonlySet<string> = new Set(["-32700", "-32600", "-32601", "-32602", "-32002"]);

/** The attributes a request's own text gives its spans. */
export function requestAttributes(facts: McpRequestFacts): Record<string, string> {
  const out: Record<string, string> = { [attr.methodName]: facts.method };
  if (facts.requestId !== undefined) out[attr.requestId] = facts.requestId;
  if (facts.protocolVersion !== undefined) out[attr.protocolVersion] = facts.protocolVersion;
  if (facts.resourceUri !== undefined) out[attr.resourceUri] = facts.resourceUri;
  if (facts.promptName !== undefined) out[attr.promptName] = facts.promptName;
  if (facts.toolName !== undefined) {
    out[attr.toolName] = facts.toolName;
    out[attr.operationName] = executeTool;
  }
  return out;
}
