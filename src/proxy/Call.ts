import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { Acquisition } from "../breaker/Acquisition.ts";
import type { BodyFilter } from "../exchange/BodyFilter.ts";
import type { ReadBody } from "../jsonrpc/jsonRpcCall.ts";
import type { ExchangeJudge } from "../judges/ExchangeJudge.ts";
import type { Upstream, UpstreamRequest } from "../upstreams/Upstream.ts";
import type { Admit } from "./UpstreamBalancer.ts";

/**
 * What a request means beyond HTTP, read once before an upstream is picked: how its exchanges are
 * judged, which circuits besides the upstream's must admit it, and what the proxy answers when one of
 * those refuses. The MCP layer reads JSON-RPC into calls (SPEC §3); plain HTTP requests share one
 * call that adds nothing. The proxy knows no JSON-RPC of its own.
 */
export interface Call {
  /** A request that must not be forwarded as it is: its answer is written at once (a 4xx). */
  readonly refuse?: (res: ServerResponse) => void;
  /**
   * Whether `upstream` takes the request, given `admit`, the upstream's own admission (bulkhead and
   * circuit): undefined when `admit` alone decides.
   */
  readonly admit?: ((upstream: Upstream, admit: Admit) => Acquisition) | undefined;
  /**
   * No upstream took the request. When a circuit of the call's own refused it (a tool's), writes the
   * answer for that and returns true; false leaves the answer to the proxy (503, 404).
   */
  readonly answerRefusal?: (res: ServerResponse) => boolean;
  /** What the client gets of each attempt's answer instead of its bytes (a fresh filter per attempt). */
  readonly bodyFilter?: (() => BodyFilter) | undefined;
  /** How an exchange of this request with `upstream` is judged. */
  judge(upstream: Upstream): ExchangeJudge;
  /**
   * The request goes to a session Breakwater holds with the upstream (the aggregate's, SPEC §7.2): a 404
   * from the upstream means that session is gone, and the client sees nothing of it. Gives the request
   * for a new session and the upstream holding it (sent there once), or undefined when none can be
   * opened (the client then gets a 502 `session_lost`).
   */
  readonly sessionLost?:
    | (() => Promise<{ readonly request: UpstreamRequest; readonly bound: Upstream } | undefined>)
    | undefined;
}

/** Reads requests into calls. */
export interface CallReader {
  /**
   * `read`: the request's POST body as already read (the aggregate's, which parsed the body it
   * changed); absent, the body is read here.
   */
  read(request: UpstreamRequest, headers: IncomingHttpHeaders, read?: ReadBody): Call;
}
