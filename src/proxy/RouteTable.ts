import { type Discovery, type DiscoveryDocument, suffixPath } from "../http/discovery.ts";
import { routeRemainder } from "../http/targetPath.ts";
import type { Endpoint } from "./Endpoint.ts";
import type { ServerPool } from "./ServerPool.ts";

/** Where a request goes: its server, the target with the route cut off, and its discovery document if any. */
export interface RouteMatch {
  /** The server the route leads to: one server's pool, or an endpoint that is a server itself (the aggregate). */
  readonly server: ServerPool | Endpoint;
  readonly remainder: string;
  readonly discovery?: Discovery | undefined;
}

/**
 * Which server a request target reaches (SPEC §7.1): routes map to server pools, and a route serves its
 * path at a segment boundary (as `routeRemainder`: "/mcp" serves "/mcp", "/mcp/…" and "/mcp?…", never
 * "/mcpx"; "/a/" serves "/a/…", not "/a"). Routes never overlap (the config refuses it), so at most one
 * matches. Made once per configuration; never scanned per request.
 */
export class RouteTable {
  /** Every server by name, routed or not, in config order (failover and the aggregate find pools here). */
  readonly byName: ReadonlyMap<string, ServerPool>;
  /** The answer to a target no route serves. */
  readonly notFound: string;
  readonly #byRoute = new Map<string, ServerPool | Endpoint>();
  /** The lengths of the routes: only prefixes of these lengths are looked up. */
  readonly #lengths = new Set<number>();
  /** The only route and its server, when there is one: matched as one route always was. */
  readonly #sole: { readonly route: string; readonly server: ServerPool | Endpoint } | undefined;

  /**
   * @param endpoints routes that lead to no one pool (the aggregate), beside the pools' own.
   * @throws {RangeError} when two servers share a name or a route.
   */
  constructor(pools: readonly ServerPool[], endpoints: readonly Endpoint[] = []) {
    const byName = new Map<string, ServerPool>();
    const add = (route: string, server: ServerPool | Endpoint) => {
      if (this.#byRoute.has(route)) throw new RangeError(`two servers have the route ${route}`);
      this.#byRoute.set(route, server);
      this.#lengths.add(route.length);
    };
    for (const pool of pools) {
      if (byName.has(pool.name)) throw new RangeError(`two servers are named ${pool.name}`);
      byName.set(pool.name, pool);
      if (pool.route !== undefined) add(pool.route, pool);
    }
    for (const endpoint of endpoints) add(endpoint.route, endpoint);
    this.byName = byName;
    const [first] = this.#byRoute;
    this.#sole =
      this.#byRoute.size === 1 && first !== undefined ? { route: first[0], server: first[1] } : undefined;
    this.notFound =
      this.#sole === undefined
        ? "not found: no route of this proxy serves this path"
        : `not found: this proxy serves ${this.#sole.route}`;
  }

  /** The server whose route serves `target`, and the target's remainder, or undefined outside every route. */
  match(target: string): RouteMatch | undefined {
    const sole = this.#sole;
    if (sole !== undefined) {
      const remainder = routeRemainder(sole.route, target);
      return remainder === undefined ? undefined : { server: sole.server, remainder };
    }
    // A route ends where the target's path has a boundary: before a "/", "?" or the end (a route without
    // a trailing "/"), or just after a "/" (one with it). At most two lookups per path segment, however
    // many routes there are.
    const lengths = this.#lengths;
    const queryAt = target.indexOf("?");
    const pathEnd = queryAt < 0 ? target.length : queryAt;
    for (let from = 0; ; ) {
      const slashAt = target.indexOf("/", from);
      const slash = slashAt >= 0 && slashAt < pathEnd;
      const i = slash ? slashAt : pathEnd;
      if (i > 0 && lengths.has(i)) {
        const server = this.#byRoute.get(target.slice(0, i));
        if (server !== undefined) return { server, remainder: target.slice(i) };
      }
      if (!slash) break;
      if (lengths.has(i + 1)) {
        const server = this.#byRoute.get(target.slice(0, i + 1));
        if (server !== undefined) return { server, remainder: target.slice(i + 1) };
      }
      from = i + 1;
    }
    return undefined;
  }

  /**
   * The server an OAuth discovery request reaches (SPEC §4.2): the one whose route its suffix names (the
   * document of the resource behind that route); otherwise, when there is one route only, its server,
   * with the suffix as it is (an issuer's own path, or the origin's root); among several, none. An
   * endpoint has no documents: it fronts servers that may each have their own authorization.
   */
  discovery({ document, suffix }: DiscoveryDocument): RouteMatch | undefined {
    const named = this.match(suffixPath(suffix));
    if (named !== undefined)
      return named.server.kind === "pool" ? { ...named, discovery: { document, inRoute: true } } : undefined;
    const sole = this.#sole;
    return sole === undefined || sole.server.kind !== "pool"
      ? undefined
      : { server: sole.server, remainder: suffix, discovery: { document, inRoute: false } };
  }
}
