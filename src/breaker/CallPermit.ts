import type { Outcome, Permit } from "./Acquisition.ts";
import type { FailureOptions } from "./FailureOptions.ts";

/** An outcome as the breaker records it: `rate_failure` is a failure that counts toward the rate only. */
export type RecordedOutcome = Outcome | "rate_failure";

/** How a permit reports its outcome to the breaker that issued it. */
export type SettleCall = (permit: CallPermit, outcome: RecordedOutcome) => void;

/**
 * The breaker's record of one admitted call: which generation of the state machine admitted it (a later
 * state change makes its outcome "late"), when, and which half-open probe slot it holds, if any.
 */
export class CallPermit implements Permit {
  readonly admitted = true;
  readonly generation: number;
  /** Clock reading at admission; 0 when the breaker had no need to read the clock. */
  readonly startedAt: number;
  /** Index of the half-open probe slot held, or -1. */
  readonly slot: number;
  /** Identity of the probe in its slot, so that a probe whose slot expired cannot free its successor's. */
  readonly probeId: number;
  #settle: SettleCall | undefined;

  constructor(settle: SettleCall, generation: number, startedAt: number, slot: number, probeId: number) {
    this.#settle = settle;
    this.generation = generation;
    this.startedAt = startedAt;
    this.slot = slot;
    this.probeId = probeId;
  }

  success(): void {
    this.#finish("success");
  }

  failure(options?: FailureOptions): void {
    this.#finish(options?.consecutive === false ? "rate_failure" : "failure");
  }

  neutral(): void {
    this.#finish("neutral");
  }

  #finish(outcome: RecordedOutcome): void {
    const settle = this.#settle;
    if (settle === undefined) return; // settled already: counted once, never twice
    this.#settle = undefined;
    settle(this, outcome);
  }
}
