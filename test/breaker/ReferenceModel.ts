import type {
  CircuitMetrics,
  CircuitState,
  Outcome,
  StateChange,
  TransitionReason,
} from "../../src/index.ts";

/** The options the model understands: every numeric option of the breaker, all filled in. */
export interface ModelOptions {
  failureThreshold: number;
  failureRateThreshold: number;
  windowDuration: number;
  minimumRequests: number;
  openDuration: number;
  successThreshold: number;
  halfOpenMaxConcurrent: number;
  maxOpenDuration: number;
  slowCallDuration: number;
  /** Half-open admits only calls acquired as probes. */
  halfOpenProbesOnly: boolean;
}

/** A call's outcome as the model takes it: `rate_failure` is `failure({ consecutive: false })`. */
export type ModelOutcome = Outcome | "rate_failure";

export interface ModelCall {
  generation: number;
  startedAt: number;
  probe: boolean;
  settled: boolean;
}

export type ModelAcquisition =
  | { admitted: true; call: ModelCall }
  | { admitted: false; state: CircuitState; retryAfterMs: number };

/** What a listener does when told of a change to `on`: calls back into the breaker (or not). */
export interface Reaction {
  on: CircuitState;
  action: "forceOpen" | "disable" | "reset" | "none";
}

/**
 * SPEC §1 written as plainly as possible, to check the real breaker against: every call outcome is
 * kept in a list with its time bucket, the window is a filter over that list, probes are a list of
 * holders. Slow, and obviously right.
 *
 * A clock that steps back behind an opening starts the open time again from the reading that finds
 * it so; a probe taken "after" the current reading, like one past the open duration, holds no slot
 * that another probe may take — and once taken over, the slot is the new probe's for good. A listener's reaction to a change
 * runs as soon as the change has happened, and the changes are listed in the order they happened.
 */
export class ReferenceModel {
  readonly changes: StateChange[] = [];
  reaction: Reaction = { on: "closed", action: "none" };
  /** The reading of the operation in progress, for a listener's reaction to it. */
  #now = 0;
  /** The latest reading the window has moved to: a window never moves back when the clock does. */
  #windowAt: number;
  #state: CircuitState = "closed";
  #openedAt = 0;
  #openFor = 0;
  #generation = 0;
  #outcomes: { bucket: number; failed: boolean }[] = [];
  #consecutive = 0;
  #rejected = 0;
  #transitions = 0;
  /** The half-open probe slots in order, each with the probe that took it last. */
  #slots: ({ call: ModelCall; takenAt: number } | undefined)[] = [];
  #probeSuccesses = 0;
  readonly #o: ModelOptions;

  constructor(options: ModelOptions, start: number) {
    this.#o = options;
    this.#windowAt = start;
  }

