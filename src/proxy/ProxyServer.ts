import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Permit } from "../index.ts";
import { upstreamRequestHeaders } from "./hopByHop.ts";
import { jsonRpcShape } from "./jsonRpc.ts";
import { sendClientError, sendUpstreamFailure } from "./proxyAnswers.ts";
import { BodyTooLargeError, readBody } from "./readBody.ts";
import type { SessionTable } from "./SessionTable.ts";
import { routeRemainder, targetPath } from "./targetPath.ts";
import type { Upstream } from "./Upstream.ts";
import type { UpstreamBalancer } from "./UpstreamBalancer.ts";
import { type ExchangeReport, type ExchangeResult, UpstreamExchange } from "./UpstreamExchange.ts";

export interface ProxyServerOptions {
  readonly route: string;
  readonly maxBodyBytes: number;
  readonly requestTimeoutMs: number;
  readonly balancer: UpstreamBalancer;
  readonly sessions: SessionTable<Upstream>;
  /** Called once per settled exchange with an upstream (for metrics). */
  readonly onExchange?: (report: ExchangeReport) => void;
  /** Called with errors the proxy survived but should not have met (for logs). */
  readonly onInternalError?: (error: unknown) => void;
  /** Time a client has to send its request headers (slowloris); default 10 s. */
  readonly clientHeadersTimeoutMs?: number;
  /** Time an idle keep-alive connection is kept; default 5 s. */
  readonly clientKeepAliveTimeoutMs?: number;
}

/**
 * A dot segment ("." or "..", raw or percent-encoded, between slashes that may be encoded too) would let
 * a request climb out of the route or an upstream's base path; nginx normalises them away before
 * matching, the proxy refuses them. Only the path is checked, not the query.
 */
const dotSegment = /(?:^|\/|%2f|%5c)(?:\.|%2e){1,2}(?:\/|%2f|%5c|$)/i;

/** Status for an HTTP parse error of a client's request (as node:http's own default handler maps them). */
function clientErrorStatus(code: string | undefined): string {
  if (code === "HPE_HEADER_OVERFLOW") return "431 Request Header Fields Too Large";
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return "408 Request Timeout";
  return "400 Bad Request";
}

const sessionHeader = "mcp-session-id";

/** A client request, read and routed, on its way to an upstream. */
interface Incoming {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The request target with the route cut off. */
  readonly remainder: string;
  readonly body: Buffer | undefined;
  /** The request's `Mcp-Session-Id`, and the upstream the session is bound to (as looked up once). */
  readonly sessionId: string | undefined;
  readonly bound: Upstream | undefined;
}

/**
 * The data plane: serves `route`, forwards each request to an upstream whose circuit admits it, and
 * answers on the upstream's behalf when none does (SPEC §2).
 */
export class ProxyServer {
  readonly server: Server;
  readonly #o: ProxyServerOptions;
  readonly #report: (report: ExchangeReport) => void;

