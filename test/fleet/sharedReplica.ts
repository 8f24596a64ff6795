import { randomBytes } from "node:crypto";
import type { StateChange } from "../../src/breaker/CircuitState.ts";
import { CircuitRegistry } from "../../src/circuits/CircuitRegistry.ts";
import { SharedCircuits } from "../../src/fleet/SharedCircuits.ts";
import type { CircuitBreakerOptions } from "../../src/index.ts";
import { systemTimers, type Timers } from "../../src/time/Timers.ts";
import { capturedLog } from "../support/capturedLog.ts";

export interface ReplicaOptions {
  readonly breaker?: CircuitBreakerOptions;
  /** The replica's clock and timers (its breakers' too); default the system's. */
  readonly timers?: Timers;
  readonly announceEveryMs?: number;
  /** Where its Redis is, when not the fleet's (e.g. through a relay a test can cut). */
  readonly url?: URL;
  /** The session keys it holds, when not the fleet's. */
  readonly keys?: readonly Buffer[];
  /** Whether it would make a circuit for `tool` (the upstream listed it); default any. */
  readonly knownTool?: (tool: string) => boolean;
}

/**
 * Replicas of one fleet of their own (a fresh key prefix and session keys) in this process, sharing
 * circuits through a real Redis: each with the upstream "api"'s circuit, and tools made on demand.
 */
export class TestFleet {
  static #count = 0;
  readonly name = `test${++TestFleet.#count}`;
  readonly keys = [randomBytes(32)];
  readonly #url: URL;
  readonly #replicas: SharedReplica[] = [];

  constructor(url: URL) {
    this.#url = url;
  }

  replica(options: ReplicaOptions = {}): SharedReplica {
    const replica = sharedReplica(options.url ?? this.#url, this.name, options.keys ?? this.keys, options);
    this.#replicas.push(replica);
    return replica;
  }

  async close(): Promise<void> {
    await Promise.all(this.#replicas.map((r) => r.shared.close()));
  }
}

export type SharedReplica = ReturnType<typeof sharedReplica>;

function sharedReplica(url: URL, name: string, keys: readonly Buffer[], options: ReplicaOptions) {
  const { logger: capturedLogger, lines } = capturedLog();
  const timers = options.timers ?? systemTimers;
  const breakerOptions = {
    failureThreshold: 1,
    openDuration: 60_000,
    successThreshold: 1,
    ...options.breaker,
    clock: timers,
  };
  const knownTool = options.knownTool ?? (() => true);
  const shared: SharedCircuits = new SharedCircuits({
    redisUrl: url,
    name,
    logger: capturedLogger,
    clock: timers,
    timers,
    sessionKeys: keys,
    ...(options.announceEveryMs === undefined ? {} : { announceEveryMs: options.announceEveryMs }),
    circuitFor: (upstream, tool) =>
      registry.get(upstream, tool) ??
      (tool === undefined || upstream !== "api" || !knownTool(tool)
        ? undefined
        : registry.create(upstream, breakerOptions, tool)),
  });
  const registry: CircuitRegistry = new CircuitRegistry({ probeGate: shared.probeGate.bind(shared) });
  const api = registry.create("api", breakerOptions).breaker;
  const changes: StateChange[] = [];
  api.onStateChange((change) => changes.push(change));
  shared.watch(registry);
  shared.start();
  const messages = () => lines.map((l) => String(l["msg"]));
  return { shared, registry, api, changes, lines, messages, link: shared.link, timers, breakerOptions };
}
