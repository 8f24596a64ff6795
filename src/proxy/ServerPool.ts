import type { PublicUrls } from "../edge/PublicUrls.ts";
import type { ResponseRewrite } from "../exchange/ResponseRewrite.ts";
import type { SessionTokens, TokenSession } from "../sessions/SessionTokens.ts";
import type { Upstream } from "../upstreams/Upstream.ts";
import type { CallReader } from "./Call.ts";
import { UpstreamBalancer } from "./UpstreamBalancer.ts";

export interface ServerPoolOptions {
  readonly name: string;
  readonly route: string | undefined;
  /** Its replicas, in config order; never empty. */
  readonly upstreams: readonly Upstream[];
  readonly loadBalancing: "round_robin" | "failover";
  /** Its reading of requests: the tools filter, and the stdio upstreams serving sessions only, are its own. */
  readonly calls: CallReader;
  /** Its upstreams' URLs made public under its own route (SPEC §4.2). */
  readonly publicUrls: PublicUrls;
  /** The plane's one set of session tokens, over every server's upstreams (SPEC §6.1). */
  readonly sessions: SessionTokens;
  readonly allowsTool?: ((tool: string) => boolean) | undefined;
}

/**
 * One MCP server behind the proxy (SPEC §7.1): a named pool of replicas that a route (and, later, the
 * aggregate) reaches. It has its own balancer, its own reading of calls and its own public URLs; the
 * replicas' circuits, tool circuits and health checks stay per upstream in the plane's shared registry.
 * Made once per configuration.
 */
export class ServerPool {
  /** What a route leads to: a pool of replicas (the aggregate of SPEC §7.2 will be another kind). */
  readonly kind = "pool";
  readonly name: string;
  /** Where clients reach it; undefined: only through the aggregate. */
  readonly route: string | undefined;
  readonly upstreams: readonly Upstream[];
  readonly balancer: UpstreamBalancer;
  readonly calls: CallReader;
  /** What the client gets of its upstreams' responses: public URLs first (§4.2), then sealed sessions (§6.1). */
  readonly rewrite: ResponseRewrite;
  readonly allowsTool: ((tool: string) => boolean) | undefined;
  readonly #sessions: SessionTokens;
  readonly #members: ReadonlySet<Upstream>;

  constructor(options: ServerPoolOptions) {
    this.name = options.name;
    this.route = options.route;
    this.upstreams = options.upstreams;
    this.balancer = new UpstreamBalancer(options.upstreams, options.loadBalancing);
    this.calls = options.calls;
    this.allowsTool = options.allowsTool;
    this.#sessions = options.sessions;
    this.#members = new Set(options.upstreams);
    const { publicUrls, sessions } = options;
    this.rewrite = {
      headers: (headers, upstream, request) =>
        sessions.sealed(publicUrls.headers(headers, upstream, request), upstream),
      rewritesBody: (request, status, headers) => publicUrls.rewritesBody(request, status, headers),
      body: (body, upstream, request) => publicUrls.body(body, upstream, request),
    };
  }

  /**
   * The session a client's token names, when it lives on one of this server's upstreams. A token of
   * another server's upstream is no session here (sessions never cross servers: SPEC §7.1), as a
   * forged one is not.
   */
  openSession(token: string): TokenSession | undefined {
    const session = this.#sessions.open(token);
    return session !== undefined && this.#members.has(session.upstream) ? session : undefined;
  }
}
