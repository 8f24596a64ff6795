import type { IncomingHttpHeaders } from "node:http";
import type { Outcome, Permit } from "../breaker/Acquisition.ts";
import type { ExchangeOutcome } from "../judges/ExchangeJudge.ts";
import type { FailureCause } from "../judges/failureCause.ts";
import type { Timers } from "../time/Timers.ts";
import type { TransportFailure, Upstream } from "../upstreams/Upstream.ts";
import { PairedPermit } from "./PairedPermit.ts";
import { transportCause } from "./transportCause.ts";

/** An upstream's response head has come back: for latency metrics and session binding. */
export interface HeadReport {
  readonly upstream: Upstream;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Seconds from this attempt's dispatch to the head (a failover's time at the first upstream is not in it). */
  readonly seconds: number;
}

/** An exchange has its outcome: for the outcome counters, the dashboard, and the log of problems. */
export interface SettledReport {
  readonly upstream: Upstream;
  /** The upstream circuit's outcome. */
  readonly outcome: Outcome;
  /** The tool the call named and its circuit's outcome, when a tool circuit admitted it (SPEC §3.2). */
  readonly tool: { readonly name: string; readonly outcome: Outcome } | undefined;
  /** What was wrong with the upstream's answer, when it was broken (logged once, as a warning). */
  readonly problem: string | undefined;
  /** The upstream refused the request for want of room (a stdio upstream at `max_processes`): neutral. */
  readonly overloaded?: true;
}

/**
 * An upstream (or one of its tools) is charged with a failure: told before its circuits hear of it, so
 * that a state change the failure causes can name its cause.
 */
export interface ChargedReport {
  readonly upstream: Upstream;
  /** Whether the upstream's own circuit is charged (a tool's failure alone is not the server's). */
  readonly upstreamCharged: boolean;
  /** The tool whose circuit is charged; undefined when no tool circuit is. */
  readonly tool: string | undefined;
  readonly cause: FailureCause;
  /** What was wrong with the upstream's answer, when it was broken. */
  readonly problem: string | undefined;
}

/**
 * Who hears of exchanges: told twice per exchange, at the head (if any) and at the outcome, and once
 * more, before the outcome, when it charges a circuit with a failure.
 */
export interface ExchangeObserver {
  head(report: HeadReport): void;
  settled(report: SettledReport): void;
  charged?(report: ChargedReport): void;
}

/**
 * The breaker's side of one exchange with one upstream: it owns the permit, settles it exactly once
 * and reports it (the exchange's deadline is the exchange's own: `ExchangeDeadline`). A resend on a fresh connection to the
 * same upstream keeps the same settlement (it does not count against the upstream); a failover to
 * another upstream gets a new one.
 */
export class Settlement {
  readonly upstream: Upstream;
  readonly #permit: Permit;
  readonly #observer: ExchangeObserver;
  /** The clock and timers of the exchange (and of its deadline): every wait clamped to what node's timers hold. */
  readonly timers: Timers;
  /** The `timers.now()` reading when the client's request was first sent on. */
  readonly startedAt: number;
  /** The `timers.now()` reading when the attempt in progress was dispatched. */
  #dispatchedAt: number;
  #settled = false;
  #status = 0;
  #headers: IncomingHttpHeaders | undefined;

  /** `startedAt`: the `timers.now()` reading when the client's request was first sent on. */
  constructor(
    upstream: Upstream,
    permit: Permit,
    observer: ExchangeObserver,
    timers: Timers,
    startedAt: number,
  ) {
    this.upstream = upstream;
    this.#permit = permit;
    this.#observer = observer;
    this.timers = timers;
    this.startedAt = startedAt;
    this.#dispatchedAt = startedAt;
  }

  /** A later attempt (a resend, or a failover's first) is dispatched `at`: its latency is timed from there. */
  redispatched(at: number): void {
    this.#dispatchedAt = at;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** The status of the response head the upstream sent; 0 until it has come. */
  get status(): number {
    return this.#status;
  }

  /** The headers of the response head the upstream sent, once it has come. */
  get headers(): IncomingHttpHeaders | undefined {
    return this.#headers;
  }

  headArrived(status: number, headers: IncomingHttpHeaders): void {
    this.#status = status;
    this.#headers = headers;
    const seconds = (this.timers.now() - this.#dispatchedAt) / 1_000;
    this.#observer.head({ upstream: this.upstream, status, headers, seconds });
  }

  /**
   * Settles the permit(s) with `outcome` and reports it; later calls are ignored. `cause`: why, when the
   * outcome charges a circuit with a failure (see `chargesFailure`).
   */
  settle(outcome: ExchangeOutcome, problem?: string, cause?: FailureCause): void {
    this.#settle(outcome, problem, false, cause);
  }

  /** No response came back, and the upstream is to blame: a failure, its cause read from the error. */
  settleTransportFailure(failure: TransportFailure): void {
    this.#settle("failure", undefined, false, transportCause(failure.error));
  }

  /** The upstream had no room for the request: neutral for its circuit, counted as overloaded. */
  settleOverloaded(): void {
    this.#settle("neutral", undefined, true, undefined);
  }

  #settle(
    outcome: ExchangeOutcome,
    problem: string | undefined,
    overloaded: boolean,
    cause: FailureCause | undefined,
  ): void {
    if (this.#settled) return;
    this.#settled = true;
    const permit = this.#permit;
    if (cause !== undefined) this.#charge(outcome, problem, cause);
    let report: SettledReport;
    if (permit instanceof PairedPermit) {
      const toolOutcome = permit.settle(outcome);
      const upstreamOutcome = typeof outcome === "string" ? outcome : outcome.upstream;
      const tool = { name: permit.scope, outcome: toolOutcome };
      report = { upstream: this.upstream, outcome: upstreamOutcome, tool, problem };
    } else {
      const plain = typeof outcome === "string" ? outcome : outcome.whole;
      permit[plain]();
      report = { upstream: this.upstream, outcome: plain, tool: undefined, problem };
    }
    this.#observer.settled(overloaded ? { ...report, overloaded } : report);
  }

  /** Tells the observer which circuits `outcome` charges with a failure, before they hear of it. */
  #charge(outcome: ExchangeOutcome, problem: string | undefined, cause: FailureCause): void {
    const charged = this.#observer.charged;
    if (charged === undefined) return;
    const permit = this.#permit;
    const paired = permit instanceof PairedPermit;
    const whole = typeof outcome === "string" ? outcome : paired ? outcome.upstream : outcome.whole;
    const narrow = typeof outcome === "string" ? outcome : outcome.tool;
    const tool = paired && narrow === "failure" ? permit.scope : undefined;
    if (whole !== "failure" && tool === undefined) return;
    const upstream = this.upstream;
    charged.call(this.#observer, { upstream, upstreamCharged: whole === "failure", tool, cause, problem });
  }
}
