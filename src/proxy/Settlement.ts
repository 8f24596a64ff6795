import type { IncomingHttpHeaders } from "node:http";
import type { Outcome, Permit } from "../index.ts";
import type { Upstream } from "./Upstream.ts";

/** An upstream's response head has come back: for latency metrics and session binding. */
export interface HeadReport {
  readonly upstream: Upstream;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Seconds from the first dispatch to the head. */
  readonly seconds: number;
}

/** An exchange has its outcome: for the outcome counters, the dashboard, and the log of problems. */
export interface SettledReport {
  readonly upstream: Upstream;
  readonly outcome: Outcome;
  /** What was wrong with the upstream's answer, when it was broken (logged once, as a warning). */
  readonly problem: string | undefined;
}

/** Who hears of exchanges: told twice per exchange, at the head (if any) and at the outcome. */
export interface ExchangeObserver {
  head(report: HeadReport): void;
  settled(report: SettledReport): void;
}

/**
 * The breaker's side of one exchange with one upstream: it owns the permit, settles it exactly once
 * and reports it, and owns the timer of the request's deadline. A resend on a fresh connection to the
 * same upstream keeps the same settlement (it does not count against the upstream); a failover to
 * another upstream gets a new one.
 */
export class Settlement {
  readonly upstream: Upstream;
  readonly #permit: Permit;
  readonly #observer: ExchangeObserver;
  readonly #startedAt = performance.now();
  #timer: NodeJS.Timeout | undefined;
  #settled = false;
  #head: { readonly status: number; readonly headers: IncomingHttpHeaders } | undefined;

  constructor(upstream: Upstream, permit: Permit, observer: ExchangeObserver) {
    this.upstream = upstream;
    this.#permit = permit;
    this.#observer = observer;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** The response head the upstream sent, once it has come. */
  get head(): { readonly status: number; readonly headers: IncomingHttpHeaders } | undefined {
    return this.#head;
  }

  /** Calls `expire` at `deadline` (a `performance.now()` reading) unless stopped first. */
  startTimer(deadline: number, expire: () => void): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(expire, Math.max(0, deadline - performance.now()));
  }

  stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  headArrived(status: number, headers: IncomingHttpHeaders): void {
    this.#head = { status, headers };
    const seconds = (performance.now() - this.#startedAt) / 1_000;
    this.#observer.head({ upstream: this.upstream, status, headers, seconds });
  }

  /** Settles the permit with `outcome` and reports it; later calls are ignored. */
  settle(outcome: Outcome, problem?: string): void {
    if (this.#settled) return;
    this.#settled = true;
    this.stopTimer();
    this.#permit[outcome]();
    this.#observer.settled({ upstream: this.upstream, outcome, problem });
  }
}
