/**
 * The states a circuit can be in. `closed`, `open` and `half_open` are the automatic cycle;
 * `forced_open` (rejects everything) and `disabled` (admits everything, still counts) are manual modes
 * left only by another manual call.
 */
export type CircuitState = "closed" | "open" | "half_open" | "forced_open" | "disabled";

/** Why a circuit changed state; part of every {@link StateChange} and of the proxy's audit log. */
export type TransitionReason =
  | "consecutive_failures"
  | "failure_rate"
  | "open_duration_elapsed"
  | "probe_failed"
  | "probes_succeeded"
  | "forced_open"
  | "disabled"
  | "reset"
  /** Opened or closed on another's word through `openFor`/`close`, e.g. another replica of a fleet. */
  | "fleet";

/** One state change, as handed to {@link CircuitBreaker.onStateChange} listeners. */
export interface StateChange {
  readonly from: CircuitState;
  readonly to: CircuitState;
  readonly reason: TransitionReason;
  /** Clock reading at which the change took effect (for a lazy open → half-open: when the time ran out). */
  readonly at: number;
  /**
   * Who caused the change when it was not this breaker's own judgement nor a plain local call: the
   * `origin` given to `openFor`, `close`, `forceOpen`, `disable` or `reset`. A fleet relays only the
   * changes without an origin of another replica, so that replicas do not echo each other.
   */
  readonly origin?: string;
}

/** Options of the calls that change state on someone's word (manual control, a fleet). */
export interface ChangeOptions {
  /** Recorded as the change's `origin`. */
  readonly origin?: string;
}