  state(now: number): CircuitState {
    this.#now = now;
    if (this.#state === "open" && now < this.#openedAt) this.#openedAt = now;
    if (this.#state === "open" && now >= this.#openedAt + this.#openFor) {
      this.#slots = [];
      this.#probeSuccesses = 0;
      this.#change("half_open", "open_duration_elapsed", this.#openedAt + this.#openFor);
    }
    return this.#state;
  }

  /** `asProbe`: acquired as a probe (`tryAcquire({ probe: true })`). */
  acquire(now: number, asProbe = false): ModelAcquisition {
    const state = this.state(now);
    const admit = (probe: boolean): ModelAcquisition => {
      const call = { generation: this.#generation, startedAt: now, probe, settled: false };
      return { admitted: true, call };
    };
    if (state === "closed" || state === "disabled") return admit(false);
    if (state === "forced_open") return this.#reject(state, this.#o.openDuration);
    if (state === "open") return this.#reject(state, this.#openedAt + this.#openFor - now);
    if (this.#o.halfOpenProbesOnly && !asProbe)
      return this.#reject(state, Math.min(1_000, this.#o.openDuration));
    const holds = (p: { call: ModelCall; takenAt: number } | undefined) =>
      p !== undefined && !p.call.settled && now - p.takenAt < this.#o.openDuration && now >= p.takenAt;
    for (let slot = 0; slot < this.#o.halfOpenMaxConcurrent; slot++) {
      if (holds(this.#slots[slot])) continue;
      const admitted = admit(true);
      if (admitted.admitted) this.#slots[slot] = { call: admitted.call, takenAt: now };
      return admitted;
    }
    const takenAt = this.#slots.map((p) => (p as { takenAt: number }).takenAt);
    return this.#reject(state, Math.min(...takenAt) + this.#o.openDuration - now);
  }

  settle(call: ModelCall, outcome: ModelOutcome, now: number): void {
    this.#now = now;
    if (call.settled) return;
    call.settled = true;
    if (outcome === "neutral") return;
    if (call.generation !== this.#generation) return; // late: evidence about a state that is gone
    const slow = now - call.startedAt > this.#o.slowCallDuration;
    const failed = outcome !== "success" || slow;
    // a rate-only failure is invisible to the consecutive count, unless it was slow
    const counted = outcome === "failure" || slow;
    this.#windowAt = Math.max(this.#windowAt, now);
    this.#outcomes.push({ bucket: this.#bucket(this.#windowAt), failed });
    if (this.#state === "closed") {
      if (!failed) this.#consecutive = 0;
      else if (counted) this.#consecutive++;
      if (!failed) return;
      const { calls, failures } = this.#window();
      if (counted && this.#consecutive >= this.#o.failureThreshold)
        this.#open(now, this.#o.openDuration, "consecutive_failures");
      else if (calls >= this.#o.minimumRequests && failures / calls >= this.#o.failureRateThreshold) {
        this.#open(now, this.#o.openDuration, "failure_rate");
      }
    } else if (this.#state === "half_open") {
      if (now - call.startedAt >= this.#o.openDuration) return;
      if (failed) {
        if (counted) this.#consecutive++;
        this.#open(now, Math.min(this.#openFor * 2, this.#o.maxOpenDuration), "probe_failed");
      } else {
        this.#consecutive = 0;
        this.#probeSuccesses++;
        if (this.#probeSuccesses >= this.#o.successThreshold) {
          this.#outcomes = [];
          this.#change("closed", "probes_succeeded", now);
        }
      }
    } else if (this.#state === "disabled") {
      if (!failed) this.#consecutive = 0;
      else if (counted) this.#consecutive++;
    }
  }

  forceOpen(now: number): void {
    if (this.state(now) !== "forced_open") this.#change("forced_open", "forced_open", now);
  }

  disable(now: number): void {
    if (this.state(now) !== "disabled") this.#change("disabled", "disabled", now);
  }

  reset(now: number): void {
    this.#outcomes = [];
    this.#consecutive = 0;
    if (this.state(now) !== "closed") this.#change("closed", "reset", now);
    else this.#generation++;
  }

  openFor(now: number, ms: number): void {
    const state = this.state(now);
    if (state === "forced_open" || state === "disabled") return;
    if (state !== "open") this.#open(now, ms, "fleet");
    else if (now + ms > this.#openedAt + this.#openFor) {
      this.#openedAt = now;
      this.#openFor = ms;
    }
  }

  close(now: number): void {
    const state = this.state(now);
    if (state !== "open" && state !== "half_open") return;
    this.#outcomes = [];
    this.#change("closed", "fleet", now);
  }

  metrics(now: number): CircuitMetrics {
    const state = this.state(now);
    this.#windowAt = Math.max(this.#windowAt, now);
    const { calls, failures } = this.#window();
    return {
      state,
      totalRequests: calls,
      failedRequests: failures,
      successRate: calls === 0 ? 1 : (calls - failures) / calls,
      consecutiveFailures: this.#consecutive,
      rejectedRequests: this.#rejected,
      transitions: this.#transitions,
      retryAfterMs: state === "open" ? Math.max(1, Math.ceil(this.#openedAt + this.#openFor - now)) : null,
    };
  }

  #bucket(time: number): number {
    return Math.floor(time / (this.#o.windowDuration / 10));
  }

  /** The outcomes of the window's current bucket and the nine before it. */
  #window(): { calls: number; failures: number } {
    const recent = this.#outcomes.filter((o) => o.bucket > this.#bucket(this.#windowAt) - 10);
    return { calls: recent.length, failures: recent.filter((o) => o.failed).length };
  }

  #reject(state: CircuitState, waitMs: number): ModelAcquisition {
    this.#rejected++;
    return { admitted: false, state, retryAfterMs: Math.max(1, Math.ceil(waitMs)) };
  }

  #open(now: number, openFor: number, reason: TransitionReason): void {
    this.#openedAt = now;
    this.#openFor = openFor;
    this.#change("open", reason, now);
  }

  #change(to: CircuitState, reason: TransitionReason, at: number): void {
    this.changes.push({ from: this.#state, to, reason, at });
    this.#state = to;
    this.#generation++;
    this.#transitions++;
    if (to === "closed") {
      this.#consecutive = 0;
      this.#openFor = 0;
    }
    if (to === this.reaction.on && this.reaction.action !== "none") this[this.reaction.action](this.#now);
  }
}
