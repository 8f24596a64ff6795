import type { Logger } from "pino";
import type { AggregateServerView, AggregateView } from "../admin/AggregateView.ts";
import type { CircuitRegistry } from "../circuits/CircuitRegistry.ts";
import type { AggregateConfig } from "../config/Config.ts";
import type { McpEra } from "../health/discoverEra.ts";
import type { ServerPool } from "../proxy/ServerPool.ts";
import { systemTimers, type Timers } from "../time/Timers.ts";
import { NameSplitter, prefixUri } from "./AggregateNames.ts";
import { ChangeTeller } from "./ChangeTeller.ts";
import type { AggregateLists, ListAnswer, ListKind, Named, PoolClient } from "./contracts.ts";
import { MergedList } from "./MergedList.ts";
import { ServerContact } from "./ServerContact.ts";
import { listKinds, ServerLists } from "./ServerLists.ts";
import { ServerWatch } from "./ServerWatch.ts";

export interface AggregateOptions {
  /** Breakwater's own client of the pools. */
  readonly poolClient: PoolClient;
  /** The circuits of the upstreams: a server whose circuits all open is unavailable, one that closes is back. */
  readonly circuits: CircuitRegistry;
  readonly timers?: Timers | undefined;
  readonly logger: Logger;
  /** Each change told to clients, per kind (metrics). */
  readonly onListChanged?: ((kind: ListKind) => void) | undefined;
  /** In [0, 1): the watches' backoff jitter (tests fix it). */
  readonly random?: (() => number) | undefined;
}

/** One aggregated server: Breakwater's contact with it, its lists and its watch. */
interface Member {
  readonly contact: ServerContact;
  readonly lists: ServerLists;
  readonly watch: ServerWatch;
}

/**
 * The aggregate's lists (SPEC §7.2): per server its lists and watch, merged per kind in config order,
 * told to clients when the merged list really changes. Long-lived: it survives reloads, and
 * `reconfigure` follows the pools in force — kept servers keep their lists and watches, removed ones
 * leave the lists, new ones start watching.
 */
export class Aggregate implements AggregateLists {
  readonly #poolClient: PoolClient;
  readonly #timers: Timers;
  readonly #logger: Logger;
  readonly #random: (() => number) | undefined;
  readonly #teller: ChangeTeller;
  #config: AggregateConfig | undefined;
  #members = new Map<string, Member>();
  /** The servers' lists in config order: what the merged lists are made of. */
  #shares: readonly ServerLists[] = [];
  #splitter = new NameSplitter([], "__");
  /** Upstream name → the aggregated server it serves: whose circuit changed. */
  #serverOf = new Map<string, string>();
  readonly #merged = new Map<ListKind, MergedList>(listKinds.map((kind) => [kind, new MergedList(kind)]));
  /** Per kind, what the servers contributed when its merged list was last built. */
  readonly #built = new Map<ListKind, string>();
  /** Capabilities some server advertised (sticky for the process). */
  readonly #learnt = { subscribe: false, completions: false, logging: false };
  readonly #stopWatchingCircuits: () => void;
  #closed = false;
  #reconfiguring = false;

  constructor(options: AggregateOptions) {
    this.#poolClient = options.poolClient;
    this.#timers = options.timers ?? systemTimers;
    this.#logger = options.logger;
    this.#random = options.random;
    this.#teller = new ChangeTeller(this.#timers, options.onListChanged);
    // what is attached to each circuit is undone at close too, not only when the circuit goes: a
    // listener would hold this aggregate (its lists) for as long as the circuit lives, reload after reload
    const attached = new Set<() => void>();
    const stopCreated = options.circuits.onCreated((circuit) => {
      if (circuit.tool !== undefined) return undefined;
      // after the transition, not inside it: a refetch asks the same breaker for a permit
      const off = circuit.breaker.onStateChange(() =>
        queueMicrotask(() => this.#circuitChanged(circuit.upstream)),
      );
      const detach = () => {
        attached.delete(detach);
        off();
      };
      attached.add(detach);
      return detach;
    });
    this.#stopWatchingCircuits = () => {
      stopCreated();
      for (const detach of [...attached]) detach();
    };
  }

