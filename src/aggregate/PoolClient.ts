import type { IncomingHttpHeaders } from "node:http";
import type { Permit, Rejection } from "../breaker/Acquisition.ts";
import { type ExchangeObserver, Settlement } from "../exchange/Settlement.ts";
import type { ExchangeJudge } from "../judges/ExchangeJudge.ts";
import { StatusJudge } from "../judges/StatusJudge.ts";
import type { ServerPool } from "../proxy/ServerPool.ts";
import { type Admit, circuitAdmits, overloaded } from "../proxy/UpstreamBalancer.ts";
import { systemTimers, type Timers } from "../time/Timers.ts";
import type { TransportFailure, Upstream, UpstreamRequest } from "../upstreams/Upstream.ts";
import type { PoolAnswer, PoolClient, PoolRequestOptions, UpstreamEra } from "./contracts.ts";
import { discoverHeaders, discoverMessage, eraOfAnswer } from "./PoolClientEra.ts";
import { PoolClientExchange, type PoolExchangeEnd } from "./PoolClientExchange.ts";

export interface PoolClientOptions {
  /** The plane's observer: Breakwater's own exchanges show in metrics as clients' do. */
  readonly observer: ExchangeObserver;
  readonly timers?: Timers | undefined;
  /** The most bytes of an answer's JSON body, or of one event of its stream, that are read; default 8 MiB. */
  readonly maxMessageBytes?: number | undefined;
  /** Told of every upstream skipped at its `max_in_flight`, as the proxy tells of clients' requests. */
  readonly onOverloaded?: ((upstream: Upstream) => void) | undefined;
  /** How long `server/discover` may take (`eraOf`); default 10 s. */
  readonly discoverTimeoutMs?: number | undefined;
}

/** The rejection of an upstream already tried, which took no byte (for the one failover). */
const triedAlready: Rejection = { admitted: false, state: "open", retryAfterMs: Infinity };
/** What a GET stream is judged by: its head (a 5xx is the upstream's failure). */
const streamJudge = new StatusJudge((status) => status >= 500);

/**
 * Breakwater as a client of its pools (SPEC §7.2): its own JSON-RPC requests (lists, `server/discover`,
 * `initialize`, listens, answers to server requests) go through what a client's go through — the
 * upstreams' circuits admit them (`pool.balancer.pick`), the pool's judges judge them (a `tools/list`
 * teaches the tool catalogue its names), the plane's observer counts them — and are failed over once
 * to another upstream when nothing was sent. No `ServerResponse`, no rewrite, no filter: the answer is
 * read here (a JSON body, or an event stream whose other messages go to `onMessage`).
 */
export class PoolRequests implements PoolClient {
  readonly #observer: ExchangeObserver;
  /** An upstream's own admission: room under its `max_in_flight` (counted when not), then its circuit. */
  readonly #admit: Admit;
  readonly #timers: Timers;
  readonly #maxMessageBytes: number;
  readonly #discoverTimeoutMs: number;
  /** The era each upstream speaks, asked once; a pending ask is shared, a failed exchange forgets it. */
  readonly #eras = new WeakMap<Upstream, EraAsked>();

  constructor(options: PoolClientOptions) {
    this.#observer = options.observer;
    const onOverloaded = options.onOverloaded;
    this.#admit =
      onOverloaded === undefined
        ? circuitAdmits
        : (upstream) => {
            const acquisition = circuitAdmits(upstream);
            if (acquisition === overloaded) onOverloaded(upstream);
            return acquisition;
          };
    this.#timers = options.timers ?? systemTimers;
    this.#maxMessageBytes = options.maxMessageBytes ?? 8 * 1024 * 1024;
    this.#discoverTimeoutMs = options.discoverTimeoutMs ?? 10_000;
  }

