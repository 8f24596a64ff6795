import type { IncomingHttpHeaders } from "node:http";
import type { Upstream, UpstreamRequest } from "../upstreams/Upstream.ts";

/**
 * What the proxy changes in an upstream's response on its way to the client, handed to each exchange
 * so that the exchange knows nothing of why: the edge makes the URLs the upstream names public (SPEC
 * §4.2), the session tokens seal the session it names (§6.1). Whatever a later capability rewrites
 * plugs in here, not into the exchange.
 */
export interface ResponseRewrite {
  /** The response head's headers as the client gets them. */
  headers(headers: IncomingHttpHeaders, upstream: Upstream, request: UpstreamRequest): IncomingHttpHeaders;
  /** Whether the body is held back (a small document) and given to {@link ResponseRewrite.body}. */
  rewritesBody(request: UpstreamRequest, status: number, headers: IncomingHttpHeaders): boolean;
  /** The held body as the client gets it. */
  body(body: Buffer, upstream: Upstream, request: UpstreamRequest): Buffer;
}
