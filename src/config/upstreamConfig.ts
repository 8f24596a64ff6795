import type { CircuitBreakerOptions } from "../breaker/CircuitBreakerOptions.ts";
import type { EffectiveBreakerSection } from "./breakerDefaults.ts";
import type { UpstreamConfig } from "./Config.ts";
import type { EffectiveUpstream } from "./completeConfig.ts";
import { failureStatusMatcher } from "./failureStatuses.ts";
import type { UpstreamTls } from "./tlsFiles.ts";

/**
 * An upstream's table, validated and completed, made into what the proxy runs on: durations in ms,
 * breaker options for its circuit and its tools', its transport (a url, or a command: SPEC §5).
 */
export function toUpstream(
  upstream: EffectiveUpstream,
  tls: UpstreamTls,
  maxInFlight: number,
): UpstreamConfig {
  const check = upstream.health_check;
  const tools = upstream.tool_circuit;
  return {
    name: upstream.name,
    url: upstream.url === undefined ? undefined : new URL(upstream.url),
    stdio:
      upstream.command === undefined
        ? undefined
        : {
            command: upstream.command as [string, ...string[]],
            cwd: upstream.cwd,
            env: upstream.env ?? {},
            maxProcesses: upstream.max_processes ?? 16,
            idleTimeoutMs: (upstream.idle_timeout_secs ?? 600) * 1_000,
          },
    // with health checks, only they probe a recovering upstream: no client is risked (SPEC §3.3)
    breaker: {
      ...breakerOptions(upstream.name, upstream.circuit_breaker),
      halfOpenProbesOnly: check.kind !== "none",
    },
    isFailureStatus: failureStatusMatcher(upstream.circuit_breaker.failure_statuses),
    tls,
    maxInFlight,
    toolCircuit: {
      enabled: tools.enabled,
      maxTools: tools.max_tools,
      breaker: breakerOptions(upstream.name, tools),
    },
    healthCheck: {
      kind: check.kind,
      intervalMs: check.interval_secs * 1_000,
      timeoutMs: check.timeout_ms,
      path: check.path,
    },
  };
}

function breakerOptions(name: string, s: EffectiveBreakerSection): CircuitBreakerOptions {
  return {
    name,
    failureThreshold: s.failure_threshold,
    failureRateThreshold: s.failure_rate_threshold,
    windowDuration: s.window_duration_secs * 1_000,
    minimumRequests: s.minimum_requests,
    openDuration: s.timeout_duration_secs * 1_000,
    successThreshold: s.success_threshold,
    halfOpenMaxConcurrent: s.half_open_max_requests,
    ...(s.max_timeout_duration_secs === undefined
      ? {}
      : { maxOpenDuration: s.max_timeout_duration_secs * 1_000 }),
    ...(s.slow_call_duration_ms === undefined ? {} : { slowCallDuration: s.slow_call_duration_ms }),
  };
}