  /** The configuration and pools of a plane coming into force. */
  reconfigure(config: AggregateConfig, pools: ReadonlyMap<string, ServerPool>): void {
    const renamed = this.#config !== undefined && this.#config.separator !== config.separator;
    this.#config = config;
    this.#reconfiguring = true; // one look at the contributions at the end, not one per server changed
    const members = new Map<string, Member>();
    for (const name of config.servers) {
      const pool = pools.get(name);
      if (pool === undefined) continue; // config guarantees it; a plane without it serves nothing of it
      const kept = this.#members.get(name);
      members.set(
        name,
        kept === undefined ? this.#join(name, pool, config) : this.#keep(kept, pool, config, renamed),
      );
    }
    for (const [name, member] of this.#members)
      if (!members.has(name)) {
        member.watch.close();
        member.lists.close();
      }
    this.#members = members;
    this.#shares = [...members.values()].map((member) => member.lists);
    this.#splitter = new NameSplitter(members.keys(), config.separator);
    this.#serverOf = new Map();
    for (const [name, member] of members)
      for (const upstream of member.contact.pool.upstreams) this.#serverOf.set(upstream.name, name);
    this.#reconfiguring = false;
    this.#changed();
  }

  async answer(kind: ListKind, era: McpEra, cursor: string | undefined): Promise<ListAnswer> {
    if (cursor === undefined) await this.#freshen(kind);
    return (this.#merged.get(kind) as MergedList).answer(this.#shares, era, cursor);
  }

  toolOrPrompt(name: string): Named | undefined {
    return this.#splitter.toolOrPrompt(name);
  }

  resource(uri: string): Named | undefined {
    return this.#splitter.resource(uri);
  }

  prefixUri(server: string, uri: string): string {
    return prefixUri(server, uri);
  }

  capabilities(): Record<string, unknown> {
    const capabilities: Record<string, unknown> = {
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: this.#learnt.subscribe ? { listChanged: true, subscribe: true } : { listChanged: true },
    };
    if (this.#learnt.completions) capabilities["completions"] = {};
    if (this.#learnt.logging) capabilities["logging"] = {};
    return capabilities;
  }

  onChange(kinds: ReadonlySet<ListKind>, tell: (kind: ListKind) => void): () => void {
    return this.#teller.subscribe(kinds, tell);
  }

  serverSaidChanged(server: string, kind: ListKind): void {
    this.#members.get(server)?.lists.saidChanged(kind);
  }

  view(): AggregateView {
    const servers: AggregateServerView[] = this.#shares.map((lists) => {
      const leftOut = listKinds.flatMap((kind) => lists.leftOut(kind));
      const graceLeftMs = lists.listed() === "cached" ? lists.availability.graceLeftMs() : undefined;
      return {
        name: lists.name,
        listed: lists.listed(),
        tools: lists.items("tools").length,
        prompts: lists.items("prompts").length,
        resources: lists.items("resources").length,
        resourceTemplates: lists.items("resourceTemplates").length,
        leftOut,
        ...(graceLeftMs === undefined ? {} : { graceLeftMs }),
      };
    });
    return { route: this.#config?.route ?? "", servers };
  }

  /** Stops every watch and timer. */
  close(): void {
    this.#closed = true;
    this.#stopWatchingCircuits();
    for (const { watch, lists } of this.#members.values()) {
      watch.close();
      lists.close();
    }
    this.#teller.close();
  }

  #join(name: string, pool: ServerPool, config: AggregateConfig): Member {
    const contact = new ServerContact(pool, this.#poolClient, (capabilities) => this.#learn(capabilities));
    const lists = new ServerLists({
      name,
      contact,
      timers: this.#timers,
      logger: this.#logger,
      separator: config.separator,
      graceMs: config.graceMs,
      changed: () => this.#changed(),
    });
    const watch = new ServerWatch({
      contact,
      lists,
      poolClient: this.#poolClient,
      timers: this.#timers,
      random: this.#random,
    });
    if (lists.circuitsRefuse()) lists.availability.markUnavailable();
    else lists.refreshAll();
    watch.start();
    return { contact, lists, watch };
  }

  #keep(member: Member, pool: ServerPool, config: AggregateConfig, renamed: boolean): Member {
    const { contact, lists } = member;
    const before = contact.pool;
    contact.pool = pool;
    lists.availability.graceMs = config.graceMs;
    const sameUpstreams =
      before.upstreams.length === pool.upstreams.length &&
      before.upstreams.every((u, i) => u === pool.upstreams[i]);
    if (!sameUpstreams) {
      // other replicas, other circuits: what Breakwater learnt of the old ones no longer holds
      contact.forget();
      if (lists.circuitsRefuse()) lists.availability.markUnavailable();
      else if (!lists.availability.isAvailable) lists.refreshAll();
    }
    if (renamed || before.allowsTool !== pool.allowsTool) lists.rename(config.separator);
    return member;
  }

  /** Waits (at most `list_timeout_ms`) for the stale lists of `kind` of servers whose circuits admit. */
  async #freshen(kind: ListKind): Promise<void> {
    const pending = new Set<ServerLists>();
    const fetches: Promise<void>[] = [];
    for (const lists of this.#shares) {
      if (!lists.stale(kind) || lists.circuitsRefuse()) continue; // fresh lists: no more than a time comparison
      pending.add(lists);
      fetches.push(lists.refresh(kind).finally(() => pending.delete(lists)));
    }
    if (fetches.length === 0) return;
    let timer: ReturnType<Timers["setTimeout"]> | undefined;
    const late = new Promise<void>((resolve) => {
      timer = this.#timers.setTimeout(resolve, this.#config?.listTimeoutMs ?? 0);
    });
    await Promise.race([Promise.all(fetches), late]);
    this.#timers.clearTimeout(timer);
    for (const lists of pending) lists.late(); // answered with its last good list; the late answer still counts
  }

  /** Rebuilds the merged lists a server's contribution changed, and tells clients. */
  #changed(): void {
    if (this.#reconfiguring) return;
    for (const kind of listKinds) {
      let contribution = "";
      for (const lists of this.#shares) {
        const share = lists.contribution(kind);
        if (share !== "") contribution += `${lists.name}\u0000${share}\n`;
      }
      const before = this.#built.get(kind);
      if (contribution === before) continue;
      this.#built.set(kind, contribution);
      (this.#merged.get(kind) as MergedList).rebuild(this.#shares);
      if (before !== undefined) this.#teller.changed(kind);
    }
  }

  #circuitChanged(upstream: string): void {
    if (this.#closed) return;
    const server = this.#serverOf.get(upstream);
    const member = server === undefined ? undefined : this.#members.get(server);
    if (member === undefined) return;
    const { lists, watch } = member;
    if (lists.circuitsRefuse()) lists.availability.markUnavailable();
    else if (!lists.availability.isAvailable) {
      lists.refreshAll(); // it is current again once a list comes
      watch.wake();
    }
  }

  #learn(capabilities: Readonly<Record<string, unknown>>): void {
    const resources = capabilities["resources"] as { subscribe?: unknown } | undefined;
    if (resources?.subscribe === true) this.#learnt.subscribe = true;
    if (capabilities["completions"] !== undefined) this.#learnt.completions = true;
    if (capabilities["logging"] !== undefined) this.#learnt.logging = true;
  }
}
