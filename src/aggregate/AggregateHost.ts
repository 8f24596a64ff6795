import type { Logger } from "pino";
import type { AggregateView } from "../admin/AggregateView.ts";
import type { CircuitRegistry } from "../circuits/CircuitRegistry.ts";
import type { AggregateConfig } from "../config/Config.ts";
import type { ExchangeObserver } from "../exchange/Settlement.ts";
import type { BodyBudget } from "../proxy/BodyBudget.ts";
import type { Endpoint } from "../proxy/Endpoint.ts";
import type { ServerPool } from "../proxy/ServerPool.ts";
import type { Timers } from "../time/Timers.ts";
import type { Upstream } from "../upstreams/Upstream.ts";
import { Aggregate } from "./Aggregate.ts";
import { AggregateEndpoint } from "./AggregateEndpoint.ts";
import { ClientTokens } from "./ClientTokens.ts";
import type { ListKind } from "./contracts.ts";
import { endUpstreamSession } from "./endUpstreamSession.ts";
import { PoolRequests } from "./PoolClient.ts";
import { UpstreamSessions } from "./UpstreamSessions.ts";

export interface AggregateHostOptions {
  readonly circuits: CircuitRegistry;
  readonly timers: Timers;
  readonly logger: Logger;
  /** The plane's observer: the aggregate's own exchanges count in metrics as clients' do. */
  readonly observer: ExchangeObserver;
  readonly onOverloaded?: ((upstream: Upstream) => void) | undefined;
  /** Each change of the merged lists told to clients (metrics). */
  readonly onListChanged?: ((kind: ListKind) => void) | undefined;
}

/**
 * The aggregate (SPEC §7.2) as the app holds it across reloads: Breakwater's client of the pools, the
 * merged lists with their watches and the upstream sessions outlive a configuration; each plane gets an
 * endpoint over its own pools. Nothing is made, watched or opened until a config has an aggregate.
 */
export class AggregateHost {
  readonly #o: AggregateHostOptions;
  #parts: { lists: Aggregate; hops: UpstreamSessions; poolClient: PoolRequests } | undefined;
  /** Endpoints of planes in force now or before, while they hold clients' change streams. */
  readonly #endpoints = new Set<AggregateEndpoint>();

  constructor(options: AggregateHostOptions) {
    this.#o = options;
  }

  /**
   * The endpoint of a plane (made, not yet in force) whose aggregate is `config` over `pools`, its
   * earlier-era clients' sessions sealed with `keys` (the routes' own).
   */
  endpoint(
    config: AggregateConfig,
    pools: ReadonlyMap<string, ServerPool>,
    keys: readonly Buffer[],
    answerBudget: BodyBudget,
  ): Endpoint {
    const { lists, hops, poolClient } = this.#made();
    const members = new Map(
      config.servers.flatMap((name) => {
        const pool = pools.get(name);
        return pool === undefined ? [] : [[name, pool] as const];
      }),
    );
    return new AggregateEndpoint({
      route: config.route,
      pools: members,
      lists,
      hops,
      sessions: new ClientTokens({ keys, hops }),
      poolClient,
      answerBudget,
      logger: this.#o.logger,
    });
  }

  /**
   * A plane came into force with `endpoint` (undefined: its config has no aggregate): the lists follow
   * its pools; without an aggregate, everything of it stops.
   */
  install(
    config: AggregateConfig | undefined,
    pools: ReadonlyMap<string, ServerPool>,
    endpoint: Endpoint | undefined,
  ): void {
    if (config === undefined || !(endpoint instanceof AggregateEndpoint)) {
      for (const old of this.#endpoints) old.close();
      this.#endpoints.clear();
      this.#parts?.lists.close();
      this.#parts?.hops.close();
      this.#parts = undefined;
      return;
    }
    // an earlier plane's endpoint keeps the change streams it serves (the lists they follow are kept)
    for (const old of this.#endpoints) if (old.streams === 0) this.#endpoints.delete(old);
    this.#endpoints.add(endpoint);
    this.#made().lists.reconfigure(config, pools);
  }

  view(): AggregateView | undefined {
    return this.#parts === undefined ? undefined : this.#parts.lists.view();
  }

  /** Ends the clients' change streams, the watches and the upstream sessions (shutdown). */
  close(): void {
    this.install(undefined, new Map(), undefined);
  }

  #made() {
    if (this.#parts !== undefined) return this.#parts;
    const { circuits, timers, logger, observer } = this.#o;
    const poolClient = new PoolRequests({ observer, timers, onOverloaded: this.#o.onOverloaded });
    const lists = new Aggregate({
      poolClient,
      circuits,
      timers,
      logger,
      onListChanged: this.#o.onListChanged,
    });
    const hops = new UpstreamSessions({
      poolClient,
      timers,
      logger,
      // a client's session ended or idle: its upstream sessions are ended too (a stdio process stops)
      closeSession: (upstream, headers) => void endUpstreamSession(upstream, headers, timers),
    });
    this.#parts = { lists, hops, poolClient };
    return this.#parts;
  }
}
