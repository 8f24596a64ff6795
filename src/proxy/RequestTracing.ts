import type { IncomingMessage, ServerResponse } from "node:http";
import type { AttemptTrace } from "../exchange/AttemptTrace.ts";
import type { JsonRpcBody } from "../jsonrpc/jsonRpc.ts";
import type { Upstream, UpstreamRequest } from "../upstreams/Upstream.ts";
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
   * so that what it starts and logs belongs to it, and ends when `res` closes. `receivedAt`: the
   * `now()` reading taken when the request arrived (reading its body is part of its time). `handle`
   * is given the body's JSON-RPC messages when they were parsed for the span, not to parse them again.
   */
  serve(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | undefined,
    receivedAt: number,
    handle: (messages: JsonRpcBody | undefined) => Promise<void>,
  ): Promise<void>;
  /** The clock of `receivedAt` (monotonic milliseconds). */
  now(): number;
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
   * `asToolResult`: what the client got was a tool result the model can read, not a JSON-RPC error.
   */
  answeredForUpstream(answer: UpstreamFailureAnswer, asToolResult?: boolean): void;
  /**
   * An endpoint answered for `server` itself (the aggregate, SPEC §7.2: its circuits turned the call
   * away, `circuit_open`, or no upstream session could be had, `session_failed`): no attempt was made.
   * `asToolResult`: the client got a tool result the model can read; else the JSON-RPC error -32603.
   */
  answeredForServer(
    server: string,
    reason: string,
    retryAfterMs: number | undefined,
    asToolResult: boolean,
  ): void;
  /** One attempt of the request at `upstream` (a resend and a failover are attempts too). */
  attempt(upstream: Upstream, request: UpstreamRequest): AttemptTrace;
}
