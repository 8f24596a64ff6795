import type { IncomingMessage, ServerResponse } from "node:http";
import type { Permit, Rejection } from "../breaker/Acquisition.ts";
import type { AttemptTrace } from "../exchange/AttemptTrace.ts";
import type { ResponseRewrite } from "../exchange/ResponseRewrite.ts";
import { Settlement } from "../exchange/Settlement.ts";
import { type ExchangeResult, UpstreamExchange } from "../exchange/UpstreamExchange.ts";
import { jsonRpcShape } from "../jsonrpc/jsonRpc.ts";
import { systemTimers } from "../time/Timers.ts";
import type { Upstream, UpstreamRequest } from "../upstreams/Upstream.ts";
import type { Call } from "./Call.ts";
import { failureAnswer } from "./failureAnswer.ts";
import type { ProxyServerOptions } from "./ProxyServer.ts";
import { sendClientError, sendUpstreamFailure } from "./proxyAnswers.ts";
import type { RequestTrace } from "./RequestTracing.ts";
import type { ServerPool } from "./ServerPool.ts";
import type { Admit } from "./UpstreamBalancer.ts";

/** Methods that the upstream cannot have acted on in a way that makes sending them again harmful. */
const idempotent = new Set(["GET", "HEAD", "OPTIONS"]);
/** The rejection of an upstream that was tried already and took no byte (for the failover). */
const triedAlready: Rejection = { admitted: false, state: "open", retryAfterMs: Infinity };

/** A client request, read and routed, on its way to an upstream. */
export interface Incoming {
  /** The server its route reached, in the configuration it was routed by. */
  readonly pool: ServerPool;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** What is sent: the client's request, or the one for a new session when the upstream lost its own. */
  request: UpstreamRequest;
  readonly call: Call;
  /** What the client gets of the answers' heads and held bodies (the route's, or the aggregate's). */
  readonly rewrite: ResponseRewrite;
  /** Whether an upstream takes this request: its own admission, and the call's circuits. */
  readonly admit: Admit;
  /** `timers.now()` reading when the request was first sent on: its budget runs from here. */
  readonly startedAt: number;
  /** Attempts made so far (resends included). */
  attempts: number;
  /** The upstream the request's session was bound to, as looked up once. */
  readonly bound: Upstream | undefined;
  /** The attempt in progress, which a client that goes away aborts. */
  current: UpstreamExchange | undefined;
  /** The request's trace (SPEC §9); undefined while telemetry is off, or for a request not traced. */
  readonly trace: RequestTrace | undefined;
}

/** What the forwarder reads afresh for each request: the running configuration (a reload swaps it). */
export interface ForwardContext {
  readonly options: ProxyServerOptions;
  readonly draining: () => boolean;
}

/**
 * Sends a routed request to its upstream with SPEC §2's rule for sending again: never twice to an
 * upstream that may have acted on it; once more on a fresh connection when it provably did not (the
 * stale keep-alive race, or a connection lost under an idempotent method), not counted against it; once
 * to another upstream when no byte was sent (counted). What no upstream answered gets the proxy's own
 * answer (502, 503, 504, in the request's JSON-RPC shape).
 */
export class Forwarder {
  readonly #context: () => ForwardContext;

  constructor(context: () => ForwardContext) {
    this.#context = context;
  }

