import type { ToolCircuitConfig } from "../config/Config.ts";
import type { Clock } from "../index.ts";
import type { Circuit, CircuitRegistry } from "../proxy/CircuitRegistry.ts";

/**
 * The circuits of each upstream's tools (SPEC §3.2), made in the registry the first time a tool is
 * called, so that whatever watches circuits (metrics, the audit log, the dashboard) sees them too. At
 * most `max_tools` per upstream: a client cannot grow the proxy's memory by inventing tool names, and
 * calls to tools beyond the bound are guarded by the upstream's circuit alone.
 */
export class ToolCircuits {
  readonly #registry: CircuitRegistry;
  readonly #configs: ReadonlyMap<string, ToolCircuitConfig>;
  readonly #clock: Clock | undefined;

  /** `configs`: by upstream name. */
  constructor(registry: CircuitRegistry, configs: ReadonlyMap<string, ToolCircuitConfig>, clock?: Clock) {
    this.#registry = registry;
    this.#configs = configs;
    this.#clock = clock;
  }

  /** The circuit of `tool` at `upstream`, made on first use; undefined when it has none (off, or full). */
  circuitFor(upstream: string, tool: string): Circuit | undefined {
    const existing = this.#registry.get(upstream, tool);
    if (existing !== undefined) return existing;
    const config = this.#configs.get(upstream);
    if (config === undefined || !config.enabled) return undefined;
    if (this.#registry.toolCount(upstream) >= config.maxTools) return undefined;
    const clock = this.#clock === undefined ? {} : { clock: this.#clock };
    return this.#registry.create(
      upstream,
      { ...config.breaker, name: `${upstream}/${tool}`, ...clock },
      tool,
    );
  }
}
