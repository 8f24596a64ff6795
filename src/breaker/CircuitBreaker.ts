import type { Acquisition, Outcome, Rejection } from "./Acquisition.ts";
import { CallPermit, type SettleCall } from "./CallPermit.ts";
import type { CircuitBreakerOptions, Verdict } from "./CircuitBreakerOptions.ts";
import type { CircuitMetrics } from "./CircuitMetrics.ts";
import { CircuitOpenError } from "./CircuitOpenError.ts";
import type { CircuitState, StateChange, TransitionReason } from "./CircuitState.ts";
import type { Clock } from "./Clock.ts";
import type { ExecuteOptions } from "./ExecuteOptions.ts";
import { neverAbortedSignal } from "./neverAbortedSignal.ts";
import { ProbeSlots } from "./ProbeSlots.ts";
import { type ResolvedOptions, resolveOptions } from "./resolveOptions.ts";
import { SlidingWindow } from "./SlidingWindow.ts";

/** Only the open variants carry their timing, only half-open its probes: the state cannot lie. */
type Inner =
  | { readonly kind: "closed" }
  | { readonly kind: "open"; readonly openedAt: number; readonly openFor: number }
  | { readonly kind: "half_open"; readonly openFor: number; readonly probes: ProbeSlots; successes: number }
  | { readonly kind: "forced_open" }
  | { readonly kind: "disabled" };

const closed: Inner = { kind: "closed" };
const forcedOpen: Inner = { kind: "forced_open" };
const disabled: Inner = { kind: "disabled" };

/**
 * A circuit breaker: closed → open on consecutive failures or a failure rate over a sliding window;
 * open rejects at once; after the open time, half-open admits a few probes whose successes close it
 * again. State is derived from the clock when asked, so an idle breaker holds no timer.
 *
 * @example
 * const breaker = new CircuitBreaker({ name: "payments", failureThreshold: 5 });
 * const a = breaker.tryAcquire();
 * if (a.admitted) { try { await pay(); a.success(); } catch (e) { a.failure(); throw e; } }
 * else console.log(`retry in ${a.retryAfterMs} ms`);
 *
 * @throws {TypeError | RangeError} for an invalid option, naming it and its value.
 */
export class CircuitBreaker {
  readonly name: string;
  readonly #options: ResolvedOptions;
  readonly #clock: Clock;
  readonly #window: SlidingWindow;
  readonly #settle: SettleCall;
  /** Whether admission must read the clock even while closed: only to judge slow calls. */
  readonly #timesCalls: boolean;
  #state: Inner = closed;
  /** Bumped on every state change (and reset); permits of an older generation cannot cause transitions. */
  #generation = 0;
  #consecutiveFailures = 0;
  #rejected = 0;
  #transitions = 0;
  #listeners: ((change: StateChange) => void)[] = [];

  constructor(options?: CircuitBreakerOptions) {
    this.#options = resolveOptions(options);
    this.name = this.#options.name;
    this.#clock = this.#options.clock;
    this.#window = new SlidingWindow(this.#options.windowDuration, this.#clock.now());
    this.#timesCalls = this.#options.slowCallDuration !== Infinity;
    this.#settle = (permit, outcome) => this.#record(permit, outcome);
  }

  /** The current state; `half_open` as soon as the open time has passed. */
  get state(): CircuitState {
    return this.#state.kind === "open" ? this.#current(this.#clock.now()).kind : this.#state.kind;
  }

  /**
   * Asks to make one call. Never throws: answers a {@link Permit} to settle with the call's outcome, or
   * a {@link Rejection} with the time to wait.
   */
  tryAcquire(): Acquisition {
    const state = this.#state;
    switch (state.kind) {
      case "closed":
      case "disabled":
        return new CallPermit(
          this.#settle,
          this.#generation,
          this.#timesCalls ? this.#clock.now() : 0,
          -1,
          0,
        );
      case "forced_open":
        return this.#reject("forced_open", this.#options.openDuration);
      case "open": {
        const now = this.#clock.now();
        const left = state.openedAt + state.openFor - now;
        if (left > 0) return this.#reject("open", left);
        return this.#acquireProbe(this.#halfOpen(state), now);
      }
      case "half_open":
        return this.#acquireProbe(state, this.#clock.now());
    }
  }

