import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { ListenerTls } from "../config/tlsFiles.ts";
import type { EdgeGuard, EdgeRefusal } from "../edge/EdgeGuard.ts";
import type { AnswerLimits } from "../exchange/ExchangeDeadline.ts";
import type { ExchangeObserver } from "../exchange/Settlement.ts";
import { type Discovery, discoveryDocument } from "../http/discovery.ts";
import { httpListener, replaceCertificate } from "../http/httpListener.ts";
import { unsafeTarget } from "../http/requestTarget.ts";
import { type JsonRpcBody, jsonRpcShape } from "../jsonrpc/jsonRpc.ts";
import { readJsonRpcBody } from "../jsonrpc/jsonRpcCall.ts";
import { withUpstreamSession } from "../sessions/SessionTokens.ts";
import { systemTimers, type Timers } from "../time/Timers.ts";
import { type Upstream, upstreamRequest } from "../upstreams/Upstream.ts";
import type { BodyBudget } from "./BodyBudget.ts";
import { answerClientError } from "./clientErrors.ts";
import type { PoolSend } from "./Endpoint.ts";
import { Forwarder, type Incoming } from "./Forwarder.ts";
import { IdleSweeper } from "./IdleSweeper.ts";
import { sendClientError, sendForbidden, sendSessionUnknown, sendUpstreamFailure } from "./proxyAnswers.ts";
import { readBodyOrAnswer, unacceptableBody } from "./RequestBody.ts";
import type { RequestTracing } from "./RequestTracing.ts";
import type { RouteMatch, RouteTable } from "./RouteTable.ts";
import type { ServerPool } from "./ServerPool.ts";
import { type Admit, circuitAdmits, overloaded } from "./UpstreamBalancer.ts";

export interface ProxyServerOptions {
  /** The servers behind the proxy by route (SPEC §7.1); each has its balancer, sessions and calls. */
  readonly routes: RouteTable;
  /** Who may talk to the proxy (Host and Origin); checked before anything is forwarded. */
  readonly edge: EdgeGuard;
  /** Certificate and key: the listener speaks HTTPS (and says so in `X-Forwarded-Proto`). */
  readonly tls?: ListenerTls | undefined;
  readonly maxBodyBytes: number;
  readonly bodyBudget: BodyBudget;
  readonly requestTimeoutMs: number;
  /** How long a JSON-RPC call's answer may take after its head, and the whole call at most (SPEC §3.1). */
  readonly answerLimits: AnswerLimits;
  /** Told of every exchange with an upstream: at its head, and at its outcome. */
  readonly observer: ExchangeObserver;
  /** Told of every upstream skipped at its `max_in_flight` (for `outcome="overloaded"`). */
  readonly onOverloaded?: (upstream: Upstream) => void;
  /**
   * Told when the proxy itself ran out of a resource (EMFILE, ENFILE, ENOBUFS, ENOMEM) sending a request
   * to `upstream`: its own failure, neutral for the circuit, for the log.
   */
  readonly onProxyResources?: (upstream: Upstream, code: string) => void;
  /** Called with errors the proxy survived but should not have met (for logs). */
  readonly onInternalError?: (error: unknown) => void;
  /** Time a client has to send its request headers (slowloris); default 10 s. */
  readonly clientHeadersTimeoutMs?: number;
  /** Time an idle keep-alive connection is kept; default 5 s. */
  readonly clientKeepAliveTimeoutMs?: number;
  /** The clock and timers of deadlines and draining; default the system's (tests step their own). */
  readonly timers?: Timers;
  /** Traces of the requests (SPEC §9); undefined while telemetry is off, which then costs nothing. */
  readonly tracing?: RequestTracing | undefined;
}

const sessionHeader = "mcp-session-id";
/**
 * The data plane: serves each server's route (SPEC §7.1), forwards each request to one of that server's
 * upstreams that admits it, resends it only when the upstream cannot have acted on it, and answers on
 * the upstream's behalf when none admits it (SPEC §2).
 */
