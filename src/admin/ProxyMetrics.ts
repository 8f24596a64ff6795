import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Outcome } from "../breaker/Acquisition.ts";
import type { CircuitState } from "../breaker/CircuitState.ts";
import type { Circuit, CircuitRegistry } from "../circuits/CircuitRegistry.ts";
import { type ServerStatus, serverStatus } from "../circuits/serverStatus.ts";
import type { ExchangeObserver, HeadReport, SettledReport } from "../exchange/Settlement.ts";
import type { Upstream } from "../upstreams/Upstream.ts";
import type { ServerView } from "./AdminServer.ts";
import { AggregateMetrics } from "./AggregateMetrics.ts";
import type { AggregateView } from "./AggregateView.ts";

const states: readonly CircuitState[] = ["closed", "open", "half_open", "forced_open", "disabled"];
const serverStatuses: readonly ServerStatus[] = ["healthy", "degraded", "unavailable"];
type Counted = Outcome | "overloaded" | "rejected";
const upstreamOutcomes: readonly Counted[] = ["success", "failure", "neutral", "overloaded", "rejected"];
const toolOutcomes: readonly Counted[] = ["success", "failure", "neutral", "rejected"];

/**
 * One circuit's outcomes, counted as plain numbers on the request path (a prom-client increment hashes
 * its labels each time) and published to the counter when it is scraped.
 */
class Tally {
  readonly counts: Record<Counted, number> = {
    success: 0,
    failure: 0,
    neutral: 0,
    overloaded: 0,
    rejected: 0,
  };
  readonly #published: Record<Counted, number> = { ...this.counts };
  /** Refusals of the proxy's own health checks: in the breaker's rejections, not clients' (SPEC §3.3). */
  checkRefusals = 0;

  /** Calls `inc` with what each of `outcomes` gained since the last call. */
  publish(outcomes: readonly Counted[], inc: (outcome: Counted, delta: number) => void): void {
    for (const outcome of outcomes) {
      const delta = this.counts[outcome] - this.#published[outcome];
      if (delta > 0) inc(outcome, delta);
      this.#published[outcome] = this.counts[outcome]; // a reset breaker counts its rejections anew
    }
  }
}

/**
 * The Prometheus metrics of SPEC §2 and §3.2 (plus the process's own, prefixed `breakwater_`).
 * Per-request work is a plain number incremented per circuit that heard the outcome, and one histogram
 * observation on a pre-bound label child; counts are published, and circuit state and rejections read
 * from the breakers, when scraped, so a rejection costs the proxy nothing here. Circuits are watched
 * as the registry makes them.
 */
export class ProxyMetrics implements ExchangeObserver {
  readonly registry = new Registry();
  readonly #outcomes = new Map<string, Tally>();
  readonly #durations = new Map<string, Histogram.Internal<"upstream">>();
  readonly #checks: Counter<"upstream" | "result">;
  readonly #exits: Counter<"upstream" | "reason">;
  /** Tool circuits' outcomes, by upstream and then tool. */
  readonly #toolOutcomes = new Map<string, Map<string, Tally>>();
  /** The aggregate's metrics, registered when it is first watched or its lists first change. */
  #aggregate: AggregateMetrics | undefined;