  /**
   * Sends `incoming` to `upstream` (admitted with `permit`), and again where SPEC §2 allows it: once more to the same upstream when it cannot
   * have acted on it (the stale keep-alive race; a connection lost under an idempotent request),
   * without counting against it; once to another upstream when nothing was sent (counted).
   */
  async forward(incoming: Incoming, upstream: Upstream, permit: Permit, mayFailOver: boolean): Promise<void> {
    const { res } = incoming;
    const timers = this.#context().options.timers ?? systemTimers;
    let settlement = new Settlement(
      upstream,
      permit,
      this.#context().options.observer,
      timers,
      incoming.startedAt,
    );
    let resent = false;
    let failedOver = !mayFailOver;
    let sessionRenewed = false;
    for (;;) {
      const result = await this.#attempt(incoming, settlement);
      if (result.kind === "session_lost" && !sessionRenewed) {
        // once per request (SPEC §7.2): a new session, and the request sent there
        sessionRenewed = true;
        const renewed = await this.#renewSession(incoming);
        if (renewed === "answered") return;
        if (renewed !== undefined) {
          settlement = new Settlement(
            renewed.upstream,
            renewed.permit,
            this.#context().options.observer,
            timers,
            incoming.startedAt,
          );
          resent = false;
          failedOver = true;
          continue;
        }
      }
      if (result.kind !== "failed") return this.#answer(incoming, settlement, result);
      const { failure } = result;
      if (failure.badRequest) {
        settlement.settle("neutral");
        return sendClientError(res, 400, "the request cannot be forwarded as it is");
      }
      if (failure.proxyResources) {
        // the proxy's own failure: neither the upstream's circuit nor another upstream would mend it
        settlement.settle("neutral");
        this.#context().options.onProxyResources?.(
          settlement.upstream,
          String((failure.error as NodeJS.ErrnoException).code),
        );
        return this.#answer(incoming, settlement, result);
      }
      if (
        !resent &&
        (failure.staleConnection || (failure.connectionLost && idempotent.has(incoming.request.method)))
      ) {
        resent = true;
        continue;
      }
      if (failure.overloaded) settlement.settleOverloaded();
      else settlement.settleTransportFailure(failure);
      if (failure.nothingSent && !failedOver) {
        failedOver = true;
        const tried = settlement.upstream;
        // among the server's upstreams now (a reload may have changed them; a removed server has none)
        const pool = this.#context().options.routes.byName.get(incoming.pool.name);
        const next = pool?.balancer.choose((u) => (u === tried ? triedAlready : incoming.admit(u)));
        if (next?.permit !== undefined) {
          // (its latency is timed from its own dispatch: see #timeLeft)
          settlement = new Settlement(
            next.upstream,
            next.permit,
            this.#context().options.observer,
            timers,
            incoming.startedAt,
          );
          resent = false;
          continue;
        }
      }
      return this.#answer(incoming, settlement, result);
    }
  }

  /**
   * The upstream lost the session the request was sent in: the call's new session, admitted as the
   * request was, and the request for it (now `incoming.request`); "answered" when its upstream does not
   * admit it (the usual refusal was answered); undefined when no new session could be had.
   */
  async #renewSession(
    incoming: Incoming,
  ): Promise<{ readonly upstream: Upstream; readonly permit: Permit } | "answered" | undefined> {
    let renewed: Awaited<ReturnType<NonNullable<Call["sessionLost"]>>>;
    try {
      renewed = await incoming.call.sessionLost?.();
    } catch (error) {
      this.#context().options.onInternalError?.(error);
      return undefined;
    }
    if (renewed === undefined) return undefined;
    const { request, bound } = renewed;
    incoming.request = request;
    const picked = incoming.pool.balancer.pick(bound, incoming.admit);
    if (picked.permit !== undefined) return picked;
    const { res } = incoming;
    const asToolResult = incoming.call.answerRefusal?.(res) === true;
    incoming.trace?.answeredForUpstream(picked.refusal, asToolResult);
    if (!asToolResult) sendUpstreamFailure(res, picked.refusal, jsonRpcShape(request.method, request.body));
    return "answered";
  }

  #attempt(incoming: Incoming, settlement: Settlement): Promise<ExchangeResult> {
    return new Promise((resolve) => {
      if (incoming.res.destroyed) {
        settlement.settle("neutral");
        resolve({ kind: "client_gone" });
        return;
      }
      const upstream = settlement.upstream;
      const trace = incoming.trace?.attempt(upstream, incoming.request);
      const exchange = new UpstreamExchange({
        res: incoming.res,
        request: incoming.request,
        rewrite: incoming.rewrite,
        settlement,
        judge: incoming.call.judge(upstream),
        bodyFilter: incoming.call.bodyFilter?.(),
        sessionHeld: incoming.call.sessionLost !== undefined,
        timeLeftMs: this.#timeLeft(incoming, settlement),
        answerLimits: this.#context().options.answerLimits,
        draining: this.#context().draining,
        trace,
        resolve: trace === undefined ? resolve : tracedResolve(trace, resolve),
      });
      incoming.current = exchange;
      if (trace === undefined) upstream.dispatch(incoming.request, exchange);
      else upstream.dispatch(trace.request, trace.bind(exchange));
    });
  }

  /**
   * What is left of the request's budget: all of it for the first attempt (no clock read needed). A later
   * attempt (a resend, a failover) is dispatched now: its latency is timed from here.
   */
  #timeLeft(incoming: Incoming, settlement: Settlement): number {
    const timeout = this.#context().options.requestTimeoutMs;
    if (incoming.attempts++ === 0) return timeout;
    const now = settlement.timers.now();
    settlement.redispatched(now);
    return Math.max(1, Math.ceil(incoming.startedAt + timeout - now));
  }

  /** Answers for an upstream that gave no response. */
  #answer(incoming: Incoming, settlement: Settlement, result: ExchangeResult): void {
    const answer = failureAnswer(result, settlement.upstream.name);
    if (answer === undefined) return;
    const { res, request } = incoming;
    incoming.trace?.answeredForUpstream(answer);
    sendUpstreamFailure(res, answer, jsonRpcShape(request.method, request.body));
  }
}

/** `resolve`, telling `trace` first of an attempt that got no response. */
function tracedResolve(
  trace: AttemptTrace,
  resolve: (result: ExchangeResult) => void,
): (result: ExchangeResult) => void {
  return (result) => {
    if (result.kind === "failed") trace.failed(result.failure);
    resolve(result);
  };
}