  async request(
    pool: ServerPool,
    message: Record<string, unknown>,
    options: PoolRequestOptions,
  ): Promise<PoolAnswer> {
    const request = postOf(message, options.headers);
    const call = pool.calls.read(request, headersOf(request.rawHeaders));
    const bound = options.bound;
    if (call.refuse !== undefined)
      return failed(bound ?? (pool.upstreams[0] as Upstream), undefined, "the pool refuses it as it is");
    const callAdmit = call.admit;
    const admit: Admit =
      callAdmit === undefined ? this.#admit : (upstream) => callAdmit(upstream, this.#admit);
    const picked = pool.balancer.pick(bound, admit);
    if (picked.permit === undefined) return { kind: "refused", retryAfterMs: picked.refusal.retryAfterMs };
    const timers = this.#timers;
    const startedAt = timers.now();
    const id = message["id"] as string | number | undefined;
    let settlement = new Settlement(picked.upstream, picked.permit, this.#observer, timers, startedAt);
    let resent = false;
    let failedOver = bound !== undefined;
    for (;;) {
      const upstream = settlement.upstream;
      const timeLeftMs = startedAt + options.timeoutMs - timers.now();
      const end = await this.#attempt(request, settlement, call.judge(upstream), id, timeLeftMs, options);
      if (end.kind === "answer") return { ...end, upstream };
      if (end.failure !== undefined) {
        const next = this.#afterNoResponse(end.failure, settlement, resent, failedOver, pool, admit);
        if (next === "resend") {
          resent = true;
          settlement.redispatched(timers.now());
          continue;
        }
        if (next !== undefined) {
          failedOver = true;
          resent = false;
          settlement = new Settlement(next.upstream, next.permit, this.#observer, timers, startedAt);
          settlement.redispatched(timers.now());
          continue;
        }
      }
      // the upstream failed: it may come back as another server (of another era)
      if (end.charged === true) this.#eras.delete(upstream);
      return failed(upstream, end.status, end.reason);
    }
  }

  stream(
    upstream: Upstream,
    headers: Readonly<Record<string, string>>,
    onMessage: (message: Record<string, unknown>) => void,
    signal: AbortSignal,
  ): Promise<string> {
    const acquisition = this.#admit(upstream);
    if (!acquisition.admitted)
      return Promise.resolve(acquisition === overloaded ? "overloaded" : "circuit_open");
    const timers = this.#timers;
    const settlement = new Settlement(upstream, acquisition, this.#observer, timers, timers.now());
    const request = getOf(headers);
    return new Promise((resolve) => {
      const exchange = new PoolClientExchange({
        settlement,
        judge: streamJudge,
        // a stream has no deadline but its signal (clamped to what timers hold)
        timeLeftMs: Number.POSITIVE_INFINITY,
        signal,
        id: undefined,
        maxMessageBytes: this.#maxMessageBytes,
        onMessage,
        resolve: (end) => {
          if (end.kind === "answer") resolve("ended");
          else {
            if (end.failure !== undefined) settlement.settleTransportFailure(end.failure);
            if (end.failure !== undefined || end.charged === true) this.#eras.delete(upstream);
            resolve(end.reason);
          }
        },
      });
      upstream.dispatch(request, exchange);
    });
  }

  knownEra(upstream: Upstream): UpstreamEra | undefined {
    return this.#eras.get(upstream)?.era;
  }

  eraOf(pool: ServerPool, upstream: Upstream): Promise<UpstreamEra | undefined> {
    const known = this.#eras.get(upstream);
    if (known !== undefined) return known.asking;
    const asking = this.request(pool, discoverMessage, {
      bound: upstream,
      headers: discoverHeaders,
      timeoutMs: this.#discoverTimeoutMs,
    }).then((answer) => {
      const era = eraOfAnswer(answer);
      // the answer decides, whatever the exchange's own failure made the map forget meanwhile
      if (era === undefined) {
        if (this.#eras.get(upstream)?.asking === asking) this.#eras.delete(upstream);
      } else this.#eras.set(upstream, { asking: Promise.resolve(era), era });
      return era;
    });
    this.#eras.set(upstream, { asking, era: undefined });
    return asking;
  }

  #attempt(
    request: UpstreamRequest,
    settlement: Settlement,
    judge: ExchangeJudge,
    id: string | number | undefined,
    timeLeftMs: number,
    options: PoolRequestOptions,
  ): Promise<PoolExchangeEnd> {
    const upstream = settlement.upstream;
    const onMessage = options.onMessage;
    return new Promise((resolve) => {
      const exchange = new PoolClientExchange({
        settlement,
        judge,
        timeLeftMs: Math.max(1, timeLeftMs),
        signal: options.signal,
        id,
        maxMessageBytes: this.#maxMessageBytes,
        onMessage: onMessage === undefined ? undefined : (message) => onMessage(message, upstream),
        resolve,
      });
      upstream.dispatch(request, exchange);
    });
  }

  /**
   * No response came: SPEC §2's rule for sending again, as the Forwarder applies it to clients' requests
   * — once more to the same upstream after the stale keep-alive race ("resend"), once to another that
   * admits it when nothing was sent and the request is not bound to its upstream (that one, admitted);
   * undefined: the request has failed (settled).
   */
  #afterNoResponse(
    failure: TransportFailure,
    settlement: Settlement,
    resent: boolean,
    failedOver: boolean,
    pool: ServerPool,
    admit: Admit,
  ): "resend" | { readonly upstream: Upstream; readonly permit: Permit } | undefined {
    if (failure.badRequest || failure.proxyResources) {
      settlement.settle("neutral"); // not the upstream's doing, and no other upstream would mend it
      return undefined;
    }
    if (!resent && failure.staleConnection) return "resend";
    const upstream = settlement.upstream;
    if (failure.overloaded) settlement.settleOverloaded();
    else {
      settlement.settleTransportFailure(failure);
      this.#eras.delete(upstream);
    }
    return failure.nothingSent && !failedOver ? this.#another(pool, upstream, admit) : undefined;
  }

  /** Another of the pool's upstreams that admits the request, for the one failover; undefined: none. */
  #another(
    pool: ServerPool,
    tried: Upstream,
    admit: Admit,
  ): { readonly upstream: Upstream; readonly permit: Permit } | undefined {
    const next = pool.balancer.choose((u) => (u === tried ? triedAlready : admit(u)));
    return next.permit === undefined ? undefined : next;
  }
}

function failed(upstream: Upstream, status: number | undefined, reason: string): PoolAnswer {
  return { kind: "failed", upstream, status, reason };
}

/** A POST of `message` to the upstream's MCP endpoint (its base path), as Breakwater sends its own. */
function postOf(message: Record<string, unknown>, headers: Readonly<Record<string, string>> | undefined) {
  const rawHeaders = ["Content-Type", "application/json", "Accept", "application/json, text/event-stream"];
  if (headers !== undefined)
    for (const [name, value] of Object.entries(headers)) rawHeaders.push(name, value);
  return ownRequest("POST", rawHeaders, Buffer.from(JSON.stringify(message)));
}

/** The earlier era's GET stream of a session (its headers carry `Mcp-Session-Id`). */
function getOf(headers: Readonly<Record<string, string>>): UpstreamRequest {
  const rawHeaders = ["Accept", "text/event-stream"];
  for (const [name, value] of Object.entries(headers)) rawHeaders.push(name, value);
  return ownRequest("GET", rawHeaders, undefined);
}

/** A request of Breakwater's own to an upstream's base path (no client, no route, no discovery). */
export function ownRequest(
  method: string,
  rawHeaders: readonly string[],
  body: Buffer | undefined,
): UpstreamRequest {
  return {
    method,
    target: "",
    discovery: undefined,
    rawHeaders,
    connection: undefined,
    host: undefined,
    clientAddress: undefined,
    proto: "http",
    body,
  };
}

/** `rawHeaders` as node's parsed headers (lower-case names), for the pool's reading of the call. */
function headersOf(rawHeaders: readonly string[]): IncomingHttpHeaders {
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2)
    headers[(rawHeaders[i] as string).toLowerCase()] = rawHeaders[i + 1] as string;
  return headers;
}

/** An upstream's era: being asked, or learnt (`era`, also there to be read without waiting). */
interface EraAsked {
  readonly asking: Promise<UpstreamEra | undefined>;
  readonly era: UpstreamEra | undefined;
}
