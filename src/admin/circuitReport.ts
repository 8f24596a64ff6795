import type { CircuitState } from "../index.ts";
import type { Upstream } from "../proxy/Upstream.ts";

/** One circuit as `/health` and `/circuits` show it (SPEC §2). */
export interface CircuitReport {
  state: CircuitState;
  success_rate: number;
  total_requests: number;
  failed_requests: number;
  consecutive_failures: number;
  rejected_requests: number;
  retry_after_ms: number | null;
}

export type HealthStatus = "healthy" | "degraded" | "unhealthy";

/** States in which a circuit lets (at least some) requests through. */
export function admits(state: CircuitState): boolean {
  return state === "closed" || state === "half_open" || state === "disabled";
}

/** healthy: every circuit closed; unhealthy: none admits; degraded: anything between. */
export function circuitReport(upstreams: readonly Upstream[]): {
  status: HealthStatus;
  circuit_breakers: Record<string, CircuitReport>;
} {
  const circuits: Record<string, CircuitReport> = {};
  let closed = 0;
  let admitting = 0;
  for (const upstream of upstreams) {
    const m = upstream.circuit.metrics();
    if (m.state === "closed") closed++;
    if (admits(m.state)) admitting++;
    circuits[upstream.name] = {
      state: m.state,
      success_rate: m.successRate,
      total_requests: m.totalRequests,
      failed_requests: m.failedRequests,
      consecutive_failures: m.consecutiveFailures,
      rejected_requests: m.rejectedRequests,
      retry_after_ms: m.retryAfterMs,
    };
  }
  const status = closed === upstreams.length ? "healthy" : admitting === 0 ? "unhealthy" : "degraded";
  return { status, circuit_breakers: circuits };
}
