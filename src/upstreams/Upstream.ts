import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { CircuitBreaker } from "../breaker/CircuitBreaker.ts";
import type { HealthCheck } from "../health/HealthCheck.ts";
import type { Discovery } from "../http/discovery.ts";
import type { ExchangeJudge } from "../judges/ExchangeJudge.ts";

/**
 * One upstream as the proxy sees it, whatever carries its requests: a name, its circuit, the
 * requests in flight, and a way to send one request. `HttpUpstream` sends over HTTP; a stdio MCP
 * server will implement the same interface.
 */
export interface Upstream {
  readonly name: string;
  /** The upstream's own circuit. */
  readonly circuit: CircuitBreaker;
  /** Requests sent whose response has not ended yet (streams included). */
  readonly inFlight: number;
  /** `max_in_flight`: at this many requests in flight the upstream is skipped (SPEC §3.4); 0: no limit. */
  readonly maxInFlight: number;
  /**
   * Sends `request`; everything that comes back, or goes wrong, is told to `sink`, which first gets
   * the controls to pause, resume or abort the exchange (see {@link ResponseSink}).
   */
  dispatch(request: UpstreamRequest, sink: ResponseSink): void;
  /**
   * Whether it serves a request without a session that is not `initialize`. An HTTP server does; a
   * stdio server of the earlier era runs a process per session (SPEC §5), so a sessionless call is
   * balanced onto the upstreams that do, as long as there are some.
   */
  readonly servesSessionless: boolean;
  /**
   * The health check its config asks for (SPEC §3.3), sent over its own transport, its answer judged by
   * a judge of `judge()`'s (an MCP `initialize`, judged as a client's call); undefined when it has none.
   */
  healthCheck(judge: () => ExchangeJudge): HealthCheck | undefined;
  /** Live processes behind it, for one that runs them (a stdio upstream, SPEC §5); else undefined. */
  readonly processes?: number;
  /** Its processes' live, busy and limit, for one that runs them (`/health`); else undefined. */
  readonly processSlots?: ProcessSlots;
  /** Where its requests go, as traces name it (SPEC §9); undefined for one that does not say (test fakes). */
  readonly peer?: UpstreamPeer;
  /** Drops the connections (or processes) of this upstream; requests still in flight fail. */
  close(): Promise<void>;
}

/** Where an upstream's requests go: a host and port over TCP, or a process's pipes (stdio). */
export type UpstreamPeer =
  | { readonly transport: "tcp"; readonly address: string; readonly port: number }
  | { readonly transport: "pipe" };

/** The processes of an upstream that runs them (a stdio upstream), as `/health` shows them. */
export interface ProcessSlots {
  /** Processes starting or running, from spawn to exit. */
  readonly live: number;
  /** Of those, the ones starting, or with a call in flight or an open stream. */
  readonly busy: number;
  /** `max_processes`. */
  readonly limit: number;
}

/** A client's request on its way to an upstream. */
export interface UpstreamRequest {
  readonly method: string;
  /** The request target with the route cut off: path (possibly empty) and query. */
  readonly target: string;
  /** Set for an OAuth discovery request, which is sent to the upstream's origin, not its base path. */
  readonly discovery: Discovery | undefined;
  /** The client's headers as received, `[name, value, …]`. */
  readonly rawHeaders: readonly string[];
  /** The client's `Connection` header, which may name more hop-by-hop headers. */
  readonly connection: string | string[] | undefined;
  /** The client's `Host`, sent on as `X-Forwarded-Host`. */
  readonly host: string | undefined;
  /** The client's address, appended to `X-Forwarded-For`. */
  readonly clientAddress: string | undefined;
  /** "http" or "https", as the client reached the proxy. */
  readonly proto: string;
  /** The whole request body, held in memory; undefined when there is none. */
  readonly body: Buffer | undefined;
}

/** The request to send on for a client's `req`, whose `target` (route cut off) and body are read. */
export function upstreamRequest(
  req: IncomingMessage,
  target: string,
  body: Buffer | undefined,
  discovery: Discovery | undefined,
  proto: "http" | "https",
): UpstreamRequest {
  return {
    method: req.method ?? "GET",
    target,
    discovery,
    rawHeaders: req.rawHeaders,
    connection: req.headers.connection,
    host: req.headers.host,
    clientAddress: req.socket.remoteAddress,
    proto,
    body,
  };
}

/** A failure of `error` with the facts given; every other fact false. */
export function transportFailure(
  error: Error,
  facts: Partial<Omit<TransportFailure, "error">> = {},
): TransportFailure {
  return {
    error,
    nothingSent: false,
    connectionLost: false,
    staleConnection: false,
    badRequest: false,
    overloaded: false,
    proxyResources: false,
    ...facts,
  };
}

/** What the transport can be asked to do with an exchange in progress. */
export interface TransportControls {
  pause(): void;
  resume(): void;
  /** Ends the exchange; the sink hears nothing more of it. */
  abort(reason: Error): void;
}

/**
 * Where an upstream's answer goes. Calls come in this order: `start` once, then either `error`, or
 * `head` followed by any number of `data` and one `end` or `error`. Interim 1xx responses are not the
 * answer and never reach a sink.
 */
export interface ResponseSink {
  start(controls: TransportControls): void;
  head(status: number, headers: IncomingHttpHeaders, statusMessage: string): void;
  data(chunk: Buffer): void;
  end(): void;
  error(failure: TransportFailure): void;
}

/**
 * What went wrong, as facts the proxy's retry rule (SPEC §2) can act on, whatever the transport: it
 * never sends a request twice that the upstream may have acted on.
 */
export interface TransportFailure {
  readonly error: Error;
  /** No byte of the request reached the upstream (connection refused, no route): safe to send elsewhere. */
  readonly nothingSent: boolean;
  /** The connection broke before any byte of a response (interim ones included) came back. */
  readonly connectionLost: boolean;
  /**
   * A kept-alive connection that the upstream had already closed, found out before the request had
   * left whole: the stale keep-alive race, not the upstream's fault, and safe to resend.
   */
  readonly staleConnection: boolean;
  /** The transport cannot send the request as the client made it: the client's fault. */
  readonly badRequest: boolean;
  /**
   * The upstream has no room for it (a stdio upstream at `max_processes`): nothing was sent, and it is
   * neutral — another upstream may take it, or the answer is 503 `overloaded` (SPEC §5).
   */
  readonly overloaded: boolean;
  /**
   * The proxy itself ran out of a resource of its own — file descriptors, socket buffers, memory
   * (EMFILE, ENFILE, ENOBUFS, ENOMEM) — before anything was sent: its own failure, which says nothing
   * of the upstream. Neutral for the circuit, logged, and answered 503 `proxy_resources` (retry later).
   */
  readonly proxyResources: boolean;
}
