import type { IncomingMessage, ServerResponse } from "node:http";
import type { ExchangeOutcome } from "../judges/ExchangeJudge.ts";
import type { FailureCause } from "../judges/failureCause.ts";
import type { ResponseSink, TransportFailure, Upstream, UpstreamRequest } from "../upstreams/Upstream.ts";
import type { UpstreamFailureAnswer } from "./proxyAnswers.ts";

/**
 * Traces of the requests the proxy handles (SPEC §9), there only while telemetry is on: the proxy then
 * calls these at a few points of a request's way, and nowhere else. Off, the proxy holds none and pays
 * one `undefined` check per request. The proxy knows nothing of spans: what a trace records, and how,
 * is the telemetry's (src/telemetry).
 */
export interface RequestTracing {
  /**
   * Runs `handle`, the handling of a request whose body has been read, as the request's server span
   * when it carries a JSON-RPC message (else just runs it): the span is current while `handle` runs,
   * so that what it starts and logs belongs to it, and ends when `res` closes.
   */
  serve(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | undefined,
    handle: () => Promise<void>,
  ): Promise<void>;
  /** The trace of the request being handled now (the async context's), if it is traced. */
  current(): RequestTrace | undefined;
}

/** One traced request on its way: told where it went and how the proxy answered it. */
export interface RequestTrace {
  /** The request goes to the server `server` (SPEC §7: a route's, or the one the aggregate chose). */
  routed(server: string): void;
  /**
   * The proxy answered for the upstream: no upstream admitted the request (`circuit_open`,
   * `overloaded`: no attempt was made), or none answered it (a timeout, a connection that failed).
   */
  answeredForUpstream(answer: UpstreamFailureAnswer): void;
  /** One attempt of the request at `upstream` (a resend and a failover are attempts too). */
  attempt(upstream: Upstream, request: UpstreamRequest): AttemptTrace;
}

/** One attempt at one upstream: its client span, from dispatch to its outcome. */
export interface AttemptTrace {
  /** What is sent: the attempt's request with the span's context in its headers and its body. */
  readonly request: UpstreamRequest;
  /** `sink` running in the span's context (an upstream's callbacks come in the context of its socket). */
  bind(sink: ResponseSink): ResponseSink;
  /**
   * The attempt's outcome is known (the first call counts; later ones are ignored): `cause` when it
   * charges a failure; `answerError`, what the answer said went wrong (a JSON-RPC error code as text,
   * `tool_error` for an `isError` result), whatever the outcome.
   */
  settled(outcome: ExchangeOutcome, cause: FailureCause | undefined, answerError: string | undefined): void;
  /** No response came back (a resend or a failover may follow, each its own attempt). */
  failed(failure: TransportFailure): void;
}
