/** What a health check found: healthy, or why not. */
export type CheckResult = { readonly healthy: true } | { readonly healthy: false; readonly problem: string };

/**
 * One health check of an upstream (SPEC §3.3), made by the upstream itself over its own transport
 * (`Upstream.healthCheck`); `signal` aborts it (its timeout, or the proxy closing).
 */
export type HealthCheck = (signal: AbortSignal) => Promise<CheckResult>;
