/** How a failure counts: see {@link Permit.failure}. */
export interface FailureOptions {
  /**
   * `false`: the failure counts toward the failure rate of the sliding window only — it neither adds
   * to the consecutive-failure count nor resets it, so only the rate rule (which needs
   * `minimumRequests` calls in the window) can open the circuit on it. For a failure that may be one
   * caller's own doing rather than the service's: a tool's `isError` result, which a model's bad
   * arguments cause as readily as a broken backend. In half-open it still re-opens the circuit (a
   * probe that failed is no recovery), and a call slower than `slowCallDuration` is a full failure
   * whatever its answer. Default `true`.
   */
  readonly consecutive?: boolean;
}