  /**
   * Runs `fn` if the circuit admits it, and records how it ended: a thrown error is a failure and a
   * returned value a success, unless `isFailure`/`isResultFailure` say otherwise. A call that fails
   * while `signal` is aborted was abandoned by its caller and is neutral.
   *
   * @throws {CircuitOpenError} (as a rejection) when the circuit does not admit the call.
   */
  execute<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, options?: ExecuteOptions): Promise<T> {
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const acquisition = this.tryAcquire();
    if (!acquisition.admitted) {
      return Promise.reject(new CircuitOpenError(this.name, acquisition.state, acquisition.retryAfterMs));
    }
    const permit = acquisition as CallPermit;
    const isFailure = options?.isFailure ?? this.#options.isFailure;
    const isResultFailure = options?.isResultFailure ?? this.#options.isResultFailure;
    let result: T | PromiseLike<T>;
    try {
      result = fn(signal ?? neverAbortedSignal);
    } catch (error) {
      if (signal?.aborted) this.#record(permit, "neutral");
      else this.#judge(permit, isFailure, error, "failure");
      return Promise.reject(error);
    }
    if (!isPromiseLike(result)) {
      this.#judge(permit, isResultFailure, result, "success");
      return Promise.resolve(result);
    }
    return Promise.resolve(result).then(
      (value) => {
        this.#judge(permit, isResultFailure, value, "success");
        return value;
      },
      (error: unknown) => {
        if (signal?.aborted) this.#record(permit, "neutral");
        else this.#judge(permit, isFailure, error, "failure");
        throw error;
      },
    );
  }

  /** A snapshot of state and counters; see {@link CircuitMetrics}. */
  metrics(): CircuitMetrics {
    const now = this.#clock.now();
    const state = this.#current(now);
    this.#window.advance(now);
    const calls = this.#window.calls;
    const failures = this.#window.failures;
    return {
      state: state.kind,
      totalRequests: calls,
      failedRequests: failures,
      successRate: calls === 0 ? 1 : (calls - failures) / calls,
      consecutiveFailures: this.#consecutiveFailures,
      rejectedRequests: this.#rejected,
      transitions: this.#transitions,
      retryAfterMs: state.kind === "open" ? wholeMs(state.openedAt + state.openFor - now) : null,
    };
  }

  /**
   * Calls `listener` on every state change, after the change has taken effect. A listener that throws
   * does not disturb the breaker: its error is reported asynchronously, as an EventTarget does.
   *
   * @returns a function that removes the listener.
   */
  onStateChange(listener: (change: StateChange) => void): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** Rejects every call until `reset()` or `disable()`. */
  forceOpen(): void {
    const now = this.#clock.now();
    if (this.#current(now).kind !== "forced_open") this.#transition(forcedOpen, "forced_open", now);
  }

  /** Admits every call and keeps counting, but never changes state, until `reset()` or `forceOpen()`. */
  disable(): void {
    const now = this.#clock.now();
    if (this.#current(now).kind !== "disabled") this.#transition(disabled, "disabled", now);
  }

  /** Back to closed with the window and failure counters cleared (the cumulative counters stay). */
  reset(): void {
    const now = this.#clock.now();
    this.#window.clear();
    this.#consecutiveFailures = 0;
    if (this.#current(now).kind !== "closed") this.#transition(closed, "reset", now);
    else this.#generation++; // calls admitted before the reset must not trip the cleared circuit
  }

  /** The state as of `now`: an open circuit whose time is up becomes half-open here, lazily. */
  #current(now: number): Inner {
    const state = this.#state;
    if (state.kind === "open" && now >= state.openedAt + state.openFor) return this.#halfOpen(state);
    return state;
  }

  #halfOpen(open: Extract<Inner, { kind: "open" }>): Extract<Inner, { kind: "half_open" }> {
    const next = {
      kind: "half_open",
      openFor: open.openFor,
      probes: new ProbeSlots(this.#options.halfOpenMaxConcurrent, this.#options.openDuration),
      successes: 0,
    } as const satisfies Inner;
    this.#transition(next, "open_duration_elapsed", open.openedAt + open.openFor);
    return next;
  }

  #acquireProbe(state: Extract<Inner, { kind: "half_open" }>, now: number): Acquisition {
    const slot = state.probes.take(now);
    if (slot < 0) return this.#reject("half_open", state.probes.nextFreeIn(now));
    return new CallPermit(this.#settle, this.#generation, now, slot, state.probes.ownerOf(slot));
  }

  #reject(state: CircuitState, waitMs: number): Rejection {
    this.#rejected++;
    return { admitted: false, state, retryAfterMs: wholeMs(waitMs) };
  }

  /** Settles `permit` as `verdictOf` judges `subject`; a verdict function that throws counts as a failure. */
  #judge(
    permit: CallPermit,
    verdictOf: ((subject: unknown) => Verdict) | undefined,
    subject: unknown,
    fallback: Outcome,
  ): void {
    if (verdictOf === undefined) {
      this.#record(permit, fallback);
      return;
    }
    let outcome: Outcome = "failure";
    try {
      const verdict = verdictOf(subject);
      outcome = verdict === "neutral" ? "neutral" : verdict ? "failure" : "success";
    } finally {
      this.#record(permit, outcome);
    }
  }

  #record(permit: CallPermit, outcome: Outcome): void {
    const state = this.#state;
    const current = permit.generation === this.#generation;
    // A probe gives its slot back whatever its outcome, neutral included.
    if (current && state.kind === "half_open" && permit.slot >= 0) {
      state.probes.release(permit.slot, permit.probeId);
    }
    if (outcome === "neutral") return;
    const now = this.#clock.now();
    const failed = outcome === "failure" || now - permit.startedAt > this.#options.slowCallDuration;
    this.#window.record(now, failed);
    if (!current) return; // admitted before the last state change: counted, but it cannot move the state

    switch (state.kind) {
      case "closed":
        if (!failed) {
          this.#consecutiveFailures = 0;
        } else if (++this.#consecutiveFailures >= this.#options.failureThreshold) {
          this.#open(now, this.#options.openDuration, "consecutive_failures");
        } else if (this.#rateExceeded()) {
          this.#open(now, this.#options.openDuration, "failure_rate");
        }
        return;
      case "half_open":
        if (now - permit.startedAt >= this.#options.openDuration) return; // outlived its slot: counted only
        if (failed) {
          this.#consecutiveFailures++;
          this.#open(now, Math.min(state.openFor * 2, this.#options.maxOpenDuration), "probe_failed");
        } else {
          this.#consecutiveFailures = 0;
          if (++state.successes >= this.#options.successThreshold) {
            this.#window.clear();
            this.#transition(closed, "probes_succeeded", now);
          }
        }
        return;
      case "disabled":
        this.#consecutiveFailures = failed ? this.#consecutiveFailures + 1 : 0;
        return;
      case "open":
      case "forced_open":
        return; // unreachable: these states admit no call of their own generation
    }
  }

  #rateExceeded(): boolean {
    const calls = this.#window.calls;
    return (
      calls >= this.#options.minimumRequests &&
      this.#window.failures / calls >= this.#options.failureRateThreshold
    );
  }

  #open(now: number, openFor: number, reason: TransitionReason): void {
    this.#transition({ kind: "open", openedAt: now, openFor }, reason, now);
  }

  #transition(next: Inner, reason: TransitionReason, at: number): void {
    const from = this.#state.kind;
    this.#state = next;
    this.#generation++;
    this.#transitions++;
    if (next.kind === "closed") this.#consecutiveFailures = 0;
    const listeners = this.#listeners;
    if (listeners.length === 0) return;
    const change: StateChange = { from, to: next.kind, reason, at };
    for (const listener of listeners) {
      try {
        listener(change);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/** Whole milliseconds, at least 1: a wait is never announced as zero. */
function wholeMs(ms: number): number {
  return Math.max(1, Math.ceil(ms));
}