  constructor(circuits: CircuitRegistry) {
    collectDefaultMetrics({ register: this.registry, prefix: "breakwater_" });
    const upstreamCircuits = (): Circuit[] => [...circuits.all()].filter((c) => c.tool === undefined);
    const toolCircuits = (): Circuit[] => [...circuits.all()].filter((c) => c.tool !== undefined);
    const upstreamTallies = this.#outcomes;
    const toolTallies = this.#toolOutcomes;
    const requests = new Counter({
      name: "breakwater_upstream_requests_total",
      help: "Requests per upstream by outcome: success, failure, neutral, rejected by its circuit, or overloaded (skipped at max_in_flight, or a stdio upstream at max_processes).",
      labelNames: ["upstream", "outcome"] as const,
      registers: [this.registry],
      collect() {
        for (const { upstream, breaker } of upstreamCircuits()) {
          const tally = upstreamTallies.get(upstream);
          if (tally === undefined) continue;
          tally.counts.rejected = breaker.metrics().rejectedRequests - tally.checkRefusals;
          tally.publish(upstreamOutcomes, (outcome, delta) => this.inc({ upstream, outcome }, delta));
        }
      },
    });
    const duration = new Histogram({
      name: "breakwater_upstream_request_duration_seconds",
      help: "Time from sending a request upstream to its response headers.",
      labelNames: ["upstream"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    new Gauge({
      name: "breakwater_circuit_state",
      help: "Circuit state per upstream: 1 for the current state, 0 for the others.",
      labelNames: ["upstream", "state"] as const,
      registers: [this.registry],
      collect() {
        for (const { upstream, breaker } of upstreamCircuits()) {
          const current = breaker.state;
          for (const state of states) this.set({ upstream, state }, state === current ? 1 : 0);
        }
      },
    });
    const transitions = new Counter({
      name: "breakwater_circuit_transitions_total",
      help: "Circuit state changes per upstream.",
      labelNames: ["upstream", "from", "to"] as const,
      registers: [this.registry],
    });
    this.#exits = new Counter({
      name: "breakwater_stdio_exits_total",
      help: "Processes of stdio upstreams that ended, by reason: stopped (by Breakwater), exited (code 0), crashed.",
      labelNames: ["upstream", "reason"] as const,
      registers: [this.registry],
    });
    this.#checks = new Counter({
      name: "breakwater_health_checks_total",
      help: "Active health checks per upstream by result: healthy or unhealthy.",
      labelNames: ["upstream", "result"] as const,
      registers: [this.registry],
    });
    const toolRequests = new Counter({
      name: "breakwater_tool_requests_total",
      help: "Tool calls per upstream and tool by outcome for the tool's circuit: success, failure, neutral, rejected by it.",
      labelNames: ["upstream", "tool", "outcome"] as const,
      registers: [this.registry],
      collect() {
        for (const { upstream, tool, breaker } of toolCircuits()) {
          const tally = tool === undefined ? undefined : toolTallies.get(upstream)?.get(tool);
          if (tally === undefined || tool === undefined) continue;
          tally.counts.rejected = breaker.metrics().rejectedRequests;
          tally.publish(toolOutcomes, (outcome, delta) => this.inc({ upstream, tool, outcome }, delta));
        }
      },
    });
    const toolStates = new Gauge({
      name: "breakwater_tool_circuit_state",
      help: "Circuit state per tool of an upstream: 1 for the current state, 0 for the others.",
      labelNames: ["upstream", "tool", "state"] as const,
      registers: [this.registry],
      collect() {
        for (const { upstream, tool, breaker } of toolCircuits()) {
          const current = breaker.state;
          for (const state of states)
            this.set({ upstream, tool: tool as string, state }, state === current ? 1 : 0);
        }
      },
    });
    // a tool circuit dropped (to make room for a listed tool's, or by a reload) leaves no series behind
    circuits.onRemoved(({ upstream, tool }) => {
      if (tool === undefined) return;
      toolTallies.get(upstream)?.delete(tool);
      for (const outcome of toolOutcomes) toolRequests.remove({ upstream, tool, outcome });
      for (const state of states) toolStates.remove({ upstream, tool, state });
    });
    circuits.onCreated(({ upstream, tool, breaker }) => {
      if (tool !== undefined) {
        const tools = toolTallies.get(upstream) ?? new Map<string, Tally>();
        toolTallies.set(upstream, tools);
        tools.set(tool, new Tally());
        for (const outcome of toolOutcomes) toolRequests.inc({ upstream, tool, outcome }, 0);
        return undefined;
      }
      upstreamTallies.set(upstream, new Tally());
      this.#durations.set(upstream, duration.labels({ upstream }));
      for (const outcome of upstreamOutcomes) requests.inc({ upstream, outcome }, 0);
      return breaker.onStateChange(({ from, to }) => transitions.inc({ upstream, from, to }));
    });
  }

  head(report: HeadReport): void {
    this.#durations.get(report.upstream.name)?.observe(report.seconds);
  }

  settled(report: SettledReport): void {
    const upstream = report.upstream.name;
    const tally = this.#outcomes.get(upstream);
    if (tally !== undefined) tally.counts[report.overloaded === true ? "overloaded" : report.outcome]++;
    const tool = report.tool;
    const toolTally = tool === undefined ? undefined : this.#toolOutcomes.get(upstream)?.get(tool.name);
    if (toolTally !== undefined) toolTally.counts[(tool as { outcome: Outcome }).outcome]++;
  }

  /** Reports the live and busy processes of the upstreams that run them (stdio ones, SPEC §5). */
  watchProcesses(upstreams: () => readonly Upstream[]): void {
    new Gauge({
      name: "breakwater_stdio_processes",
      help: "Live processes of each stdio upstream.",
      labelNames: ["upstream"] as const,
      registers: [this.registry],
      collect() {
        for (const upstream of upstreams()) {
          if (upstream.processes !== undefined) this.set({ upstream: upstream.name }, upstream.processes);
        }
      },
    });
    new Gauge({
      name: "breakwater_stdio_processes_busy",
      help: "Processes of each stdio upstream that are starting, or have a call in flight or an open stream: at max_processes, only the others can be ended to make room.",
      labelNames: ["upstream"] as const,
      registers: [this.registry],
      collect() {
        for (const upstream of upstreams()) {
          const slots = upstream.processSlots;
          if (slots !== undefined) this.set({ upstream: upstream.name }, slots.busy);
        }
      },
    });
  }

  /**
   * `breakwater_server_status{server,status}` (SPEC §7.1), read from the servers' circuits when scraped.
   * The gauge starts empty at each scrape, so a server a reload removed leaves no series behind.
   */
  watchServers(servers: () => readonly ServerView[]): void {
    new Gauge({
      name: "breakwater_server_status",
      help: "Status per server, from its upstreams' circuits: 1 for the current status (healthy, degraded, unavailable), 0 for the others.",
      labelNames: ["server", "status"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const server of servers()) {
          const current = serverStatus(server.upstreams.map((u) => u.circuit));
          for (const status of serverStatuses)
            this.set({ server: server.name, status }, status === current ? 1 : 0);
        }
      },
    });
  }

  /**
   * `breakwater_aggregate_tools_listed{server}` and `breakwater_aggregate_listed{server,listed}`
   * (SPEC §7.2), read from `view` when scraped. Watching again replaces the view: nothing is registered
   * twice.
   */
  watchAggregate(view: () => AggregateView | undefined): void {
    this.#aggregateMetrics().watch(view);
  }

  /**
   * Counts a change of the aggregate's merged list of `kind` ("tools", "prompts", "resources"), once per
   * change, not per client told: `breakwater_aggregate_list_changed_total{kind}`.
   */
  aggregateListChanged(kind: string): void {
    this.#aggregateMetrics().listChanged(kind);
  }

  #aggregateMetrics(): AggregateMetrics {
    this.#aggregate ??= new AggregateMetrics(this.registry);
    return this.#aggregate;
  }

  /** `breakwater_fleet_connected`: whether the link to the fleet's Redis is up (SPEC §6.2). */
  watchFleet(link: { readonly connected: boolean; readonly rejected: ReadonlyMap<string, number> }): void {
    new Gauge({
      name: "breakwater_fleet_connected",
      help: "1 while circuits are shared with the fleet through Redis, 0 while this replica is on its own.",
      registers: [this.registry],
      collect() {
        this.set(link.connected ? 1 : 0);
      },
    });
    new Counter({
      name: "breakwater_fleet_messages_rejected_total",
      help: "Fleet messages (and kept decisions) ignored, by reason: unauthenticated, malformed, unknown_circuit.",
      labelNames: ["reason"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [reason, count] of link.rejected) this.inc({ reason }, count);
      },
    });
  }

  /** Counts a stdio process that ended: `stopped` by Breakwater, `exited` on its own, or `crashed`. */
  stdioExit(upstream: string, reason: string): void {
    this.#exits.inc({ upstream, reason });
  }

  /** Counts one health check of `upstream`. */
  healthCheck(upstream: string, healthy: boolean): void {
    this.#checks.inc({ upstream, result: healthy ? "healthy" : "unhealthy" });
  }

  /** A health check of `upstream` was refused by its circuit: not a client's rejection, so not counted. */
  healthCheckRefused(upstream: string): void {
    const tally = this.#outcomes.get(upstream);
    if (tally !== undefined) tally.checkRefusals++;
  }

  /** Counts an upstream skipped at its `max_in_flight`. */
  overloaded(upstream: string): void {
    const tally = this.#outcomes.get(upstream);
    if (tally !== undefined) tally.counts.overloaded++;
  }
}
