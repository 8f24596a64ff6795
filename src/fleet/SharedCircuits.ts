import type { Logger } from "pino";
import type { CircuitBreaker } from "../breaker/CircuitBreaker.ts";
import type { StateChange } from "../breaker/CircuitState.ts";
import type { Clock } from "../breaker/Clock.ts";
import type { Circuit, CircuitRegistry } from "../proxy/CircuitRegistry.ts";
import { FleetLink } from "./FleetLink.ts";
import { type CircuitDecision, parseFleetMessage } from "./fleetMessages.ts";
import { ProbeLease } from "./ProbeLease.ts";

export interface SharedCircuitsOptions {
  readonly redisUrl: URL;
  readonly name: string;
  readonly logger: Logger;
  readonly clock: Clock;
  /** How often this replica says it is alive (and checks that Redis answers); default 5 s. */
  readonly announceEveryMs?: number;
  /** Finds (or makes: a tool this replica has not seen called) the circuit a decision names. */
  readonly circuitFor: (upstream: string, tool: string | undefined) => Circuit | undefined;
}

/** The local changes the fleet hears of, as the decision each one tells (SPEC §6.2). */
function decisionOf(change: StateChange): CircuitDecision["kind"] | undefined {
  switch (change.to) {
    case "closed":
      return change.reason === "reset" ? "reset" : "close";
    case "half_open":
      return undefined; // each replica's own open time ends on its own
    default:
      return change.to;
  }
}

/**
 * Circuits shared by the replicas of a fleet through Redis (SPEC §6.2). A replica's own decisions —
 * opened (with the time it stays open), closed by its probes, or changed by an operator — are published
 * on the fleet's channel and applied by the others with the sender as the change's `origin`, so that
 * they are not told back. What lasts (an open time, a manual mode) is also kept in Redis, for a
 * replica that starts, or finds Redis again, while it holds. Half-open probes take a fleet-wide
 * {@link ProbeLease}. Sliding windows stay each replica's own. Nothing here is on the request path.
 */
export class SharedCircuits {
  readonly link: FleetLink;
  readonly #o: SharedCircuitsOptions;
  readonly #leases = new Map<string, ProbeLease>();
  /** The circuits whose state now is this replica's own decision: told again after a time apart. */
  readonly #ownDecisions = new Map<string, { circuit: Circuit; change: StateChange }>();
  readonly #prefix: string;
  #registry: CircuitRegistry | undefined;

  constructor(options: SharedCircuitsOptions) {
    this.#o = options;
    this.#prefix = options.name;
    this.link = new FleetLink({
      url: options.redisUrl,
      name: options.name,
      logger: options.logger,
      onDecision: (decision) => this.#apply(decision),
      onConnected: () => void this.#catchUp(),
      ...(options.announceEveryMs === undefined ? {} : { announceEveryMs: options.announceEveryMs }),
    });
  }

  /** The `probeGate` of a circuit, for the registry to make it with. */
  probeGate(upstream: string, tool: string | undefined, openDurationMs: number): () => boolean {
    const lease = new ProbeLease(
      this.link,
      `${this.#prefix}:lease:${circuitId(upstream, tool)}`,
      openDurationMs,
      this.#o.clock,
    );
    this.#leases.set(circuitId(upstream, tool), lease);
    return lease.admits;
  }

  /** Shares every circuit of `registry`, those made later included. */
  watch(registry: CircuitRegistry): void {
    this.#registry = registry;
    registry.onCreated((circuit) => {
      const id = circuitId(circuit.upstream, circuit.tool);
      const openEnds: { timer?: NodeJS.Timeout } = {};
      return circuit.breaker.onStateChange((change) => {
        const lease = this.#leases.get(id);
        clearTimeout(openEnds.timer);
        if (change.to === "half_open") lease?.ask();
        else lease?.release();
        // ask for the lease when the open time ends, so the first probe need not wait for it
        if (change.to === "open" && lease !== undefined) this.#askWhenOpenEnds(circuit.breaker, openEnds);
        if (change.origin === undefined) this.#tell(circuit, change);
        if (change.origin === undefined && change.to !== "closed")
          this.#ownDecisions.set(id, { circuit, change });
        else this.#ownDecisions.delete(id);
      });
    });
  }

  start(): void {
    this.link.start();
  }

  close(): Promise<void> {
    return this.link.close();
  }

  /** Wakes when `breaker`'s open time ends: the change to half-open then asks for the lease. */
  #askWhenOpenEnds(breaker: CircuitBreaker, openEnds: { timer?: NodeJS.Timeout }): void {
    const left = breaker.metrics().retryAfterMs;
    if (left === null) return;
    openEnds.timer = setTimeout(() => {
      // reading the state makes it half-open when the time is up; still open, it was made longer
      if (breaker.state === "open") this.#askWhenOpenEnds(breaker, openEnds);
    }, left);
    openEnds.timer.unref();
  }

  #tell(circuit: Circuit, change: StateChange): void {
    const kind = decisionOf(change);
    if (kind === undefined) return;
    const { upstream, tool } = circuit;
    const names = tool === undefined ? { upstream } : { upstream, tool };
    const key = `${this.#prefix}:circuit:${circuitId(upstream, tool)}`;
    if (kind === "open") {
      const ms = circuit.breaker.metrics().retryAfterMs ?? 1;
      const decision = { kind, ms, ...names, from: this.link.replica };
      this.link.publish(decision);
      this.link.remember(key, JSON.stringify(decision), ms);
      return;
    }
    const decision = { kind, ...names, from: this.link.replica };
    this.link.publish(decision);
    if (kind === "forced_open" || kind === "disabled")
      this.link.remember(key, JSON.stringify(decision), undefined);
    else this.link.forget(key);
  }

  #apply(decision: CircuitDecision): void {
    const circuit = this.#o.circuitFor(decision.upstream, decision.tool);
    if (circuit === undefined) return; // an upstream this replica does not have (a config being rolled out)
    const breaker = circuit.breaker;
    const origin = decision.from;
    switch (decision.kind) {
      case "open":
        breaker.openFor(decision.ms, { origin });
        return;
      case "close":
        breaker.close({ origin });
        return;
      case "forced_open":
        breaker.forceOpen({ origin });
        return;
      case "disabled":
        breaker.disable({ origin });
        return;
      case "reset":
        breaker.reset({ origin });
        return;
    }
  }

  /** On (re)connection: takes on the decisions that still hold, and tells those made while apart. */
  async #catchUp(): Promise<void> {
    try {
      for (const { value, ms } of await this.link.recall(`${this.#prefix}:circuit:`)) {
        const decision = parseFleetMessage(value);
        if (
          decision === undefined ||
          decision.kind === "hello" ||
          decision.kind === "bye" ||
          decision.from === this.link.replica
        )
          continue;
        this.#apply(decision.kind === "open" && ms !== undefined ? { ...decision, ms } : decision);
      }
      for (const [id, { circuit, change }] of this.#ownDecisions) {
        // a circuit a reload has since removed or made anew is no longer this replica's to tell of
        if (this.#registry?.get(circuit.upstream, circuit.tool) !== circuit) this.#ownDecisions.delete(id);
        else if (circuit.breaker.state === change.to) this.#tell(circuit, change);
      }
    } catch {
      // the link failed again; the next connection catches up
    }
  }
}

/** A circuit's name in Redis keys: its upstream, and tool, each escaped. */
function circuitId(upstream: string, tool: string | undefined): string {
  const id = encodeURIComponent(upstream);
  return tool === undefined ? id : `${id}/tools/${encodeURIComponent(tool)}`;
}
