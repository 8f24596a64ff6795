import type { ExchangeOutcome } from "../judges/ExchangeJudge.ts";
import type { FailureCause } from "../judges/failureCause.ts";
import type { ResponseSink, TransportFailure, UpstreamRequest } from "../upstreams/Upstream.ts";

/**
 * One attempt of a traced request at one upstream (SPEC §9): its client span, from dispatch to its
 * outcome. Made by the request's trace (`RequestTrace.attempt`, src/proxy/RequestTracing.ts).
 */
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
