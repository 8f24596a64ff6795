import type { ServerResponse } from "node:http";
import type { Acquisition } from "../breaker/Acquisition.ts";
import type { BodyFilter } from "../exchange/BodyFilter.ts";
import type { JsonRpcCall } from "../jsonrpc/jsonRpcCall.ts";
import type { ExchangeJudge } from "../judges/ExchangeJudge.ts";
import type { Call } from "../proxy/Call.ts";
import { type Admit, overloaded } from "../proxy/UpstreamBalancer.ts";
import type { Upstream, UpstreamRequest } from "../upstreams/Upstream.ts";
import { chainFilters } from "./AnswerRewrite.ts";
import { type AggregateRefusal, aggregateToolUnavailable, sendResult } from "./aggregateAnswers.ts";

/**
 * The proxy's seam for a call whose upstream session was lost (404): the call as it goes to a new
 * session and the upstream holding it; undefined when none can be opened. (Declared on `Call` by the
 * proxy; repeated here so that this file compiles before that lands.)
 */
export type SessionLost = () => Promise<
  { readonly request: UpstreamRequest; readonly bound: Upstream } | undefined
>;

export interface AggregateCallOptions {
  /** The client's call as the endpoint read it: its id (read when first asked for) goes in the tool error. */
  readonly clientCall: Pick<JsonRpcCall, "ids">;
  /** A `tools/call`: a circuit's refusal is a tool error naming `tool`, not the route's 503. */
  readonly toolCall: boolean;
  /** The aggregate's name of what is called, as the client wrote it. */
  readonly tool: string;
  readonly server: string;
  /** The client speaks 2026-07-28: its results carry `resultType`. */
  readonly modern: boolean;
  /** A fresh rewrite of the server's answer per attempt. */
  readonly answerFilter: () => BodyFilter;
  readonly sessionLost: SessionLost | undefined;
}

/**
 * A call of the aggregate's client as one server's pool reads it (SPEC §7.2), with what the aggregate
 * adds: the tool error naming the aggregate's tool when the upstream's or the tool's circuit refuses a
 * `tools/call` (the model can carry on with other tools), its rewrite of the answer before the pool's
 * own filter, and the upstream session's recovery. Everything else is the pool's call.
 */
export class AggregateCall implements Call {
  readonly refuse?: (res: ServerResponse) => void;
  readonly admit: (upstream: Upstream, admit: Admit) => Acquisition;
  readonly sessionLost: SessionLost | undefined;
  readonly #inner: Call;
  readonly #o: AggregateCallOptions;
  /** The circuit refusal that will admit soonest, if one refused. */
  #refusal: Omit<AggregateRefusal, "server" | "tool"> | undefined;

  constructor(inner: Call, options: AggregateCallOptions) {
    this.#inner = inner;
    this.#o = options;
    if (inner.refuse !== undefined) this.refuse = inner.refuse;
    this.sessionLost = options.sessionLost;
    const own = inner.admit;
    this.admit = (upstream, admit) => {
      let upstreamRefused = false;
      const watched: Admit = (u) => {
        const acquisition = admit(u);
        if (!acquisition.admitted) {
          upstreamRefused = true;
          this.#refused(u, acquisition);
        }
        return acquisition;
      };
      const acquisition = own === undefined ? watched(upstream) : own(upstream, watched);
      // the upstream's circuit admitted and the call's own (its tool's) did not
      if (!acquisition.admitted && !upstreamRefused) this.#refused(upstream, acquisition);
      return acquisition;
    };
  }

  /** The aggregate's rewrite of the answer, then the pool's own filter (a method: no closure per call). */
  bodyFilter(): BodyFilter {
    return chainFilters(this.#o.answerFilter(), this.#inner.bodyFilter?.());
  }

  judge(upstream: Upstream): ExchangeJudge {
    return this.#inner.judge(upstream);
  }

  answerRefusal(res: ServerResponse): boolean {
    const refusal = this.#refusal;
    if (!this.#o.toolCall || refusal === undefined) return this.#inner.answerRefusal?.(res) ?? false;
    const { server, tool, modern, clientCall } = this.#o;
    const idText = clientCall.ids[0] as string;
    sendResult(res, idText, aggregateToolUnavailable({ ...refusal, server, tool }, modern));
    return true;
  }

  /** Keeps the refusal that admits soonest; an upstream at its `max_in_flight` is no circuit's refusal. */
  #refused(upstream: Upstream, acquisition: Acquisition): void {
    if (acquisition === overloaded || acquisition.admitted) return;
    const { state, retryAfterMs } = acquisition;
    if (retryAfterMs === Number.MAX_SAFE_INTEGER) return; // an upstream that serves sessions only
    if (this.#refusal === undefined || retryAfterMs < this.#refusal.retryAfterMs)
      this.#refusal = { upstream: upstream.name, state, retryAfterMs };
  }
}
