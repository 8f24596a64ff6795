import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { CircuitState, Outcome } from "../index.ts";
import type { Circuit, CircuitRegistry } from "../proxy/CircuitRegistry.ts";
import type { ExchangeObserver, HeadReport, SettledReport } from "../proxy/Settlement.ts";

const states: readonly CircuitState[] = ["closed", "open", "half_open", "forced_open", "disabled"];

/**
 * The Prometheus metrics of SPEC §2 and §3.2 (plus the process's own, prefixed `breakwater_`). Per-request work
 * is one counter increment and one histogram observation on pre-bound label children; circuit state
 * and rejections are read from the breakers when scraped, so a rejection costs the proxy nothing here.
 * Circuits are watched as the registry makes them.
 */
export class ProxyMetrics implements ExchangeObserver {
  readonly registry = new Registry();
  readonly #outcomes = new Map<string, Record<Outcome | "overloaded", Counter.Internal>>();
  readonly #durations = new Map<string, Histogram.Internal<"upstream">>();
  readonly #checks: Counter<"upstream" | "result">;
  /** Tool circuits' outcome counters, by upstream and then tool. */
  readonly #toolOutcomes = new Map<string, Map<string, Record<Outcome, Counter.Internal>>>();

  constructor(circuits: CircuitRegistry) {
    collectDefaultMetrics({ register: this.registry, prefix: "breakwater_" });
    const upstreamCircuits = (): Circuit[] => [...circuits.all()].filter((c) => c.tool === undefined);
    const toolCircuits = (): Circuit[] => [...circuits.all()].filter((c) => c.tool !== undefined);
    const rejectedSeen = new Map<string, number>();
    const toolRejectedSeen = new Map<Circuit, number>();
    const requests = new Counter({
      name: "breakwater_upstream_requests_total",
      help: "Requests per upstream by outcome: success, failure, neutral, rejected by its circuit, or skipped at max_in_flight (overloaded).",
      labelNames: ["upstream", "outcome"] as const,
      registers: [this.registry],
      collect() {
        for (const { upstream, breaker } of upstreamCircuits()) {
          const counted = rejectedSeen.get(upstream) ?? 0;
          const now = breaker.metrics().rejectedRequests;
          if (now > counted) this.inc({ upstream, outcome: "rejected" }, now - counted);
          rejectedSeen.set(upstream, now);
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
        for (const circuit of toolCircuits()) {
          const counted = toolRejectedSeen.get(circuit) ?? 0;
          const now = circuit.breaker.metrics().rejectedRequests;
          const labels = { upstream: circuit.upstream, tool: circuit.tool as string, outcome: "rejected" };
          if (now > counted) this.inc(labels, now - counted);
          toolRejectedSeen.set(circuit, now);
        }
      },
    });
    new Gauge({
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
    circuits.onCreated(({ upstream, tool, breaker }) => {
      if (tool !== undefined) {
        const tools = this.#toolOutcomes.get(upstream) ?? new Map();
        this.#toolOutcomes.set(upstream, tools);
        tools.set(tool, {
          success: toolRequests.labels({ upstream, tool, outcome: "success" }),
          failure: toolRequests.labels({ upstream, tool, outcome: "failure" }),
          neutral: toolRequests.labels({ upstream, tool, outcome: "neutral" }),
        });
        return;
      }
      this.#outcomes.set(upstream, {
        success: requests.labels({ upstream, outcome: "success" }),
        failure: requests.labels({ upstream, outcome: "failure" }),
        neutral: requests.labels({ upstream, outcome: "neutral" }),
        overloaded: requests.labels({ upstream, outcome: "overloaded" }),
      });
      this.#durations.set(upstream, duration.labels({ upstream }));
      requests.labels({ upstream, outcome: "rejected" }).inc(0);
      breaker.onStateChange(({ from, to }) => transitions.inc({ upstream, from, to }));
    });
  }

  head(report: HeadReport): void {
    this.#durations.get(report.upstream.name)?.observe(report.seconds);
  }

  settled(report: SettledReport): void {
    const upstream = report.upstream.name;
    this.#outcomes.get(upstream)?.[report.outcome].inc();
    const tool = report.tool;
    if (tool !== undefined) this.#toolOutcomes.get(upstream)?.get(tool.name)?.[tool.outcome].inc();
  }

  /** Counts one health check of `upstream`. */
  healthCheck(upstream: string, healthy: boolean): void {
    this.#checks.inc({ upstream, result: healthy ? "healthy" : "unhealthy" });
  }

  /** Counts an upstream skipped at its `max_in_flight`. */
  overloaded(upstream: string): void {
    this.#outcomes.get(upstream)?.overloaded.inc();
  }
}
