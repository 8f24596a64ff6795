import type { CircuitBreaker } from "../breaker/CircuitBreaker.ts";
import type { CircuitState } from "../breaker/CircuitState.ts";
import type { CircuitRegistry } from "../circuits/CircuitRegistry.ts";
import { admits, type ServerStatus, serverStatus } from "../circuits/serverStatus.ts";
import type { Upstream } from "../upstreams/Upstream.ts";
import type { ServerView } from "./AdminServer.ts";

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

/** An upstream's circuit, with its tools' circuits (SPEC §3.2). */
export type UpstreamReport = CircuitReport & { tools: Record<string, CircuitReport> };

export type HealthStatus = "healthy" | "degraded" | "unhealthy";

/** A server as `/health` and `/circuits` show it (SPEC §7.1): its status and its upstreams' names. */
export interface ServerReport {
  status: ServerStatus;
  upstreams: string[];
}

/**
 * healthy: every upstream's circuit closed; unhealthy: none admits; degraded: anything between. Tool
 * circuits are listed under their upstream but do not change the status: an upstream with a broken
 * tool still serves its others.
 */
export function circuitReport(
  upstreams: readonly Upstream[],
  circuits: CircuitRegistry,
): {
  status: HealthStatus;
  circuit_breakers: Record<string, UpstreamReport>;
} {
  // Names come from configs and from clients (a tool may be called `__proto__`): the reports are made
  // with Object.fromEntries, which defines own properties, never by assignment, which would set the
  // prototype instead and leave the circuit out of the JSON.
  const reports: [string, UpstreamReport][] = [];
  let closed = 0;
  let admitting = 0;
  for (const upstream of upstreams) {
    const report = breakerReport(upstream.circuit);
    if (report.state === "closed") closed++;
    if (admits(report.state)) admitting++;
    const tools: [string, CircuitReport][] = [];
    for (const { tool, breaker } of circuits.toolsOf(upstream.name))
      tools.push([tool as string, breakerReport(breaker)]);
    reports.push([upstream.name, { ...report, tools: Object.fromEntries(tools) }]);
  }
  const status = closed === upstreams.length ? "healthy" : admitting === 0 ? "unhealthy" : "degraded";
  return { status, circuit_breakers: Object.fromEntries(reports) };
}

/** Each server's report, by name, in config order. */
export function serverReport(servers: readonly ServerView[]): Record<string, ServerReport> {
  // own properties, whatever the name (see circuitReport)
  return Object.fromEntries(servers.map((server) => [server.name, serverSummary(server)]));
}

/** A server's status, from its upstreams' own circuits, and their names. */
export function serverSummary(server: ServerView): ServerReport {
  return {
    status: serverStatus(server.upstreams.map((u) => u.circuit)),
    upstreams: server.upstreams.map((u) => u.name),
  };
}

export function breakerReport(breaker: CircuitBreaker): CircuitReport {
  const m = breaker.metrics();
  return {
    state: m.state,
    success_rate: m.successRate,
    total_requests: m.totalRequests,
    failed_requests: m.failedRequests,
    consecutive_failures: m.consecutiveFailures,
    rejected_requests: m.rejectedRequests,
    retry_after_ms: m.retryAfterMs,
  };
}
