import type { Logger } from "pino";
import type { CircuitBreaker } from "../breaker/CircuitBreaker.ts";
import type { StateChange } from "../breaker/CircuitState.ts";
import type { Clock } from "../breaker/Clock.ts";
import type { Circuit, CircuitRegistry } from "../circuits/CircuitRegistry.ts";
import { systemTimers, type Timer, type Timers } from "../time/Timers.ts";
import { FleetLink } from "./FleetLink.ts";
import type { CircuitDecision } from "./fleetMessages.ts";
import { ProbeLease } from "./ProbeLease.ts";

export interface SharedCircuitsOptions {
  readonly redisUrl: URL;
  readonly name: string;
  readonly logger: Logger;
  readonly clock: Clock;
  /** The fleet's session keys: they authenticate its messages; none, and circuits stay local. */
  readonly sessionKeys: readonly Buffer[];
  /** How often this replica says it is alive (and checks that Redis answers); default 5 s. */
  readonly announceEveryMs?: number;
  /** The timers waking circuits whose open time ends, and the link's; default the system's. */
  readonly timers?: Timers;
  /**
   * Finds (or makes: a tool this replica has not seen called) the circuit a decision names; undefined
   * for one it has not and will not make (an unknown upstream, a tool the upstream has not listed).
   */
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

/** What the fleet keeps of one circuit of this replica's, made with it by the registry. */
interface Shared {
  readonly lease: ProbeLease;
  /** Its `maxOpenDuration`: no other replica's word holds it open longer. */
  readonly maxOpenMs: number;
}

/**
 * Circuits shared by the replicas of a fleet through Redis (SPEC §6.2). A replica's own decisions —
 * opened (with the time it stays open), closed by its probes, or changed by an operator — are published
 * on the fleet's channel and applied by the others with the sender as the change's `origin`, so that
 * they are not told back. What lasts (an open time, a manual mode) is also kept in Redis, for a
 * replica that starts, or finds Redis again, while it holds. A decision not told (the link was down)
 * is told when the link is back; one that lasts is told again then. Half-open probes take a
 * fleet-wide {@link ProbeLease}. Sliding windows stay each replica's own. What other replicas say is
 * held to this replica's own limits. Nothing here is on the request path.
 */
export class SharedCircuits {
  readonly link: FleetLink;
  readonly #o: SharedCircuitsOptions;
  readonly #timers: Timers;
  readonly #shared = new Map<string, Shared>();
  /**
   * The circuits whose state now is this replica's own decision: one that lasts, told again after a
   * time apart; a closing or reset, until it has reached Redis.
   */
  readonly #ownDecisions = new Map<string, { circuit: Circuit; change: StateChange }>();
  readonly #prefix: string;
  #registry: CircuitRegistry | undefined;

  constructor(options: SharedCircuitsOptions) {
    this.#o = options;
    this.#timers = options.timers ?? systemTimers;
    this.#prefix = options.name;
    this.link = new FleetLink({
      url: options.redisUrl,
      name: options.name,
      logger: options.logger,
      sessionKeys: options.sessionKeys,
      timers: this.#timers,
      onDecision: (decision) => this.#apply(decision),
      onConnected: () => void this.#catchUp(),
      ...(options.announceEveryMs === undefined ? {} : { announceEveryMs: options.announceEveryMs }),
    });
  }

