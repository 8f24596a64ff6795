import { Counter, Gauge, type Registry } from "prom-client";
import type { AggregateServerView, AggregateView } from "./AggregateView.ts";

const listedStates: readonly AggregateServerView["listed"][] = ["current", "cached", "omitted"];
/** The kinds of list a client is told changed (`notifications/<kind>/list_changed`), counted from zero. */
const notifiedKinds = ["tools", "prompts", "resources"];

/**
 * The aggregate's metrics (SPEC §7.2): what each server has in the merged lists, read from the view at
 * each scrape (the gauges start empty each time, so a server the aggregate no longer has leaves no
 * series), and the merged lists' changes by kind. Registered when first needed: a config without
 * `[aggregate]` exports none of them.
 */
export class AggregateMetrics {
  #view: () => AggregateView | undefined = () => undefined;
  readonly #changes: Counter<"kind">;

  constructor(registry: Registry) {
    const servers = (): readonly AggregateServerView[] => this.#view()?.servers ?? [];
    new Gauge({
      name: "breakwater_aggregate_tools_listed",
      help: "Tools of each server that the aggregate's merged tools/list holds (its current or cached ones).",
      labelNames: ["server"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const server of servers()) this.set({ server: server.name }, server.tools);
      },
    });
    new Gauge({
      name: "breakwater_aggregate_listed",
      help: "How the aggregate lists each server: 1 for the current state (current: its fresh lists; cached: its last good ones, during grace; omitted), 0 for the others.",
      labelNames: ["server", "listed"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const server of servers()) {
          for (const listed of listedStates)
            this.set({ server: server.name, listed }, listed === server.listed ? 1 : 0);
        }
      },
    });
    this.#changes = new Counter({
      name: "breakwater_aggregate_list_changed_total",
      help: "Changes of the aggregate's merged lists told to its clients, by kind (tools, prompts, resources).",
      labelNames: ["kind"] as const,
      registers: [registry],
    });
    for (const kind of notifiedKinds) this.#changes.inc({ kind }, 0);
  }

  /** Reads `view` from the next scrape on (a second call replaces the first). */
  watch(view: () => AggregateView | undefined): void {
    this.#view = view;
  }

  /** Counts one change of the merged list of `kind`. */
  listChanged(kind: string): void {
    this.#changes.inc({ kind });
  }
}
