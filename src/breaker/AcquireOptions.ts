/** Options of one `CircuitBreaker.tryAcquire` call. */
export interface AcquireOptions {
  /**
   * The call is a probe of the service's health (a health check), not a caller's real call: it is
   * admitted in half-open even when `halfOpenProbesOnly` keeps ordinary calls out. Elsewhere it is an
   * ordinary call. Default `false`.
   */
  probe?: boolean;
}
