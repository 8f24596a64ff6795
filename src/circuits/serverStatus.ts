import type { CircuitState } from "../breaker/CircuitState.ts";

/** A server's status, from its upstreams' circuits (SPEC §7.1). */
export type ServerStatus = "healthy" | "degraded" | "unavailable";

/** States in which a circuit lets (at least some) requests through. */
export function admits(state: CircuitState): boolean {
  return state === "closed" || state === "half_open" || state === "disabled";
}

/**
 * healthy: every circuit closed; unavailable: none admits (a server without upstreams serves nothing);
 * degraded: anything between — some replica admits, but not all are closed. Pass the upstreams' own
 * circuits: a broken tool does not change its upstream's standing, whose other tools still answer.
 * Admin reports it, and the aggregate (SPEC §7.2) decides from it whether a server's tools are current.
 */
export function serverStatus(breakers: Iterable<{ readonly state: CircuitState }>): ServerStatus {
  let count = 0;
  let closed = 0;
  let admitting = 0;
  for (const { state } of breakers) {
    count++;
    if (state === "closed") closed++;
    if (admits(state)) admitting++;
  }
  if (admitting === 0) return "unavailable";
  return closed === count ? "healthy" : "degraded";
}
