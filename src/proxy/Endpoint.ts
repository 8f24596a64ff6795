import type { IncomingMessage, ServerResponse } from "node:http";
import type { ResponseRewrite } from "../exchange/ResponseRewrite.ts";
import type { Upstream, UpstreamRequest } from "../upstreams/Upstream.ts";
import type { Call } from "./Call.ts";
import type { RequestTrace } from "./RequestTracing.ts";
import type { ServerPool } from "./ServerPool.ts";

/**
 * Sends a request on to one of `pool`'s upstreams exactly as the pool's own route would, from the
 * admission on: `call`'s circuits and refusal answer, the balancer (or `bound`, a session's upstream),
 * failover, judging, deadlines, metrics. `rewrite` is what the client gets of the answer's head and
 * held bodies. The aggregate (SPEC §7.2) hands its calls to the pools through this, so that nothing of
 * a route's path is written twice.
 */
export type PoolSend = (
  pool: ServerPool,
  req: IncomingMessage,
  res: ServerResponse,
  request: UpstreamRequest,
  call: Call,
  bound: Upstream | undefined,
  rewrite: ResponseRewrite,
) => Promise<void>;

/**
 * What a route leads to when it is not one server's pool: an endpoint that answers requests itself and
 * sends what it must on to pools (the aggregate, SPEC §7.2). The proxy reads the request's body first,
 * as for a pool, and gives it back to the budget once `serve` has resolved: an endpoint that keeps a
 * stream open (a listen, a GET) resolves once it no longer needs the body. `trace`: the request's,
 * while telemetry is on (SPEC §9), told what the endpoint answers itself for a server.
 */
export interface Endpoint {
  readonly kind: "endpoint";
  readonly route: string;
  serve(
    req: IncomingMessage,
    res: ServerResponse,
    remainder: string,
    body: Buffer | undefined,
    send: PoolSend,
    trace?: RequestTrace | undefined,
  ): Promise<void>;
}
