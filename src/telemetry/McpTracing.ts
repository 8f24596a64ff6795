import type { IncomingMessage, ServerResponse } from "node:http";
import { type Context, createContextKey, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { type JsonRpcBody, readJsonRpcMessages } from "../jsonrpc/jsonRpc.ts";
import type { RequestTrace, RequestTracing } from "../proxy/RequestTracing.ts";
import { headerCarrier } from "./headerContext.ts";
import { factsOf } from "./mcpRequestFacts.ts";
import { ServerSpan } from "./ServerSpan.ts";
import type { TracingParts } from "./TracingParts.ts";
import { carrierGetter } from "./traceCarrier.ts";

/** Where the request's own trace is kept in its context, beside its span. */
const requestTraceKey = createContextKey("breakwater request trace");

/**
 * The proxy's traces (SPEC §9): a server span per JSON-RPC message POSTed to it, current while it is
 * handled. Its parent is the trace context in the message's `params._meta` (MCP's convention), else
 * the `traceparent` header; when both are there, the header's context becomes a link.
 */
export class McpTracing implements RequestTracing {
  readonly #parts: TracingParts;

  constructor(parts: TracingParts) {
    this.#parts = parts;
  }

  serve(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | undefined,
    receivedAt: number,
    handle: (messages: JsonRpcBody | undefined) => Promise<void>,
  ): Promise<void> {
    const messages =
      req.method === "POST" && body !== undefined && body.length > 0 ? readJsonRpcMessages(body) : undefined;
    const facts = messages === undefined ? undefined : factsOf(messages, req.rawHeaders);
    if (facts === undefined || body === undefined) return handle(messages);
    const propagator = this.#parts.propagator;
    const header = headerCarrier(req.headers);
    const fromHeader =
      header === undefined
        ? undefined
        : validContext(propagator.extract(ROOT_CONTEXT, header, carrierGetter));
    const meta =
      facts.traceparent === undefined
        ? undefined
        : validContext(propagator.extract(ROOT_CONTEXT, facts, carrierGetter));
    const parent = meta ?? fromHeader ?? ROOT_CONTEXT;
    const link = meta !== undefined ? fromHeader : undefined;
    const span = new ServerSpan(this.#parts, req, body, facts, parent, link, receivedAt);
    res.once("close", () => span.end(res.statusCode, res.writableFinished));
    return this.#parts.contexts.with(
      span.context.setValue(requestTraceKey, span),
      handle,
      undefined,
      messages,
    );
  }

  now(): number {
    return this.#parts.now();
  }

  current(): RequestTrace | undefined {
    return this.#parts.contexts.active().getValue(requestTraceKey) as RequestTrace | undefined;
  }
}

/** `context` when it holds a valid remote span context (a malformed `traceparent` gives none). */
function validContext(context: Context): Context | undefined {
  return trace.getSpanContext(context) === undefined ? undefined : context;
}
