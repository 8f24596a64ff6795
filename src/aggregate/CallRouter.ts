import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { ResponseRewrite } from "../exchange/ResponseRewrite.ts";
import { applySplices, valuesAt } from "../jsonrpc/jsonPaths.ts";
import type { Message } from "../jsonrpc/jsonRpcCall.ts";
import { idValueKey } from "../jsonrpc/jsonRpcId.ts";
import type { PoolSend } from "../proxy/Endpoint.ts";
import type { RequestTrace } from "../proxy/RequestTracing.ts";
import type { ServerPool } from "../proxy/ServerPool.ts";
import { type UpstreamRequest, upstreamRequest } from "../upstreams/Upstream.ts";
import { AggregateCall } from "./AggregateCall.ts";
import { type AnswerHolding, AnswerRewrite } from "./AnswerRewrite.ts";
import { cannotAnswer, noName, sendError, unknownName } from "./aggregateAnswers.ts";
import type { AnswerContext } from "./answerMessages.ts";
import { bareBody, hopHeaders, namePaths } from "./CallRewrite.ts";
import type { AggregateLists, Caller, Hop, HopPlanner, Named, NoHop, PoolClient } from "./contracts.ts";
import { type CallRead, rereadOf, routedValue, sendUnavailable } from "./routedCall.ts";
import { parseServerRequestId } from "./serverRequestIds.ts";

export interface CallRouterOptions {
  readonly pools: ReadonlyMap<string, ServerPool>;
  readonly lists: AggregateLists;
  readonly hops: HopPlanner;
  readonly poolClient: PoolClient;
  readonly holding: Omit<AnswerHolding, "onUnheld">;
  readonly logger?: { warn(details: object, message: string): void } | undefined;
}

/** How long a server may take to hear the aggregate's refusal of its request. */
const refusalTimeoutMs = 10_000;

/**
 * Sends the aggregate's calls on to the servers their names or URIs name (SPEC §7.2): the prefix off,
 * the hop to one of the server's upstreams planned (era, session), and then the pool's own path —
 * balancing, failover, circuits, judging — through `PoolSend`, the answer rewritten on its way back.
 */
export class CallRouter {
  readonly #o: CallRouterOptions;
  /** The server of each earlier-era client's call in flight here, by session and id (for its cancellation). */
  readonly #inFlight = new Map<string, string>();
  /** Servers whose answers passed unrewritten for size: told once each. */
  readonly #unheldTold = new Set<string>();
  /** Each server's `AnswerHolding` (the holding bounds are the router's, the warning the server's). */
  readonly #holdings = new Map<string, AnswerHolding>();

  constructor(options: CallRouterOptions) {
    this.#o = options;
  }

  /** Whether `method` is a call routed by a name or URI. */
  routes(method: string): boolean {
    return namePaths.has(method);
  }