  constructor(options: ProxyServerOptions) {
    this.#o = options;
    this.#report = options.onExchange ?? (() => {});
    this.server = createServer(
      {
        // slow clients may not hold a socket forever (slowloris): headers in 10 s, the request in 5 min
        headersTimeout: options.clientHeadersTimeoutMs ?? 10_000,
        requestTimeout: 300_000,
        keepAliveTimeout: options.clientKeepAliveTimeoutMs ?? 5_000,
        // check those deadlines every second, not every 30 s (node's default)
        connectionsCheckingInterval: 1_000,
      },
      (req, res) => {
        this.#handle(req, res).catch((error: unknown) => {
          options.onInternalError?.(error);
          if (!res.headersSent) sendClientError(res, 500, "internal proxy error");
          else res.destroy();
        });
      },
    );
    // malformed requests get a 400 and a closed connection instead of an exception
    this.server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
      if (socket.writable && error.code !== "ECONNRESET") {
        socket.end(
          `HTTP/1.1 ${clientErrorStatus(error.code)}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
        );
      } else socket.destroy();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? "";
    // only origin-form targets: an absolute URL would make this an open proxy
    if (target[0] !== "/")
      return sendClientError(res, 400, "request target must be a path (this is not an open proxy)");
    const queryAt = target.indexOf("?");
    if (dotSegment.test(queryAt < 0 ? target : target.slice(0, queryAt))) {
      return sendClientError(res, 400, "request path must not contain . or .. segments");
    }
    const remainder = routeRemainder(this.#o.route, target);
    if (remainder === undefined)
      return sendClientError(res, 404, `not found: this proxy serves ${this.#o.route}`);
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > this.#o.maxBodyBytes) {
      return sendClientError(res, 413, `request body larger than ${this.#o.maxBodyBytes} bytes`, true);
    }
    let body: Buffer | undefined;
    try {
      body = await readBody(req, this.#o.maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) sendClientError(res, 413, error.message, true);
      else res.destroy(); // the client went away while sending
      return;
    }

    const header = req.headers[sessionHeader];
    const sessionId = typeof header === "string" ? header : undefined;
    const bound = sessionId === undefined ? undefined : this.#o.sessions.lookup(sessionId);
    const method = req.method ?? "GET";
    const incoming: Incoming = { req, res, remainder, body, sessionId, bound };
    const forward = (upstream: Upstream, permit: Permit) => this.#forward(incoming, upstream, permit);

    let upstream: Upstream;
    let result: ExchangeResult;
    if (bound !== undefined) {
      // the session lives only on its upstream: no other upstream may take it
      upstream = bound;
      const acquisition = bound.breaker.tryAcquire();
      if (!acquisition.admitted) {
        const answer = {
          status: 404,
          reason: "circuit_open",
          upstream: bound.name,
          retryAfterMs: acquisition.retryAfterMs,
        } as const;
        return sendUpstreamFailure(res, answer, jsonRpcShape(method, body));
      }
      result = await forward(bound, acquisition);
    } else {
      const first = this.#o.balancer.choose();
      if (first === undefined) return sendClientError(res, 503, "no upstreams");
      if (first.permit === undefined) {
        const answer = {
          status: 503,
          reason: "circuit_open",
          upstream: first.upstream.name,
          retryAfterMs: first.retryAfterMs,
        } as const;
        return sendUpstreamFailure(res, answer, jsonRpcShape(method, body));
      }
      upstream = first.upstream;
      result = await forward(first.upstream, first.permit);
      if (result === "connect_failed") {
        // nothing was sent: another admitted upstream may take the request, once
        const second = this.#o.balancer.choose(first.upstream);
        if (second?.permit !== undefined) {
          upstream = second.upstream;
          result = await forward(second.upstream, second.permit);
        }
      }
    }

    if (result === "responded") {
      if (method === "DELETE" && sessionId !== undefined) this.#o.sessions.end(sessionId);
    } else if (result === "connect_failed" || result === "failed" || result === "reset") {
      sendUpstreamFailure(
        res,
        { status: 502, reason: "connect_failed", upstream: upstream.name },
        jsonRpcShape(method, body),
      );
    } else if (result === "bad_request") {
      sendClientError(res, 400, "the request cannot be forwarded as it is");
    } else if (result === "timeout") {
      sendUpstreamFailure(
        res,
        { status: 504, reason: "timeout", upstream: upstream.name },
        jsonRpcShape(method, body),
      );
    }
  }

  /** Sends the request to `upstream`; a reset before any response byte is tried once more. */
  async #forward(incoming: Incoming, upstream: Upstream, permit: Permit): Promise<ExchangeResult> {
    const result = await this.#exchange(incoming, upstream, permit, true);
    return result === "reset" ? this.#exchange(incoming, upstream, permit, false) : result;
  }

  #exchange(
    incoming: Incoming,
    upstream: Upstream,
    permit: Permit,
    mayRetryReset: boolean,
  ): Promise<ExchangeResult> {
    const { req, res, remainder, body } = incoming;
    return new Promise((resolve) => {
      if (res.destroyed) {
        permit.neutral();
        resolve("client_gone");
        return;
      }
      const exchange = new UpstreamExchange({
        res,
        upstream,
        permit,
        timeoutMs: this.#o.requestTimeoutMs,
        mayRetryReset,
        report: (report) => {
          this.#bindSession(incoming, report);
          this.#report(report);
        },
        resolve,
      });
      // a client gone before its response finished aborts the exchange (a no-op once it is over)
      res.once("close", () => {
        if (!res.writableFinished) exchange.clientGone();
      });
      upstream.pool.dispatch(
        {
          path: targetPath(upstream.basePath, remainder),
          method: req.method ?? "GET",
          headers: upstreamRequestHeaders(req.rawHeaders, req.headers.connection, {
            address: req.socket.remoteAddress,
            host: req.headers.host,
            proto: "http",
          }),
          body: body ?? null,
        },
        exchange,
      );
    });
  }

  /**
   * A response that names a session binds it to the upstream that answered, unless the request's own
   * lookup already found it bound there (that lookup also marked it used).
   */
  #bindSession(incoming: Incoming, report: ExchangeReport): void {
    const session = report.headers?.[sessionHeader];
    if (typeof session !== "string") return;
    if (session === incoming.sessionId && incoming.bound === report.upstream) return;
    this.#o.sessions.bind(session, report.upstream);
  }
}
