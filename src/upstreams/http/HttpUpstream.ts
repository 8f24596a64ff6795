import type { IncomingHttpHeaders } from "node:http";
import { getCACertificates } from "node:tls";
import { type buildConnector, type Dispatcher, Pool } from "undici";
import type { CircuitBreaker } from "../../breaker/CircuitBreaker.ts";
import type { UpstreamConfig } from "../../config/Config.ts";
import type { HealthCheck } from "../../health/HealthCheck.ts";
import { discoveryPath } from "../../http/discovery.ts";
import { upstreamRequestHeaders } from "../../http/hopByHop.ts";
import { targetPath } from "../../http/targetPath.ts";
import type { ExchangeJudge } from "../../judges/ExchangeJudge.ts";
import type {
  ResponseSink,
  TransportControls,
  TransportFailure,
  Upstream,
  UpstreamPeer,
  UpstreamRequest,
} from "../Upstream.ts";
import { ConnectionPools } from "./ConnectionPools.ts";
import { type ReuseWatcher, watchReuse } from "./connectionReuse.ts";
import { httpCheck, mcpCheck } from "./healthChecks.ts";

/** Codes that mean the connection could not be made: nothing of the request left. */
const connectFailures = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
]);
/** Codes of a connection that broke: reset by the peer, or closed under a request. */
const connectionBreaks = new Set(["ECONNRESET", "UND_ERR_SOCKET", "EPIPE"]);
/** Codes of the proxy's own host out of a resource: no fault of the upstream (see TransportFailure). */
const proxyResourceFailures = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

export interface HttpUpstreamOptions {
  /** How connections are made (undici's connector); tests pass one that fails as a host would. */
  readonly connector?: buildConnector.connector;
  /**
   * Pools shared with the other upstreams of the same origin and settings (the proxy's, across
   * reloads); default: a pool of its own.
   */
  readonly pools?: ConnectionPools;
}

/**
 * An upstream reached over HTTP(S): an undici Pool to its origin, its URL's path as the base onto
 * which request paths are joined, and the hop-by-hop header rules of RFC 9110 §7.6.1.
 */
