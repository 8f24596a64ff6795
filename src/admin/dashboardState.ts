import type { CircuitRegistry } from "../circuits/CircuitRegistry.ts";
import type { ServerStatus } from "../circuits/serverStatus.ts";
import type { Upstream } from "../upstreams/Upstream.ts";
import type { FleetStatus, ServerView } from "./AdminServer.ts";
import type { AggregateView } from "./AggregateView.ts";
import { type AggregateState, aggregateState } from "./aggregateReport.ts";
import type { ActivitySample, CircuitActivity, RecordedTransition } from "./CircuitActivity.ts";
import {
  type CircuitReport,
  circuitReport,
  type HealthStatus,
  serverSummary,
  type UpstreamReport,
} from "./circuitReport.ts";

/** What the dashboard page polls: `/health`'s data plus in-flight requests, history and transitions. */
export interface DashboardState {
  readonly status: HealthStatus;
  /** "token": circuit control needs the admin token; "open": it does not (loopback, no token set). */
  readonly control: "token" | "open";
  readonly sampleSeconds: number;
  /** The link to the fleet's Redis (SPEC §6.2); null without `fleet.redis_url`. */
  readonly fleet: { readonly connected: boolean; readonly replicas_seen: number } | null;
  /** The servers in config order (SPEC §7.1), each naming its upstreams: the page groups cards by them. */
  readonly servers: readonly {
    readonly name: string;
    readonly status: ServerStatus;
    readonly upstreams: readonly string[];
  }[];
  /** What the aggregate lists of each server, in config order (SPEC §7.2); null without `[aggregate]`. */
  readonly aggregate: AggregateState | null;
  readonly upstreams: readonly (CircuitReport & {
    name: string;
    /** The tool circuits that are not closed (SPEC §3.2: open and half-open ones at least). */
    tools: readonly (CircuitReport & { name: string })[];
    in_flight: number;
    /** Live processes of a stdio upstream; null for a url one. */
    processes: number | null;
    history: readonly ActivitySample[];
    transitions: readonly RecordedTransition[];
  })[];
}

export function dashboardState(
  upstreams: readonly Upstream[],
  servers: readonly ServerView[],
  circuits: CircuitRegistry,
  activity: CircuitActivity,
  tokenRequired: boolean,
  { fleet, aggregate }: { fleet?: FleetStatus | undefined; aggregate?: AggregateView | undefined } = {},
): DashboardState {
  const report = circuitReport(upstreams, circuits);
  return {
    status: report.status,
    control: tokenRequired ? "token" : "open",
    sampleSeconds: activity.sampleMs / 1_000,
    fleet: fleet === undefined ? null : { connected: fleet.connected, replicas_seen: fleet.replicasSeen() },
    servers: servers.map((server) => ({ name: server.name, ...serverSummary(server) })),
    aggregate: aggregate === undefined ? null : aggregateState(aggregate),
    upstreams: upstreams.map((u) => {
      const { tools, ...own } = report.circuit_breakers[u.name] as UpstreamReport;
      return {
        name: u.name,
        ...own,
        tools: Object.entries(tools)
          .filter(([, t]) => t.state !== "closed")
          .map(([name, t]) => ({ name, ...t })),
        in_flight: u.inFlight,
        processes: u.processes ?? null,
        history: activity.samples(u.name, Date.now()),
        transitions: activity.transitions(u.name),
      };
    }),
  };
}
