import type { Upstream } from "../proxy/Upstream.ts";
import type { ActivitySample, CircuitActivity, RecordedTransition } from "./CircuitActivity.ts";
import { type CircuitReport, circuitReport, type HealthStatus } from "./circuitReport.ts";

/** What the dashboard page polls: `/health`'s data plus in-flight requests, history and transitions. */
export interface DashboardState {
  readonly status: HealthStatus;
  /** "token": circuit control needs the admin token; "open": it does not (loopback, no token set). */
  readonly control: "token" | "open";
  readonly sampleSeconds: number;
  readonly upstreams: readonly (CircuitReport & {
    name: string;
    in_flight: number;
    history: readonly ActivitySample[];
    transitions: readonly RecordedTransition[];
  })[];
}

export function dashboardState(
  upstreams: readonly Upstream[],
  activity: CircuitActivity,
  tokenRequired: boolean,
): DashboardState {
  const report = circuitReport(upstreams);
  return {
    status: report.status,
    control: tokenRequired ? "token" : "open",
    sampleSeconds: activity.sampleMs / 1_000,
    upstreams: upstreams.map((u) => ({
      name: u.name,
      ...(report.circuit_breakers[u.name] as CircuitReport),
      in_flight: u.inFlight,
      history: activity.samples(u.name, Date.now()),
      transitions: activity.transitions(u.name),
    })),
  };
}