export class HttpUpstream implements Upstream {
  readonly name: string;
  readonly circuit: CircuitBreaker;
  readonly maxInFlight: number;
  readonly servesSessionless = true;
  readonly peer: UpstreamPeer;
  readonly #check: UpstreamConfig["healthCheck"];
  /** The upstream's URL (its base path included): where an `"mcp"` check is sent. */
  readonly #url: URL;
  readonly #basePath: string;
  readonly #pool: Pool;
  readonly #pools: ConnectionPools;
  /** Its pool's key in `#pools`: the origin and every setting of the connections. */
  readonly #poolKey: string;
  /** Let go of its pool once: a second close must not take another upstream's hold. */
  #closed: Promise<void> | undefined;
  readonly #finished = () => {
    this.#inFlight--;
  };
  #inFlight = 0;

  /** @throws {TypeError} for an upstream without a url (a stdio one). */
  constructor(
    config: UpstreamConfig,
    circuit: CircuitBreaker,
    requestTimeoutMs: number,
    options: HttpUpstreamOptions = {},
  ) {
    const url = config.url;
    if (url === undefined) throw new TypeError(`upstream ${config.name} has no url`);
    this.name = config.name;
    this.circuit = circuit;
    this.maxInFlight = config.maxInFlight;
    this.#check = config.healthCheck;
    this.#url = url;
    this.#basePath = url.pathname;
    // an IPv6 literal without its brackets, as `server.address` names it
    const address = url.hostname.replace(/^\[(.*)\]$/, "$1");
    this.peer = { transport: "tcp", address, port: originPort(url) };
    const connectTimeout = Math.min(requestTimeoutMs, 10_000);
    const tls = url.protocol === "https:" ? tlsOptions(config) : undefined;
    this.#pools = options.pools ?? new ConnectionPools();
    // a test's own connector is never shared; TLS settings are part of the key (the CA as its text)
    this.#poolKey =
      options.connector !== undefined
        ? `${url.origin}\0own:${config.name}`
        : `${url.origin}\0${connectTimeout}\0${config.tls.insecure}\0${config.tls.ca ?? ""}`;
    this.#pool = this.#pools.acquire(
      this.#poolKey,
      () =>
        new Pool(url.origin, {
          // the proxy's own deadline bounds the time to response headers (connect included); once headers
          // have come, a body such as an SSE stream may take as long as it likes
          headersTimeout: 0,
          bodyTimeout: 0,
          connectTimeout,
          // The stale keep-alive race is avoided here, not by resending: an idle connection is dropped
          // 2 s before the upstream's own `Keep-Alive: timeout=` hint says it will drop it (undici's
          // threshold), and after 4 s when there is no hint (node's own servers drop theirs after 5 s).
          keepAliveTimeout: 4_000,
          keepAliveTimeoutThreshold: 2_000,
          ...(options.connector !== undefined
            ? { connect: options.connector }
            : tls !== undefined
              ? { connect: tls }
              : {}),
        }),
    );
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * The check its config asks for, over its own connections (SPEC §3.3): `"http"`, a GET of `path` on
   * the origin; `"mcp"`, an `initialize` round trip to its URL judged by `judge()`'s judge.
   */
  healthCheck(judge: () => ExchangeJudge): HealthCheck | undefined {
    const { kind, path } = this.#check;
    if (kind === "http") return httpCheck(this.#pool, new URL(path, this.#url.origin));
    if (kind === "mcp") return mcpCheck(this.#pool, this.#url, judge);
    return undefined;
  }

  dispatch(request: UpstreamRequest, sink: ResponseSink): void {
    this.#inFlight++;
    const exchange = new HttpExchange(sink, this.#finished);
    sink.start(exchange);
    if (exchange.aborted) return;
    this.#pool.dispatch(
      {
        path:
          request.discovery === undefined
            ? targetPath(this.#basePath, request.target)
            : discoveryPath(request.discovery, request.target, this.#basePath),
        method: request.method,
        headers: upstreamRequestHeaders(request.rawHeaders, request.connection, {
          address: request.clientAddress,
          host: request.host,
          proto: request.proto,
        }),
        body: request.body ?? null,
      },
      exchange,
    );
  }

  /** Lets go of its pool: its connections close, unless another upstream of the origin still uses them. */
  close(): Promise<void> {
    this.#closed ??= this.#pools.release(this.#poolKey);
    return this.#closed;
  }
}

/** The certificates an `https://` upstream is checked against: node's bundled ones and the system's. */
let trusted: readonly string[] | undefined;

/**
 * How an `https://` upstream is reached (SPEC §4.3): its certificate checked against node's bundled CAs,
 * the system's (`/etc/ssl/certs`) and its `ca_file`, never unchecked unless `tls_insecure_skip_verify`
 * is written out.
 */
function tlsOptions(config: UpstreamConfig): { ca: string[]; rejectUnauthorized: boolean } {
  trusted ??= [...getCACertificates("default"), ...getCACertificates("system")];
  const ca = config.tls.ca === undefined ? [...trusted] : [...trusted, config.tls.ca];
  return { ca, rejectUnauthorized: !config.tls.insecure };
}

/**
 * One request on undici's dispatch API, told to a sink: interim 1xx responses are kept from it, and
 * errors become the facts of {@link TransportFailure}.
 */
class HttpExchange implements Dispatcher.DispatchHandler, TransportControls, ReuseWatcher {
  readonly #sink: ResponseSink;
  readonly #finished: () => void;
  #controller: Dispatcher.DispatchController | undefined;
  /** An abort asked for before undici handed over its controller. */
  #pendingAbort: Error | undefined;
  /** undici has handed the whole request to a socket (it writes a buffered body in one go). */
  #sent = false;
  /** The request went on a keep-alive connection that had carried a request before. */
  #reused = false;
  /** Some response byte has come back: an interim 1xx, or the head. */
  #answered = false;
  #over = false;

  constructor(sink: ResponseSink, finished: () => void) {
    this.#sink = sink;
    this.#finished = finished;
  }

  get aborted(): boolean {
    return this.#over;
  }

  pause(): void {
    this.#controller?.pause();
  }

  resume(): void {
    this.#controller?.resume();
  }

  abort(reason: Error): void {
    this.#finish(); // first: undici tells the abort back through onResponseError, which the sink must not hear
    if (this.#controller === undefined) this.#pendingAbort ??= reason;
    else if (!this.#controller.aborted) this.#controller.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#pendingAbort !== undefined) controller.abort(this.#pendingAbort);
    else watchReuse(this);
  }

  connectionReused(reused: boolean): void {
    this.#reused = reused;
  }

  onRequestSent(): void {
    this.#sent = true;
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    if (this.#over) return;
    // 100, 102, 103 are not the answer (SPEC §2): they change no outcome and stop no timer
    if (status >= 100 && status < 200) {
      this.#answered = true;
      return;
    }
    this.#answered = true;
    this.#sink.head(status, headers, statusMessage ?? "");
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#over) this.#sink.data(chunk);
  }

  onResponseEnd(): void {
    if (this.#over) return;
    this.#finish();
    this.#sink.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#over) return;
    this.#finish();
    const code = errorCode(error);
    const nothingSent = !this.#sent;
    const broke = connectionBreaks.has(code);
    const proxyResources = proxyResourceFailures.has(code);
    this.#sink.error({
      error,
      nothingSent,
      connectionLost: !proxyResources && !this.#answered && (broke || nothingSent),
      // the stale keep-alive race (SPEC §2): a reused connection the upstream had closed, found out
      // before the request left whole; on a fresh connection the same break is the upstream's doing
      staleConnection: this.#reused && nothingSent && broke,
      badRequest: code === "UND_ERR_INVALID_ARG",
      overloaded: false,
      proxyResources,
    } satisfies TransportFailure);
  }

  #finish(): void {
    if (this.#over) return;
    this.#over = true;
    this.#finished();
  }
}

function errorCode(error: Error): string {
  const own = (error as { code?: unknown }).code;
  if (
    typeof own === "string" &&
    (connectFailures.has(own) || connectionBreaks.has(own) || proxyResourceFailures.has(own))
  )
    return own;
  const cause = (error as { cause?: { code?: unknown } }).cause?.code;
  return typeof cause === "string" ? cause : typeof own === "string" ? own : "";
}

/** The port a URL reaches: its own, or its scheme's default (which `URL` leaves out). */
function originPort(url: URL): number {
  if (url.port !== "") return Number(url.port);
  return url.protocol === "https:" ? 443 : 80;
}
