import { CircuitBreaker } from "../breaker/CircuitBreaker.ts";
import type { CircuitBreakerOptions } from "../breaker/CircuitBreakerOptions.ts";

/** One circuit of the proxy: an upstream's own, or one of its tools' (SPEC §3.2). */
export interface Circuit {
  readonly upstream: string;
  /** The tool whose calls it guards; undefined for the upstream's own circuit. */
  readonly tool: string | undefined;
  readonly breaker: CircuitBreaker;
}

/**
 * Told of a circuit as it is made. What it returns, if a function, undoes what it attached to the
 * circuit (its state-change listeners): called when the circuit is removed or replaced, so that a
 * circuit a reload let go no longer logs, counts or publishes under the name a new one has.
 */
export type CircuitListener = (circuit: Circuit) => undefined | (() => void);

/** Makes the `probeGate` of a circuit about to be made: a fleet's probe lease (SPEC §6.2). */
export type ProbeGateFactory = (
  upstream: string,
  tool: string | undefined,
  openDurationMs: number,
  /** The longest the circuit may stay open: a fleet holds others' openings to it. */
  maxOpenDurationMs: number,
) => () => boolean;

/** The library's default open time, for a gate made for options that leave it unset. */
const defaultOpenDurationMs = 30_000;

/**
 * Every circuit of the proxy, keyed by upstream (and tool). Whatever watches circuits — metrics, the
 * audit log, the dashboard's history, a fleet — subscribes to `onCreated` once instead of being wired
 * to each breaker by hand, so circuits made later (a tool seen for the first time) are watched too.
 */
export class CircuitRegistry {
  readonly #circuits = new Map<string, Circuit>();
  /** Each upstream's tool circuits, by tool name, in the order they were made. */
  readonly #tools = new Map<string, Map<string, Circuit>>();
  #listeners: readonly CircuitListener[] = [];
  #removedListeners: readonly ((circuit: Circuit) => void)[] = [];
  readonly #probeGate: ProbeGateFactory | undefined;
  /** What each listener attached to each circuit, undone when the circuit goes. */
  readonly #detach = new Map<Circuit, (() => void)[]>();
  /** Circuits made by `prepare` and not yet added: their probe gates (a fleet's lease) are made on `add`. */
  readonly #unarmed = new WeakMap<Circuit, () => void>();

  constructor(options?: { readonly probeGate?: ProbeGateFactory | undefined }) {
    this.#probeGate = options?.probeGate;
  }

  /**
   * Calls `listener` for every circuit made from now on, and at once for those made already.
   *
   * @returns a function that removes the listener.
   */
  onCreated(listener: CircuitListener): () => void {
    this.#listeners = [...this.#listeners, listener];
    for (const circuit of this.#circuits.values()) this.#tell(listener, circuit);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /**
   * Calls `listener` for every circuit removed from now on (a reload, or a tool circuit dropped to make
   * room for another): whatever keeps something per circuit lets go of it.
   *
   * @returns a function that removes the listener.
   */
  onRemoved(listener: (circuit: Circuit) => void): () => void {
    this.#removedListeners = [...this.#removedListeners, listener];
    return () => {
      this.#removedListeners = this.#removedListeners.filter((l) => l !== listener);
    };
  }

  /**
   * Makes the circuit of `upstream` (or of its `tool`) with `options`.
   *
   * @throws {Error} when that circuit exists already.
   */
  create(upstream: string, options: CircuitBreakerOptions, tool?: string): Circuit {
    return this.add(this.prepare(upstream, options, tool));
  }

  /**
   * Makes the circuit of `upstream` (or of its `tool`) without adding it: nobody is told of it and its
   * probe gate is not made yet, so a reload can build everything first and `add` it when nothing can fail.
   *
   * @throws {RangeError|TypeError} for invalid breaker options.
   */
  prepare(upstream: string, options: CircuitBreakerOptions, tool?: string): Circuit {
    const factory = this.#probeGate;
    if (factory === undefined) return { upstream, tool, breaker: new CircuitBreaker(options) };
    let gate: (() => boolean) | undefined;
    const breaker = new CircuitBreaker({ ...options, probeGate: () => gate?.() ?? false });
    const circuit: Circuit = { upstream, tool, breaker };
    this.#unarmed.set(circuit, () => {
      const openMs = options.openDuration ?? defaultOpenDurationMs;
      gate = factory(upstream, tool, openMs, options.maxOpenDuration ?? openMs);
    });
    return circuit;
  }

  /**
   * Adds a circuit made by `prepare`, and tells the listeners.
   *
   * @throws {Error} when a circuit of that key exists already.
   */
  add(circuit: Circuit): Circuit {
    const { upstream, tool } = circuit;
    const key = keyOf(upstream, tool);
    if (this.#circuits.has(key)) throw new Error(`circuit ${key} exists already`);
    this.#unarmed.get(circuit)?.();
    this.#unarmed.delete(circuit);
    this.#circuits.set(key, circuit);
    if (tool !== undefined) {
      const tools = this.#tools.get(upstream) ?? new Map<string, Circuit>();
      this.#tools.set(upstream, tools);
      tools.set(tool, circuit);
    }
    for (const listener of this.#listeners) this.#tell(listener, circuit);
    return circuit;
  }

  #tell(listener: CircuitListener, circuit: Circuit): void {
    const detach = listener(circuit);
    if (detach === undefined) return;
    const list = this.#detach.get(circuit);
    if (list === undefined) this.#detach.set(circuit, [detach]);
    else list.push(detach);
  }

  /** Forgets the circuit of `key`, undoing what listeners attached to it. */
  #forget(key: string): void {
    const circuit = this.#circuits.get(key);
    if (circuit === undefined) return;
    this.#circuits.delete(key);
    for (const detach of this.#detach.get(circuit) ?? []) detach();
    this.#detach.delete(circuit);
    for (const listener of this.#removedListeners) listener(circuit);
  }

  /**
   * Forgets the circuits of `upstream`'s tools, and unless `toolsOnly`, its own too: a reload removed the
   * upstream, or changed the options its circuits were made with. Watchers stop seeing them, and what
   * they attached to them is undone: a removed circuit that still changes state (a request in flight
   * settling on it) is not logged, counted or published.
   */
  remove(upstream: string, { toolsOnly = false } = {}): void {
    for (const tool of [...(this.#tools.get(upstream)?.keys() ?? [])]) this.removeTool(upstream, tool);
    this.#tools.delete(upstream);
    if (!toolsOnly) this.#forget(keyOf(upstream, undefined));
  }

  /** Forgets the circuit of `upstream`'s `tool`, if it has one. */
  removeTool(upstream: string, tool: string): void {
    this.#tools.get(upstream)?.delete(tool);
    this.#forget(keyOf(upstream, tool));
  }

  get(upstream: string, tool?: string): Circuit | undefined {
    return this.#circuits.get(keyOf(upstream, tool));
  }

  all(): IterableIterator<Circuit> {
    return this.#circuits.values();
  }

  toolCount(upstream: string): number {
    return this.#tools.get(upstream)?.size ?? 0;
  }

  /** The tool circuits of `upstream`, in the order they were made. */
  toolsOf(upstream: string): Iterable<Circuit> {
    return this.#tools.get(upstream)?.values() ?? [];
  }
}

/** Upstream names are unique and a tool's key has a separator no upstream key has (NUL). */
function keyOf(upstream: string, tool: string | undefined): string {
  return tool === undefined ? upstream : `${upstream}\u0000${tool}`;
}