  /** The `probeGate` of a circuit, for the registry to make it with (a `ProbeGateFactory`). */
  probeGate(
    upstream: string,
    tool: string | undefined,
    openDurationMs: number,
    maxOpenDurationMs: number,
  ): () => boolean {
    const key = `${this.#prefix}:lease:${circuitId(upstream, tool)}`;
    const lease = new ProbeLease(this.link, key, openDurationMs, this.#o.clock);
    this.#shared.set(circuitId(upstream, tool), { lease, maxOpenMs: maxOpenDurationMs });
    return lease.admits;
  }

  /** Shares every circuit of `registry`, those made later included. */
  watch(registry: CircuitRegistry): void {
    this.#registry = registry;
    registry.onCreated((circuit) => {
      const id = circuitId(circuit.upstream, circuit.tool);
      const openEnds: { timer?: Timer } = {};
      return circuit.breaker.onStateChange((change) => {
        const lease = this.#shared.get(id)?.lease;
        this.#timers.clearTimeout(openEnds.timer);
        if (change.to === "half_open") lease?.ask();
        else lease?.release();
        // ask for the lease when the open time ends, so the first probe need not wait for it
        if (change.to === "open" && lease !== undefined) this.#askWhenOpenEnds(circuit.breaker, openEnds);
        if (change.origin !== undefined || decisionOf(change) === undefined) {
          this.#ownDecisions.delete(id);
          return;
        }
        this.#ownDecisions.set(id, { circuit, change });
        this.#tellOwn(id, circuit, change);
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
  #askWhenOpenEnds(breaker: CircuitBreaker, openEnds: { timer?: Timer }): void {
    const left = breaker.metrics().retryAfterMs;
    if (left === null) return;
    openEnds.timer = this.#timers.setTimeout(() => {
      // reading the state makes it half-open when the time is up; still open, it was made longer
      if (breaker.state === "open") this.#askWhenOpenEnds(breaker, openEnds);
    }, left);
  }

  /**
   * Tells this replica's own decision; a closing or a reset that reached Redis is done with, while one
   * that did not (the link is down) waits for the link to be back.
   */
  #tellOwn(id: string, circuit: Circuit, change: StateChange): void {
    void this.#tell(circuit, change).then((told) => {
      if (told && change.to === "closed" && this.#ownDecisions.get(id)?.change === change)
        this.#ownDecisions.delete(id);
    });
  }

  /** @returns whether Redis took both the message and the record of it. */
  async #tell(circuit: Circuit, change: StateChange): Promise<boolean> {
    const kind = decisionOf(change);
    if (kind === undefined) return true;
    const { upstream, tool } = circuit;
    const names = tool === undefined ? { upstream } : { upstream, tool };
    const key = `${this.#prefix}:circuit:${circuitId(upstream, tool)}`;
    const from = this.link.replica;
    if (kind === "open") {
      const ms = circuit.breaker.metrics().retryAfterMs ?? 1;
      const decision = { kind, ms, ...names, from };
      const told = await Promise.all([this.link.publish(decision), this.link.remember(key, decision, ms)]);
      return told.every(Boolean);
    }
    const decision = { kind, ...names, from };
    const lasting = kind === "forced_open" || kind === "disabled";
    const told = await Promise.all([
      this.link.publish(decision),
      // a closing or reset clears what was kept, so that replicas joining later do not take it on
      lasting ? this.link.remember(key, decision, undefined) : this.link.forget(key),
    ]);
    return told.every(Boolean);
  }

  /** Applies another replica's decision, held to this replica's own limits for the circuit. */
  #apply(decision: CircuitDecision): void {
    const circuit = this.#o.circuitFor(decision.upstream, decision.tool);
    const limits = this.#shared.get(circuitId(decision.upstream, decision.tool));
    if (circuit === undefined || limits === undefined) {
      // an upstream this replica does not have (a config being rolled out), or a tool it will not make
      this.link.countRejected("unknown_circuit");
      return;
    }
    const breaker = circuit.breaker;
    const origin = decision.from;
    switch (decision.kind) {
      case "open":
        breaker.openFor(Math.min(decision.ms, limits.maxOpenMs), { origin });
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
      for (const { decision, ms } of await this.link.recall(`${this.#prefix}:circuit:`)) {
        this.#apply(decision.kind === "open" && ms !== undefined ? { ...decision, ms } : decision);
      }
      for (const [id, { circuit, change }] of this.#ownDecisions) {
        // a circuit a reload has since removed or made anew is no longer this replica's to tell of
        if (this.#registry?.get(circuit.upstream, circuit.tool) !== circuit) this.#ownDecisions.delete(id);
        else if (circuit.breaker.state === change.to) this.#tellOwn(id, circuit, change);
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
