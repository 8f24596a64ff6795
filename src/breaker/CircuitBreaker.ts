import type { AcquireOptions } from "./AcquireOptions.ts";
import type { Acquisition, Rejection } from "./Acquisition.ts";
import { CallPermit, type RecordedOutcome, type SettleCall } from "./CallPermit.ts";
import { ChangeNotifier, type StateChangeListener } from "./ChangeNotifier.ts";
import type { CircuitBreakerOptions } from "./CircuitBreakerOptions.ts";
import type { CircuitMetrics } from "./CircuitMetrics.ts";
import { CircuitOpenError } from "./CircuitOpenError.ts";
import type { ChangeOptions, CircuitState, StateChange, TransitionReason } from "./CircuitState.ts";
import type { Clock } from "./Clock.ts";
import type { ExecuteOptions } from "./ExecuteOptions.ts";
import { ProbeSlots } from "./ProbeSlots.ts";
import { type ResolvedOptions, resolveOptions } from "./resolveOptions.ts";
import { runWithPermit } from "./runWithPermit.ts";
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
  readonly #notifier = new ChangeNotifier();

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
    if (this.#state.kind === "open") this.#current(this.#clock.now());
    return this.#state.kind;
  }

  /**
   * Asks to make one call. Never throws: answers a {@link Permit} to settle with the call's outcome, or
   * a {@link Rejection} with the time to wait. With `halfOpenProbesOnly`, half-open admits only calls
   * acquired with `{ probe: true }`.
   */
  tryAcquire(options?: AcquireOptions): Acquisition {
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
        if (left > 0) return this.#reject("open", left > state.openFor ? this.#reanchor(state, now) : left);
        const halfOpen = this.#halfOpen(state);
        // a listener told of the change may have changed the state again: answer from the state as it is
        return this.#state === halfOpen
          ? this.#acquireProbe(halfOpen, now, options?.probe === true)
          : this.tryAcquire(options);
      }
      case "half_open":
        return this.#acquireProbe(state, this.#clock.now(), options?.probe === true);
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
    const acquisition = this.tryAcquire(options);
    if (!acquisition.admitted) {
      return Promise.reject(new CircuitOpenError(this.name, acquisition.state, acquisition.retryAfterMs));
    }
    const isFailure = options?.isFailure ?? this.#options.isFailure;
    const isResultFailure = options?.isResultFailure ?? this.#options.isResultFailure;
    return runWithPermit(acquisition, fn, signal, isFailure, isResultFailure);
  }

  /** A snapshot of state and counters; see {@link CircuitMetrics}. */
  metrics(): CircuitMetrics {
    const now = this.#clock.now();
    this.#current(now);
    const state = this.#state;
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
   * Calls `listener` on every state change, after the change has taken effect, in the order the
   * changes happened — also when a listener changes the state again (that change is told once every
   * listener has heard of the one before). A listener that throws does not disturb the breaker: its
   * error is reported asynchronously, as an EventTarget does.
   *
   * @returns a function that removes the listener.
   */
  onStateChange(listener: StateChangeListener): () => void {
    return this.#notifier.add(listener);
  }

  /** Rejects every call until `reset()` or `disable()`. */
  forceOpen(options?: ChangeOptions): void {
    const now = this.#clock.now();
    this.#current(now);
    if (this.#state.kind !== "forced_open") this.#transition(forcedOpen, "forced_open", now, options);
  }

  /** Admits every call and keeps counting, but never changes state, until `reset()` or `forceOpen()`. */
  disable(options?: ChangeOptions): void {
    const now = this.#clock.now();
    this.#current(now);
    if (this.#state.kind !== "disabled") this.#transition(disabled, "disabled", now, options);
  }

  /** Back to closed with the window and failure counters cleared (the cumulative counters stay). */
  reset(options?: ChangeOptions): void {
    const now = this.#clock.now();
    this.#window.clear();
    this.#consecutiveFailures = 0;
    this.#current(now);
    if (this.#state.kind !== "closed") this.#transition(closed, "reset", now, options);
    else this.#generation++; // calls admitted before the reset must not trip the cleared circuit
  }

  /**
   * Opens the circuit for `durationMs` on another's word (reason `fleet` unless given): e.g. another
   * replica found the upstream dead. A circuit already open stays open until the later of its own end
   * and this one, without a new change. The manual modes are left alone.
   *
   * @returns whether the state changed.
   * @throws {RangeError} when `durationMs` is not a finite number > 0.
   */
  openFor(durationMs: number, options?: ChangeOptions & { reason?: TransitionReason }): boolean {
    if (!(Number.isFinite(durationMs) && durationMs > 0)) {
      throw new RangeError(`breakwater: openFor needs a finite duration > 0 ms, got ${durationMs}`);
    }
    const now = this.#clock.now();
    this.#current(now);
    const state = this.#state;
    if (state.kind === "forced_open" || state.kind === "disabled") return false;
    if (state.kind === "open") {
      if (now + durationMs > state.openedAt + state.openFor) {
        this.#state = { kind: "open", openedAt: now, openFor: durationMs };
      }
      return false;
    }
    this.#open(now, durationMs, options?.reason ?? "fleet", options);
    return true;
  }

  /**
   * Closes an open or half-open circuit on another's word (reason `fleet`), with the window cleared as
   * when its own probes succeed: e.g. another replica's probes found the upstream well again. A closed
   * circuit and the manual modes are left alone.
   *
   * @returns whether the state changed.
   */
  close(options?: ChangeOptions): boolean {
    const now = this.#clock.now();
    this.#current(now);
    const kind = this.#state.kind;
    if (kind !== "open" && kind !== "half_open") return false;
    this.#window.clear();
    this.#transition(closed, "fleet", now, options);
    return true;
  }

  /** The state as of `now`: an open circuit whose time is up becomes half-open here, lazily. */
  #current(now: number): Inner {
    const state = this.#state;
    if (state.kind !== "open") return state;
    if (now >= state.openedAt + state.openFor) return this.#halfOpen(state);
    if (now < state.openedAt) this.#reanchor(state, now);
    return this.#state;
  }

  /**
   * The clock stepped back behind the opening (set back by hand, a wall clock corrected): the open
   * time starts again from `now` rather than lasting as long as the step. So a step back lengthens a
   * wait by at most the wait itself, never by the step (an hour's step no longer means an hour open).
   *
   * @returns the time left, the whole open time.
   */
  #reanchor(state: Extract<Inner, { kind: "open" }>, now: number): number {
    this.#state = { kind: "open", openedAt: now, openFor: state.openFor };
    return state.openFor;
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

  #acquireProbe(state: Extract<Inner, { kind: "half_open" }>, now: number, probe: boolean): Acquisition {
    // the prober will answer soon: the hint only keeps a caller from asking in a tight loop
    if (!probe && this.#options.halfOpenProbesOnly)
      return this.#reject("half_open", Math.min(1_000, this.#options.openDuration));
    const probes = state.probes;
    const slot = probes.take(now);
    if (slot < 0) return this.#reject("half_open", probes.nextFreeIn(now));
    const gate = this.#options.probeGate;
    if (gate !== undefined && !gate()) {
      probes.release(slot, probes.ownerOf(slot));
      // the gate will be asked again: the hint only keeps a caller from asking in a tight loop
      return this.#reject("half_open", Math.min(1_000, this.#options.openDuration));
    }
    return new CallPermit(this.#settle, this.#generation, now, slot, probes.ownerOf(slot));
  }

  #reject(state: CircuitState, waitMs: number): Rejection {
    this.#rejected++;
    return { admitted: false, state, retryAfterMs: wholeMs(waitMs) };
  }

  #record(permit: CallPermit, outcome: RecordedOutcome): void {
    const state = this.#state;
    const current = permit.generation === this.#generation;
    // A probe gives its slot back whatever its outcome, neutral included.
    if (current && state.kind === "half_open" && permit.slot >= 0) {
      state.probes.release(permit.slot, permit.probeId);
    }
    // Admitted before the last state change: a late outcome is evidence about a state that is gone,
    // so it stays out of the window too, where it could tip a fresh circuit's failure rate.
    if (outcome === "neutral" || !current) return;
    const now = this.#clock.now();
    const slow = now - permit.startedAt > this.#options.slowCallDuration;
    const failed = outcome !== "success" || slow;
    this.#window.record(now, failed);
    // A rate-only failure (FailureOptions) is no evidence either way for the consecutive rule: it
    // neither adds to the count nor resets it. Slowness is the service's own: a slow one is a failure.
    const consecutive = outcome === "failure" || slow;

    switch (state.kind) {
      case "closed":
        if (!failed) {
          this.#consecutiveFailures = 0;
        } else if (consecutive && ++this.#consecutiveFailures >= this.#options.failureThreshold) {
          this.#open(now, this.#options.openDuration, "consecutive_failures");
        } else if (this.#rateExceeded()) {
          this.#open(now, this.#options.openDuration, "failure_rate");
        }
        return;
      case "half_open":
        if (now - permit.startedAt >= this.#options.openDuration) return; // outlived its slot: counted only
        // a probe that failed, even at the rate only, is no sign of recovery: the circuit opens again
        if (failed) {
          if (consecutive) this.#consecutiveFailures++;
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
        if (!failed) this.#consecutiveFailures = 0;
        else if (consecutive) this.#consecutiveFailures++;
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

  #open(now: number, openFor: number, reason: TransitionReason, options?: ChangeOptions): void {
    this.#transition({ kind: "open", openedAt: now, openFor }, reason, now, options);
  }

  #transition(next: Inner, reason: TransitionReason, at: number, options?: ChangeOptions): void {
    const from = this.#state.kind;
    this.#state = next;
    this.#generation++;
    this.#transitions++;
    if (next.kind === "closed") this.#consecutiveFailures = 0;
    if (!this.#notifier.listened) return;
    const origin = options?.origin;
    const change: StateChange =
      origin === undefined
        ? { from, to: next.kind, reason, at }
        : { from, to: next.kind, reason, at, origin };
    this.#notifier.notify(change);
  }
}

/** Whole milliseconds, at least 1: a wait is never announced as zero. */
function wholeMs(ms: number): number {
  return Math.max(1, Math.ceil(ms));
}
