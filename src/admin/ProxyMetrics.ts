import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { CircuitState, StateChange } from "../index.ts";
import type { Upstream } from "../proxy/Upstream.ts";
import type { ExchangeReport } from "../proxy/UpstreamExchange.ts";

const states: readonly CircuitState[] = ["closed", "open", "half_open", "forced_open", "disabled"];

/**
 * The Prometheus metrics of SPEC §2 (plus the process's own, prefixed `breakwater_`). Per-request work
 * is one counter increment and one histogram observation on pre-bound label children; circuit state
 * and rejections are read from the breakers when scraped, so a rejection costs the proxy nothing here.
 */
export class ProxyMetrics {
  readonly registry = new Registry();
  readonly #transitions: Counter<"upstream" | "from" | "to">;
  readonly #outcomes = new Map<string, Record<"success" | "failure" | "neutral", Counter.Internal>>();
  readonly #durations = new Map<string, Histogram.Internal<"upstream">>();

  constructor(upstreams: readonly Upstream[]) {
    collectDefaultMetrics({ register: this.registry, prefix: "breakwater_" });
    const requests = new Counter({
      name: "breakwater_upstream_requests_total",
      help: "Requests per upstream by outcome: success, failure, neutral, or rejected by its circuit.",
      labelNames: ["upstream", "outcome"] as const,
      registers: [this.registry],
      collect() {
        for (const upstream of upstreams) {
          const counted = rejectedSeen.get(upstream.name) ?? 0;
          const now = upstream.breaker.metrics().rejectedRequests;
          if (now > counted) this.inc({ upstream: upstream.name, outcome: "rejected" }, now - counted);
          rejectedSeen.set(upstream.name, now);
        }
      },
    });
    const rejectedSeen = new Map<string, number>();
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
        for (const upstream of upstreams) {
          const current = upstream.breaker.state;
          for (const state of states) this.set({ upstream: upstream.name, state }, state === current ? 1 : 0);
        }
      },
    });
    this.#transitions = new Counter({
      name: "breakwater_circuit_transitions_total",
      help: "Circuit state changes per upstream.",
      labelNames: ["upstream", "from", "to"] as const,
      registers: [this.registry],
    });
    for (const upstream of upstreams) {
      const name = upstream.name;
      this.#outcomes.set(name, {
        success: requests.labels({ upstream: name, outcome: "success" }),
        failure: requests.labels({ upstream: name, outcome: "failure" }),
        neutral: requests.labels({ upstream: name, outcome: "neutral" }),
      });
      this.#durations.set(name, duration.labels({ upstream: name }));
      requests.labels({ upstream: name, outcome: "rejected" }).inc(0);
    }
  }

  /** Counts one settled exchange. */
  exchange(report: ExchangeReport): void {
    this.#outcomes.get(report.upstream.name)?.[report.outcome].inc();
    if (report.seconds !== undefined) this.#durations.get(report.upstream.name)?.observe(report.seconds);
  }

  /** Counts one state change of `upstream`'s circuit. */
  transition(upstream: string, change: StateChange): void {
    this.#transitions.inc({ upstream, from: change.from, to: change.to });
  }
}