  /**
   * Sends a routed call on; a promise while it is under way, nothing when the aggregate answered it
   * itself. A hop planned at once (nearly every modern client's call: a pass-through) is sent on in the
   * same turn, no async frame of the router's own between the client and the pool.
   */
  call(
    req: IncomingMessage,
    res: ServerResponse,
    remainder: string,
    body: Buffer,
    read: CallRead,
    caller: Caller,
    send: PoolSend,
    trace?: RequestTrace | undefined,
  ): Promise<void> | void {
    const message = read.messages[0] as Message;
    const method = message.method as string;
    const routed = routedValue(method, message);
    // the id's text is read out of the body only for an answer of the aggregate's own
    if (routed === undefined) return sendError(res, 200, idOf(read), noName);
    const { lists, pools } = this.#o;
    const named = routed.resource ? lists.resource(routed.value) : lists.toolOrPrompt(routed.value);
    const pool = named === undefined ? undefined : pools.get(named.server);
    if (named === undefined || pool === undefined)
      return sendError(res, 200, idOf(read), unknownName(routed.value));
    const target: Target = {
      req,
      res,
      remainder,
      body,
      read,
      caller,
      method,
      value: routed.value,
      named,
      pool,
      trace,
    };
    const planned = this.#o.hops.hop(pool, caller);
    if (planned instanceof Promise) return planned.then((hop) => this.#sendOn(target, hop, send));
    return this.#sendOn(target, planned, send);
  }

  /** The call to `target`'s server as `hop` sends it. */
  #sendOn(target: Target, hop: Hop | NoHop, send: PoolSend): Promise<void> | void {
    const { req, res, remainder, body, read, caller, method, value, named, pool } = target;
    const modern = caller.era === "modern";
    if (isNoHop(hop)) {
      target.trace?.answeredForServer(named.server, hop.reason, hop.retryAfterMs, method === "tools/call");
      return sendUnavailable(res, idOf(read), method, value, named.server, hop, modern);
    }
    const first = this.#request(req, remainder, body, method, value, named.name, hop);
    if (first === undefined) return sendError(res, 200, idOf(read), unknownName(value));
    let current = hop;
    const reread = rereadOf(read, method, named.name, hop);
    const holding = this.#holding(pool.name);
    const call = new AggregateCall(pool.calls.read(first.request, first.headers, reread), {
      clientCall: read.call,
      toolCall: method === "tools/call",
      tool: value,
      server: named.server,
      modern,
      answerFilter: () => new AnswerRewrite(this.#context(pool, current, caller), holding),
      sessionLost:
        hop.sessionLost === undefined
          ? undefined
          : async () => {
              // the upstream answered 404 for its session: the hop of a new one, and the call once more
              const next = await current.sessionLost?.();
              if (next === undefined || next.bound === undefined) return undefined;
              const again = this.#request(req, remainder, body, method, value, named.name, next);
              if (again === undefined) return undefined;
              current = next;
              return { request: again.request, bound: next.bound };
            },
    });
    if (caller.era === "modern")
      return send(pool, req, res, first.request, call, hop.bound, withoutUpstreamSession);
    // an earlier-era client cancels by a notification naming the call's id: it must reach this server
    return this.#tracked(inFlightKey(caller.session.id, idOf(read)), pool.name, () =>
      send(pool, req, res, first.request, call, hop.bound, withoutUpstreamSession),
    );
  }

