import type { CircuitBreaker } from "../breaker/CircuitBreaker.ts";
import { systemTimers, type Timer, type Timers } from "../time/Timers.ts";
import type { CheckResult, HealthCheck } from "./HealthCheck.ts";

export interface HealthCheckerOptions {
  readonly upstream: string;
  /** The upstream's circuit: made with `halfOpenProbesOnly`, so that only these checks probe it. */
  readonly breaker: CircuitBreaker;
  readonly check: HealthCheck;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Told of every check that ran, for logs and metrics. */
  readonly onResult?: (upstream: string, result: CheckResult) => void;
  /**
   * Told when the circuit refused a check (still open by its clock, its probe slots or the fleet's lease
   * taken): a refusal of the proxy's own, which is not a client's rejection (metrics subtract it).
   */
  readonly onRefused?: (upstream: string) => void;
  /** The clock and timers of intervals and check timeouts; default the system's (tests step their own). */
  readonly timers?: Timers;
}

/**
 * Runs an upstream's active health checks (SPEC §3.3), each as a call of its circuit acquired as a
 * probe: every `intervalMs` while the circuit is closed (a failed check is a failure like any other,
 * so a dead upstream can open before a client meets it); none while it is open, forced open or
 * disabled; and once the open time is up, one after another as each answers, as the only probes
 * until they close the circuit or open it again. No client request is risked as a probe.
 */
export class HealthChecker {
  readonly #o: HealthCheckerOptions;
  readonly #timers: Timers;
  #timer: Timer | undefined;
  #running = false;
  #stopped = true;
  #unsubscribe: (() => void) | undefined;
  /** Aborts the check in flight when the checker stops. */
  #stopping = new AbortController();

  constructor(options: HealthCheckerOptions) {
    this.#o = options;
    this.#timers = options.timers ?? systemTimers;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#stopping = new AbortController();
    // a change made elsewhere (clients' failures, an operator) changes when the next check is due
    this.#unsubscribe = this.#o.breaker.onStateChange(() => {
      if (!this.#running) this.#schedule();
    });
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    this.#timers.clearTimeout(this.#timer);
    this.#unsubscribe?.();
    this.#stopping.abort();
  }

  /** Plans the next check from the circuit's state. */
  #schedule(): void {
    this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#stopped) return;
    const { breaker, intervalMs } = this.#o;
    const metrics = breaker.metrics();
    switch (metrics.state) {
      case "closed":
        this.#after(intervalMs);
        return;
      case "half_open":
        this.#after(0);
        return;
      case "open":
        this.#after(metrics.retryAfterMs ?? intervalMs);
        return;
      default:
        return; // forced open or disabled: the operator decides; a state change plans again
    }
  }

  /** Runs a check in `ms` (clamped by the timers: an open time beyond 2^31 − 1 ms never fires at once). */
  #after(ms: number): void {
    this.#timer = this.#timers.setTimeout(() => void this.#run(), ms);
  }

  async #run(): Promise<void> {
    const { breaker, check, timeoutMs, upstream } = this.#o;
    // running from here: the change to half-open this acquisition may cause plans no second check
    this.#running = true;
    const permit = breaker.tryAcquire({ probe: true });
    if (!permit.admitted) {
      this.#running = false;
      this.#o.onRefused?.(upstream);
      // still open by the circuit's clock, or another probe holds the slot: ask again when it says
      if (permit.state !== "forced_open") this.#after(permit.retryAfterMs);
      return;
    }
    const timedOut = new AbortController();
    const timeout = this.#timers.setTimeout(() => timedOut.abort(), timeoutMs);
    const signal = AbortSignal.any([timedOut.signal, this.#stopping.signal]);
    const result = await check(signal);
    this.#timers.clearTimeout(timeout);
    this.#running = false;
    if (this.#stopped) {
      permit.neutral();
      return;
    }
    if (result.healthy) permit.success();
    else permit.failure();
    this.#o.onResult?.(upstream, result);
    this.#schedule();
  }
}
