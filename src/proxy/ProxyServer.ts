import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { ListenerTls } from "../config/tlsFiles.ts";
import type { EdgeGuard } from "../edge/EdgeGuard.ts";
import type { PublicUrls } from "../edge/PublicUrls.ts";
import type { AnswerLimits } from "../exchange/ExchangeDeadline.ts";
import type { ResponseRewrite } from "../exchange/ResponseRewrite.ts";
import type { ExchangeObserver } from "../exchange/Settlement.ts";
import { type Discovery, discoveryRequest } from "../http/discovery.ts";
import { httpListener, replaceCertificate } from "../http/httpListener.ts";
import { unsafeTarget } from "../http/requestTarget.ts";
import { routeRemainder } from "../http/targetPath.ts";
import { jsonRpcShape } from "../jsonrpc/jsonRpc.ts";
import { type SessionTokens, withUpstreamSession } from "../sessions/SessionTokens.ts";
import { systemTimers, type Timers } from "../time/Timers.ts";
import { type Upstream, upstreamRequest } from "../upstreams/Upstream.ts";
import type { BodyBudget } from "./BodyBudget.ts";
import type { CallReader } from "./Call.ts";
import { answerClientError } from "./clientErrors.ts";
import { Forwarder, type Incoming } from "./Forwarder.ts";
import { IdleSweeper } from "./IdleSweeper.ts";
import { sendClientError, sendForbidden, sendSessionUnknown, sendUpstreamFailure } from "./proxyAnswers.ts";
import { readBodyOrAnswer, unacceptableBody } from "./RequestBody.ts";
import { type Admit, circuitAdmits, overloaded, type UpstreamBalancer } from "./UpstreamBalancer.ts";

export interface ProxyServerOptions {
  readonly route: string;
  /** Who may talk to the proxy (Host and Origin); checked before anything is forwarded. */
  readonly edge: EdgeGuard;
  /** Makes the URLs an upstream names in its answers public (OAuth discovery; SPEC §4.2). */
  readonly publicUrls: PublicUrls;
  /** Certificate and key: the listener speaks HTTPS (and says so in `X-Forwarded-Proto`). */
  readonly tls?: ListenerTls | undefined;
  readonly maxBodyBytes: number;
  readonly bodyBudget: BodyBudget;
  readonly requestTimeoutMs: number;
  /** How long a JSON-RPC call's answer may take after its head, and the whole call at most (SPEC §3.1). */
  readonly answerLimits: AnswerLimits;
  readonly balancer: UpstreamBalancer;
  /** Opens the session tokens clients send, and seals the sessions upstreams name (SPEC §6.1). */
  readonly sessions: SessionTokens;
  /** Reads what a request means (JSON-RPC calls, their tools): how it is judged, what must admit it. */
  readonly calls: CallReader;
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
}

const sessionHeader = "mcp-session-id";
/**
 * The data plane: serves `route`, forwards each request to an upstream that admits it, resends it only
 * when the upstream cannot have acted on it, and answers on the upstream's behalf when none admits it
 * (SPEC §2).
 */
export class ProxyServer {
  readonly server: Server;
  /** Read afresh by each request (and each attempt), so a reload applies to the next one. */
  #o: ProxyServerOptions;
  /** What the client gets of upstream responses instead (public URLs, then sealed sessions), per config. */
  #rewrite: ResponseRewrite;
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
    rewrite: this.#rewrite,
    draining: this.#isDraining,
  }));

  constructor(options: ProxyServerOptions) {
    this.#o = options;
    this.#rewrite = responseRewrite(options);
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
    this.#rewrite = responseRewrite(options);
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
    // a forbidden POST is answered once its body is read, for the id of a JSON-RPC error
    const refused = this.#o.edge.refusal(req.headers);
    if (refused !== undefined && req.method !== "POST") return sendForbidden(res, refused, { kind: "other" });
    const target = req.url ?? "";
    const unsafe = unsafeTarget(target);
    if (unsafe !== undefined) return sendClientError(res, 400, unsafe);
    // OAuth discovery documents live at the origin's root, outside any route (SPEC §4.2)
    const discovery = discoveryRequest(target, this.#o.route);
    const remainder = discovery?.target ?? routeRemainder(this.#o.route, target);
    if (remainder === undefined)
      return sendClientError(res, 404, `not found: this proxy serves ${this.#o.route}`);
    const framing = unacceptableBody(req.headers, this.#o.maxBodyBytes);
    if (framing !== undefined) return sendClientError(res, framing.status, framing.reason, true);
    const budget = this.#o.bodyBudget;
    const read = await readBodyOrAnswer(req, res, this.#o.maxBodyBytes, budget);
    if (read === undefined) return;
    const body = read.body;
    try {
      if (refused !== undefined) sendForbidden(res, refused, jsonRpcShape("POST", body));
      else await this.#route(req, res, remainder, body, discovery?.discovery);
    } finally {
      if (body !== undefined) budget.give(body.length);
    }
  }

  /** Picks the upstream (the session's, or the balancer's choice) and sends the request on. */
  #route(
    req: IncomingMessage,
    res: ServerResponse,
    target: string,
    body: Buffer | undefined,
    discovery: Discovery | undefined,
  ) {
    let request = upstreamRequest(req, target, body, discovery, this.#proto);
    const method = request.method;
    const header = req.headers[sessionHeader];
    let bound: Upstream | undefined;
    // a discovery document belongs to no session: it goes where a sessionless request would
    if (typeof header === "string" && discovery === undefined) {
      const session = this.#o.sessions.open(header);
      if (session === undefined) return sendSessionUnknown(res, jsonRpcShape(method, body));
      bound = session.upstream;
      request = { ...request, rawHeaders: withUpstreamSession(request.rawHeaders, session.sessionId) };
    }
    const call = this.#o.calls.read(request, req.headers);
    if (call.refuse !== undefined) return call.refuse(res);
    const callAdmit = call.admit;
    const admit: Admit =
      callAdmit === undefined ? this.#admit : (upstream) => callAdmit(upstream, this.#admit);
    const picked = this.#o.balancer.pick(bound, admit);
    if (picked.permit === undefined) {
      if (call.answerRefusal?.(res) !== true)
        sendUpstreamFailure(res, picked.refusal, jsonRpcShape(method, body));
      return undefined;
    }
    const { upstream, permit } = picked;
    const incoming: Incoming = {
      req,
      res,
      request,
      call,
      admit,
      startedAt: (this.#o.timers ?? systemTimers).now(),
      attempts: 0,
      bound,
      current: undefined,
    };
    // a client gone before its response finished aborts the attempt in progress (a no-op once over)
    res.once("close", () => {
      if (!res.writableFinished) incoming.current?.clientGone();
    });
    return this.#forwarder.forward(incoming, upstream, permit, bound === undefined);
  }
}

/** Public URLs first (SPEC §4.2), then the session the upstream names sealed into a token (§6.1). */
function responseRewrite({ publicUrls, sessions }: ProxyServerOptions): ResponseRewrite {
  return {
    headers: (headers, upstream, request) =>
      sessions.sealed(publicUrls.headers(headers, upstream, request), upstream),
    rewritesBody: (request, status, headers) => publicUrls.rewritesBody(request, status, headers),
    body: (body, upstream, request) => publicUrls.body(body, upstream, request),
  };
}