  /** `sending`, known as in flight to `server` under `key` (if any) until it has ended. */
  async #tracked(key: string | undefined, server: string, sending: () => Promise<void>): Promise<void> {
    if (key !== undefined) this.#inFlight.set(key, server);
    try {
      await sending();
    } finally {
      if (key !== undefined) this.#inFlight.delete(key);
    }
  }

  /**
   * An earlier-era client's `notifications/cancelled` of a call in flight on this replica: sent to the
   * server the call went to, in the client's session with it (the call's id is the client's own, so it
   * goes as it came). Cancellation is best effort (MCP): one of a call not known here is dropped (202).
   */
  async cancel(
    req: IncomingMessage,
    res: ServerResponse,
    remainder: string,
    body: Buffer,
    message: Message,
    caller: Caller,
    send: PoolSend,
  ): Promise<void> {
    const requestId = (message.params as { requestId?: unknown } | undefined)?.requestId;
    const known =
      caller.era === "earlier" && (typeof requestId === "string" || typeof requestId === "number")
        ? this.#inFlight.get(inFlightKey(caller.session.id, JSON.stringify(requestId)) ?? "")
        : undefined;
    const pool = known === undefined ? undefined : this.#o.pools.get(known);
    await this.#relay(req, res, remainder, pool === undefined ? undefined : body, pool, caller, send);
  }

  /**
   * An earlier-era client's answer to a server's request (its id one the aggregate made): sent to that
   * server, in the client's session with it, with the server's own id. Anything else is dropped (202).
   */
  async answerServer(
    req: IncomingMessage,
    res: ServerResponse,
    remainder: string,
    body: Buffer,
    message: Message,
    caller: Caller,
    send: PoolSend,
  ): Promise<void> {
    const id = (message as { id?: unknown }).id;
    const parsed = typeof id === "string" ? parseServerRequestId(id) : undefined;
    const pool = parsed === undefined ? undefined : this.#o.pools.get(parsed.server);
    const at = valuesAt(body, [["id"]]).at(-1);
    const answer =
      parsed === undefined || at === undefined
        ? undefined
        : applySplices(body, [{ start: at.start, end: at.end, text: parsed.idText }]);
    await this.#relay(req, res, remainder, answer, pool, caller, send);
  }

  /**
   * Sends an earlier-era client's message that is no call (a cancellation, an answer) to `pool`'s
   * server in the client's session with it; without a server, a body or a hop it is dropped (202).
   */
  async #relay(
    req: IncomingMessage,
    res: ServerResponse,
    remainder: string,
    body: Buffer | undefined,
    pool: ServerPool | undefined,
    caller: Caller,
    send: PoolSend,
  ): Promise<void> {
    const hop = pool === undefined || body === undefined ? undefined : await this.#o.hops.hop(pool, caller);
    if (pool === undefined || body === undefined || hop === undefined || isNoHop(hop)) {
      res.writeHead(202, { "content-length": "0" }).end();
      return;
    }
    const { rawHeaders, headers } = hopHeaders(req, "", "", hop);
    const request = { ...upstreamRequest(req, remainder, body, undefined, protoOf(req)), rawHeaders };
    await send(pool, req, res, request, pool.calls.read(request, headers), hop.bound, withoutUpstreamSession);
  }

  /** The call as `hop` sends it: the bare name or URI (`named` by the client) in its body and headers. */
  #request(
    req: IncomingMessage,
    remainder: string,
    body: Buffer,
    method: string,
    named: string,
    bare: string,
    hop: Hop,
  ): { request: UpstreamRequest; headers: IncomingHttpHeaders } | undefined {
    // a hop in the earlier era for a 2026-07-28 client: the body's version claim says the hop's
    const speaks = hop.addsResultType ? hop.setHeaders["MCP-Protocol-Version"] : undefined;
    const spliced = bareBody(body, method, bare, hop.metaEnvelope, speaks, named);
    if (spliced === undefined) return undefined;
    const { rawHeaders, headers } = hopHeaders(req, method, bare, hop);
    const request = { ...upstreamRequest(req, remainder, spliced, undefined, protoOf(req)), rawHeaders };
    return { request, headers };
  }

  #context(pool: ServerPool, hop: Hop, caller: Caller): AnswerContext {
    return {
      server: pool.name,
      lists: this.#o.lists,
      addsResultType: hop.addsResultType,
      relaysServerRequests: caller.era === "earlier",
      // a 2026-07-28 client cannot answer: the server hears -32601 at once rather than waiting
      refuseServerRequest: (idText) => {
        let id: unknown;
        try {
          id = JSON.parse(idText);
        } catch {
          return;
        }
        const options = { bound: hop.bound, headers: hop.setHeaders, timeoutMs: refusalTimeoutMs };
        this.#o.poolClient
          .request(pool, { jsonrpc: "2.0", id, error: cannotAnswer }, options)
          .catch(() => {});
      },
    };
  }

  /** What a server's answers are held within, and who hears of one passing unheld: one per server. */
  #holding(server: string): AnswerHolding {
    const made = this.#holdings.get(server);
    if (made !== undefined) return made;
    const holding: AnswerHolding = {
      ...this.#o.holding,
      onUnheld: () => {
        if (this.#unheldTold.has(server)) return;
        this.#unheldTold.add(server);
        this.#o.logger?.warn(
          { server, reason: "uri_unprefixed" },
          "an answer too large to hold passed through the aggregate unchanged: its resource URIs are not prefixed",
        );
      },
    };
    this.#holdings.set(server, holding);
    return holding;
  }
}

/** A routed call on its way: the client's request, and the server (and its own name) it goes to. */
interface Target {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly remainder: string;
  readonly body: Buffer;
  readonly read: CallRead;
  readonly caller: Caller;
  readonly method: string;
  /** The name or URI as the client wrote it (prefixed). */
  readonly value: string;
  readonly named: Named;
  readonly pool: ServerPool;
  /** The request's trace, while telemetry is on (SPEC §9). */
  readonly trace: RequestTrace | undefined;
}

/** The client's id as it wrote it (JSON text), read out of the body when first asked for. */
function idOf(read: CallRead): string {
  return read.call.ids[0] as string;
}

/** A call's key among those in flight: its session, and its id by value (`1` and `1.0` are one id). */
function inFlightKey(session: string, idText: string): string | undefined {
  const id = idValueKey(idText);
  return id === undefined ? undefined : `${session}\0${id}`;
}

function isNoHop(hop: Hop | NoHop): hop is NoHop {
  return "refused" in hop && hop.refused;
}

/** The aggregate's answers drop the upstream's session: the client's session is the aggregate's own. */
export const withoutUpstreamSession: ResponseRewrite = {
  headers(headers) {
    if (headers["mcp-session-id"] === undefined) return headers;
    const { "mcp-session-id": _dropped, ...rest } = headers;
    return rest;
  },
  rewritesBody: () => false,
  body: (body) => body,
};

/** Whether the client reached the proxy over TLS. */
function protoOf(req: IncomingMessage): "http" | "https" {
  return (req.socket as { encrypted?: boolean }).encrypted === true ? "https" : "http";
}