export class ProxyServer {
  readonly server: Server;
  /** Read afresh by each request (and each attempt), so a reload applies to the next one. */
  #o: ProxyServerOptions;
  #draining = false;
  /** Whether an upstream takes a request: room under its max_in_flight (counted when not), then its circuit. */
  readonly #admit: Admit;
  /** How clients reach this listener, for `X-Forwarded-Proto`. */
  readonly #proto: "http" | "https";
  readonly #isDraining = () => this.#draining;
  /** Closes connections as they go idle once draining (on the listener's own timers). */
  readonly #sweeper: IdleSweeper;
  /** Sends each routed request on, again where SPEC §2 allows it. */
  readonly #forwarder = new Forwarder(() => ({
    options: this.#o,
    draining: this.#isDraining,
  }));

  constructor(options: ProxyServerOptions) {
    this.#o = options;
    const serverOptions = {
      // slow clients may not hold a socket forever (slowloris): headers in 10 s, the request in 5 min
      headersTimeout: options.clientHeadersTimeoutMs ?? 10_000,
      requestTimeout: 300_000,
      keepAliveTimeout: options.clientKeepAliveTimeoutMs ?? 5_000,
      // check those deadlines every second, not every 30 s (node's default)
      connectionsCheckingInterval: 1_000,
    };
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((error: unknown) => {
        options.onInternalError?.(error);
        if (!res.headersSent) sendClientError(res, 500, "internal proxy error");
        else res.destroy();
      });
    };
    this.#admit = (upstream) => {
      const acquisition = circuitAdmits(upstream);
      if (acquisition === overloaded) options.onOverloaded?.(upstream);
      return acquisition;
    };
    const tls = options.tls;
    this.#proto = tls === undefined ? "http" : "https";
    this.server = httpListener(tls, serverOptions, handle);
    this.server.on("clientError", answerClientError);
    this.#sweeper = new IdleSweeper(this.server, options.timers ?? systemTimers);
  }

  /**
   * Applies a reloaded configuration (SPEC §6.3) from the next request on; requests under way finish
   * with the upstreams they have. The listener's own options (`tls`'s presence, client timeouts, the
   * callbacks) stay as they were made; a new certificate and key take effect for new connections.
   */
  reconfigure(options: ProxyServerOptions): void {
    this.#o = options;
    const tls = options.tls;
    if (tls !== undefined && this.#proto === "https") replaceCertificate(this.server, tls);
  }

  /**
   * Shutting down: every response from now on says `Connection: close`, idle connections are closed
   * now, and each busy one as soon as its response has ended, so that nothing waits for a keep-alive
   * timer. Call before `server.close()`.
   */
  drain(): void {
    this.#draining = true;
    this.#sweeper.start();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#draining) res.shouldKeepAlive = false;
    const receivedAt = this.#o.tracing?.now() ?? 0;
    // a forbidden POST is answered once its body is read, for the id of a JSON-RPC error
    const refused = this.#o.edge.refusal(req.headers);
    if (refused !== undefined && req.method !== "POST") return sendForbidden(res, refused, { kind: "other" });
    const target = req.url ?? "";
    const unsafe = unsafeTarget(target);
    if (unsafe !== undefined) return sendClientError(res, 400, unsafe);
    const routes = this.#o.routes;
    let routed = routeOf(routes, target);
    if (routed === undefined) return sendClientError(res, 404, routes.notFound);
    const framing = unacceptableBody(req.headers, this.#o.maxBodyBytes);
    if (framing !== undefined) return sendClientError(res, framing.status, framing.reason, true);
    const budget = this.#o.bodyBudget;
    const read = await readBodyOrAnswer(req, res, this.#o.maxBodyBytes, budget);
    if (read === undefined) return;
    const body = read.body;
    try {
      // a reload while the body was read: the request goes where the table now in force sends it
      const now = this.#o.routes;
      if (now !== routes) routed = routeOf(now, target);
      const tracing = this.#o.tracing;
      if (tracing === undefined) await this.#dispatch(req, res, body, refused, routed, now);
      else {
        const found = routed;
        const dispatch = (messages: JsonRpcBody | undefined) =>
          this.#dispatch(req, res, body, refused, found, now, messages);
        await tracing.serve(req, res, body, receivedAt, dispatch);
      }
    } finally {
      if (body !== undefined) budget.give(body.length);
    }
  }

  /** Sends a read request on to where it was routed, or answers why it goes nowhere. */
  async #dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | undefined,
    refused: EdgeRefusal | undefined,
    routed: RouteMatch | undefined,
    routes: RouteTable,
    messages?: JsonRpcBody,
  ): Promise<void> {
    if (refused !== undefined) sendForbidden(res, refused, jsonRpcShape("POST", body));
    else if (routed === undefined) sendClientError(res, 404, routes.notFound);
    else if (routed.server.kind === "endpoint")
      await routed.server.serve(req, res, routed.remainder, body, this.#send, this.#o.tracing?.current());
    else await this.#route(routed.server, req, res, routed.remainder, body, routed.discovery, messages);
  }

  /** Finds the session's upstream, if the request names one, and sends the request on to the server's pool. */
  #route(
    pool: ServerPool,
    req: IncomingMessage,
    res: ServerResponse,
    target: string,
    body: Buffer | undefined,
    discovery: Discovery | undefined,
    messages: JsonRpcBody | undefined,
  ) {
    let request = upstreamRequest(req, target, body, discovery, this.#proto);
    // parsed already for the request's span (telemetry on): read from that parse, not parsed again
    const preRead =
      messages === undefined || body === undefined ? undefined : readJsonRpcBody(body, messages);
    const method = request.method;
    const header = req.headers[sessionHeader];
    let bound: Upstream | undefined;
    // a discovery document belongs to no session: it goes where a sessionless request would
    if (typeof header === "string" && discovery === undefined) {
      const session = pool.openSession(header);
      if (session === undefined) return sendSessionUnknown(res, jsonRpcShape(method, body));
      bound = session.upstream;
      request = { ...request, rawHeaders: withUpstreamSession(request.rawHeaders, session.sessionId) };
    }
    return this.#send(
      pool,
      req,
      res,
      request,
      pool.calls.read(request, req.headers, preRead),
      bound,
      pool.rewrite,
    );
  }

  /**
   * Sends a read request on to `pool`: the call's own refusal first, then an upstream that admits it
   * (`bound`, a session's, or the balancer's choice), and the forwarder from there. Routes and
   * endpoints (the aggregate) both come through here.
   */
  readonly #send: PoolSend = (pool, req, res, request, call, bound, rewrite) => {
    if (call.refuse !== undefined) {
      call.refuse(res);
      return Promise.resolve();
    }
    const method = request.method;
    const body = request.body;
    const callAdmit = call.admit;
    const admit: Admit =
      callAdmit === undefined ? this.#admit : (upstream) => callAdmit(upstream, this.#admit);
    const trace = this.#o.tracing?.current();
    trace?.routed(pool.name);
    const picked = pool.balancer.pick(bound, admit);
    if (picked.permit === undefined) {
      const asToolResult = call.answerRefusal?.(res) === true;
      trace?.answeredForUpstream(picked.refusal, asToolResult);
      if (!asToolResult) sendUpstreamFailure(res, picked.refusal, jsonRpcShape(method, body));
      return Promise.resolve();
    }
    const { upstream, permit } = picked;
    const incoming: Incoming = {
      pool,
      req,
      res,
      request,
      call,
      rewrite,
      admit,
      startedAt: (this.#o.timers ?? systemTimers).now(),
      attempts: 0,
      bound,
      current: undefined,
      trace,
    };
    // a client gone before its response finished aborts the attempt in progress (a no-op once over)
    res.once("close", () => {
      if (!res.writableFinished) incoming.current?.clientGone();
    });
    return this.#forwarder.forward(incoming, upstream, permit, bound === undefined);
  };
}

/** Where `target` goes: OAuth discovery documents live at the origin's root, outside any route (SPEC §4.2). */
function routeOf(routes: RouteTable, target: string): RouteMatch | undefined {
  const document = discoveryDocument(target);
  return document === undefined ? routes.match(target) : routes.discovery(document);
}
