import type { Acquisition, Permit, Rejection } from "../breaker/Acquisition.ts";
import type { CircuitState } from "../breaker/CircuitState.ts";
import type { Upstream } from "../upstreams/Upstream.ts";
import type { UpstreamFailureAnswer } from "./proxyAnswers.ts";

export type Choice =
  | { readonly upstream: Upstream; readonly permit: Permit }
  /**
   * No upstream admitted: the one that will admit soonest, and when; `overloaded` when an upstream
   * whose circuit might have admitted was skipped at its `max_in_flight` (SPEC §3.4).
   */
  | {
      readonly upstream: Upstream;
      readonly permit: undefined;
      readonly retryAfterMs: number;
      /** The state of that upstream's circuit (or of the call's own that refused it). */
      readonly state: CircuitState;
      readonly overloaded: boolean;
    };

/** What an admit function answers for an upstream at its `max_in_flight`: skipped like an open one. */
export const overloaded: Rejection = { admitted: false, state: "closed", retryAfterMs: 1_000 };

/** Whether `upstream` admits the request: a permit, or a rejection with the time to wait. */
export type Admit = (upstream: Upstream) => Acquisition;

/** An upstream at its `max_in_flight` is skipped; otherwise its own circuit decides. */
export const circuitAdmits: Admit = (upstream) =>
  upstream.maxInFlight > 0 && upstream.inFlight >= upstream.maxInFlight
    ? overloaded
    : upstream.circuit.tryAcquire();

/**
 * Picks the upstream for a request among those that admit it: round robin (each request starts one
 * further along) or failover (always from the first, in file order). What "admits" means is the
 * caller's: the upstream's circuit, minus an upstream already tried, plus whatever later rules add.
 */
export class UpstreamBalancer {
  readonly #upstreams: readonly Upstream[];
  readonly #roundRobin: boolean;
  #next = 0;

  constructor(upstreams: readonly Upstream[], mode: "round_robin" | "failover") {
    if (upstreams.length === 0) throw new RangeError("at least one upstream is needed");
    this.#upstreams = upstreams;
    this.#roundRobin = mode === "round_robin";
  }

  /** The first upstream that `admit` admits, with its permit; else the one that admits soonest. */
  choose(admit: Admit = circuitAdmits): Choice {
    const count = this.#upstreams.length;
    let start = 0;
    if (this.#roundRobin) {
      start = this.#next;
      this.#next = start + 1 === count ? 0 : start + 1;
    }
    let soonest: Upstream | undefined;
    let soonestMs = Infinity;
    let soonestState: CircuitState = "open";
    let full = false;
    for (let i = 0; i < count; i++) {
      const upstream = this.#upstreams[(start + i) % count] as Upstream;
      const acquisition = admit(upstream);
      if (acquisition.admitted) return { upstream, permit: acquisition };
      if (acquisition === overloaded) full = true;
      if (soonest === undefined || acquisition.retryAfterMs < soonestMs) {
        soonest = upstream;
        soonestMs = acquisition.retryAfterMs;
        soonestState = acquisition.state;
      }
    }
    return {
      upstream: soonest as Upstream,
      permit: undefined,
      retryAfterMs: soonestMs,
      state: soonestState,
      overloaded: full,
    };
  }

  /**
   * The upstream for a request and its permit — the session's upstream when it is `bound` (no other
   * may take it), else the first `admit` admits — or the answer the proxy gives instead: a session
   * whose upstream is open is gone (404, the client starts anew); one whose upstream is full lives on
   * (503 overloaded); without a session, 503 overloaded when an upstream was full, else circuit_open.
   */
  pick(
    bound: Upstream | undefined,
    admit: Admit,
  ):
    | { readonly upstream: Upstream; readonly permit: Permit }
    | { readonly permit: undefined; readonly refusal: UpstreamFailureAnswer } {
    if (bound !== undefined) {
      const acquisition = admit(bound);
      if (acquisition.admitted) return { upstream: bound, permit: acquisition };
      const upstream = bound.name;
      const refusal: UpstreamFailureAnswer =
        acquisition === overloaded
          ? { status: 503, reason: "overloaded", upstream, retryAfterMs: acquisition.retryAfterMs }
          : {
              status: 404,
              reason: "circuit_open",
              upstream,
              retryAfterMs: acquisition.retryAfterMs,
              circuitState: acquisition.state,
            };
      return { permit: undefined, refusal };
    }
    const choice = this.choose(admit);
    if (choice.permit !== undefined) return choice;
    const upstream = choice.upstream.name;
    const refusal: UpstreamFailureAnswer = choice.overloaded
      ? { status: 503, reason: "overloaded", upstream, retryAfterMs: 1_000 }
      : {
          status: 503,
          reason: "circuit_open",
          upstream,
          retryAfterMs: choice.retryAfterMs,
          circuitState: choice.state,
        };
    return { permit: undefined, refusal };
  }
}
