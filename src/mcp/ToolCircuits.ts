import type { CircuitState } from "../breaker/CircuitState.ts";
import type { Clock } from "../breaker/Clock.ts";
import type { Circuit, CircuitRegistry } from "../circuits/CircuitRegistry.ts";
import type { ToolCircuitConfig } from "../config/Config.ts";
import type { ToolCatalog } from "./ToolCatalog.ts";
import { isToolName, maxToolNameLength } from "./toolName.ts";

/** States an operator set, which only an operator undoes: such a circuit is never dropped. */
const held: ReadonlySet<CircuitState> = new Set<CircuitState>(["forced_open", "disabled"]);

/**
 * The circuits of each upstream's tools (SPEC §3.2), made in the registry the first time a tool is
 * called, so that whatever watches circuits (metrics, the audit log, the dashboard, a fleet) sees them
 * too. Only a tool the upstream has shown exists gets one — listed in a `tools/list` answer, or
 * answered with a result (its {@link ToolCatalog}) — never a name a client made up: a call of a tool
 * without a circuit is guarded by its upstream's circuit alone (the server refuses a tool it does not
 * have). An operator may make one for any tool name (SEP-986), listed or not.
 *
 * At most `max_tools` per upstream, and listed tools find room: the catalogue lists at most as many,
 * and when the upstream is full, a listed tool's circuit (or the operator's) takes the place of the
 * oldest circuit of a tool that is not listed (any more), preferring a closed one — never one the
 * operator holds (forced open or disabled): only circuits an operator holds can leave a listed tool
 * without one. A tool known only from an answer gets a circuit only while there is room.
 */
export class ToolCircuits {
  readonly #registry: CircuitRegistry;
  readonly #configs: ReadonlyMap<string, ToolCircuitConfig>;
  readonly #catalogs: ReadonlyMap<string, ToolCatalog>;
  readonly #clock: Clock | undefined;

  /** `configs` and `catalogs`: by upstream name; an upstream without a catalogue has no tool circuits. */
  constructor(
    registry: CircuitRegistry,
    configs: ReadonlyMap<string, ToolCircuitConfig>,
    catalogs: ReadonlyMap<string, ToolCatalog>,
    clock?: Clock,
  ) {
    this.#registry = registry;
    this.#configs = configs;
    this.#catalogs = catalogs;
    this.#clock = clock;
  }

  /** The tools `upstream` has shown; undefined when it has no tool circuits (`enabled = false`). */
  catalogOf(upstream: string): ToolCatalog | undefined {
    return this.#configs.get(upstream)?.enabled === true ? this.#catalogs.get(upstream) : undefined;
  }

  /**
   * The circuit of `tool` at `upstream`, made on first use for a tool the upstream has shown; undefined
   * when it has none (tool circuits off, a tool not shown, or no room).
   */
  circuitFor(upstream: string, tool: string): Circuit | undefined {
    if (tool.length > maxToolNameLength) return undefined; // no circuit has such a name: not even a key is made
    const existing = this.#registry.get(upstream, tool);
    if (existing !== undefined) return existing;
    const catalog = this.catalogOf(upstream);
    if (catalog === undefined || !catalog.knows(tool)) return undefined;
    return this.#make(upstream, tool, catalog, catalog.lists(tool));
  }

  /**
   * The circuit of `tool` at `upstream` for the operator's control: made, if need be, for any tool name
   * (SEP-986) whether or not the upstream has shown it yet. Undefined when `tool` is no tool name, tool
   * circuits are off, or every circuit of the upstream is a listed tool's or held by the operator.
   */
  forOperator(upstream: string, tool: string): Circuit | undefined {
    if (!isToolName(tool)) return undefined;
    const existing = this.#registry.get(upstream, tool);
    if (existing !== undefined) return existing;
    const catalog = this.catalogOf(upstream);
    if (catalog === undefined) return undefined;
    return this.#make(upstream, tool, catalog, true);
  }

  /** Makes the circuit, within `max_tools`; `mayDisplace`: in the place of one of an unlisted tool. */
  #make(upstream: string, tool: string, catalog: ToolCatalog, mayDisplace: boolean): Circuit | undefined {
    const config = this.#configs.get(upstream) as ToolCircuitConfig;
    if (this.#registry.toolCount(upstream) >= config.maxTools) {
      const spare = mayDisplace ? this.#displaceable(upstream, catalog) : undefined;
      if (spare === undefined) return undefined;
      this.#registry.removeTool(upstream, spare);
    }
    const clock = this.#clock === undefined ? {} : { clock: this.#clock };
    return this.#registry.create(
      upstream,
      { ...config.breaker, name: `${upstream}/${tool}`, ...clock },
      tool,
    );
  }

  /** The oldest circuit of a tool `catalog` does not list and the operator does not hold; a closed one first. */
  #displaceable(upstream: string, catalog: ToolCatalog): string | undefined {
    let fallback: string | undefined;
    for (const { tool, breaker } of this.#registry.toolsOf(upstream)) {
      if (tool === undefined || catalog.lists(tool)) continue;
      const state = breaker.state;
      if (state === "closed") return tool;
      if (fallback === undefined && !held.has(state)) fallback = tool;
    }
    return fallback;
  }
}
