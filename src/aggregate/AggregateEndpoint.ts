import type { IncomingMessage, ServerResponse } from "node:http";
import { type Message, type ReadBody, readJsonRpcBody } from "../jsonrpc/jsonRpcCall.ts";
import { modernClaim } from "../jsonrpc/protocolEra.ts";
import { headersDisagree } from "../jsonrpc/routingHeaders.ts";
import { sendHeaderMismatch } from "../mcp/mcpAnswers.ts";
import { maxToolListBytes } from "../mcp/ToolListJudge.ts";
import { BodyBudget } from "../proxy/BodyBudget.ts";
import type { Endpoint, PoolSend } from "../proxy/Endpoint.ts";
import type { RequestTrace } from "../proxy/RequestTracing.ts";
import type { ServerPool } from "../proxy/ServerPool.ts";
import {
  discoverResult,
  emptyResult,
  initializeResult,
  invalidRequest,
  methodNotFound,
  negotiatedVersion,
  noSession,
  sendError,
  sendJson,
  sendResult,
  unknownSession,
} from "./aggregateAnswers.ts";
import { CallRouter } from "./CallRouter.ts";
import { ChangeStreams } from "./ChangeStreams.ts";
import type {
  AggregateLists,
  Caller,
  ClientSessions,
  HopPlanner,
  ListKind,
  PoolClient,
} from "./contracts.ts";

export interface AggregateEndpointOptions {
  /** Where clients reach the aggregate (`[aggregate] route`). */
  readonly route: string;
  /** The aggregated servers' pools by name, of the configuration in force. */
  readonly pools: ReadonlyMap<string, ServerPool>;
  readonly lists: AggregateLists;
  readonly hops: HopPlanner;
  readonly sessions: ClientSessions;
  readonly poolClient: PoolClient;
  /** What answers being rewritten may hold at once, all clients together; default 64 MiB of its own. */
  readonly answerBudget?: BodyBudget | undefined;
  /** The most one answer is held for rewriting; default 8 MiB (past it: passed unchanged). */
  readonly maxAnswerBytes?: number | undefined;
  /** Where the endpoint says what it could not do (an answer passed with its URIs unprefixed). */
  readonly logger?: { warn(details: object, message: string): void } | undefined;
}

/** The list each list method answers. */
const listMethods: ReadonlyMap<string, ListKind> = new Map([
  ["tools/list", "tools"],
  ["prompts/list", "prompts"],
  ["resources/list", "resources"],
  ["resources/templates/list", "resourceTemplates"],
]);

const sessionHeader = "mcp-session-id";

/** What `serve` gives for a request it answered at once. */
const answered: Promise<void> = Promise.resolve();

/** The id of a call as its client wrote it (JSON text), read out of the body when asked; "null" else. */
function idTextOf(read: Extract<ReadBody, { kind: "call" | "message" }>): string {
  return read.kind === "call" ? (read.call.ids[0] as string) : "null";
}

/**
 * The aggregate's route (SPEC §7.2): Breakwater as the one MCP server its clients talk to, of either
 * era. It answers itself what is its own — `initialize` and the sessions of earlier-era clients,
 * `server/discover`, `ping`, the merged lists, the change streams — and sends each call on to the pool
 * of the server its name or URI's prefix names, through the proxy's own path (`PoolSend`).
 */
export class AggregateEndpoint implements Endpoint {
  readonly kind = "endpoint";
  readonly route: string;
  readonly #o: AggregateEndpointOptions;
  readonly #streams: ChangeStreams;
  readonly #calls: CallRouter;

  constructor(options: AggregateEndpointOptions) {
    this.route = options.route;
    this.#o = options;
    this.#streams = new ChangeStreams(options.lists);
    this.#calls = new CallRouter({
      pools: options.pools,
      lists: options.lists,
      hops: options.hops,
      poolClient: options.poolClient,
      holding: {
        budget: options.answerBudget ?? new BodyBudget(8 * maxToolListBytes),
        maxBytes: options.maxAnswerBytes ?? maxToolListBytes,
      },
      logger: options.logger,
    });
  }

  /** Change streams open now (listens and GET streams). */
  get streams(): number {
    return this.#streams.size;
  }

  /** Shutting down: every change stream ends (a listen with its graceful closing result). */
  close(): void {
    this.#streams.close();
  }

  serve(
    req: IncomingMessage,
    res: ServerResponse,
    remainder: string,
    body: Buffer | undefined,
    send: PoolSend,
    trace?: RequestTrace | undefined,
  ): Promise<void> {
    switch (req.method) {
      case "POST": {
        // no async frame of its own: a routed call's promise is the pool's, an answer of its own is given
        const pending = this.#post(req, res, remainder, body, send, trace);
        return pending instanceof Promise ? pending : answered;
      }
      case "GET":
        this.#get(req, res);
        return answered;
      case "DELETE":
        this.#delete(req, res);
        return answered;
      default:
        res.writeHead(405, { allow: "GET, POST, DELETE", "content-length": "0" }).end();
        return answered;
    }
  }

  /** A POST: answered here (nothing to await), or a promise that settles once the answer is written. */
  #post(
    req: IncomingMessage,
    res: ServerResponse,
    remainder: string,
    body: Buffer | undefined,
    send: PoolSend,
    trace: RequestTrace | undefined,
  ): Promise<void> | void {
    const read = body === undefined || body.length === 0 ? undefined : readJsonRpcBody(body);
    if (read === undefined || read.kind === "other")
      return sendError(res, 400, "null", {
        code: -32700,
        message: "Parse error: expected a JSON-RPC message",
      });
    if (read.batch) return sendError(res, 400, "null", invalidRequest("send one message at a time", "batch"));
    const message = read.messages[0] as Message;
    const mismatch = headersDisagree(req.headers, read.messages);
    if (mismatch !== undefined) return sendHeaderMismatch(res, idTextOf(read), mismatch);
    const method = message.method;
    if (method === "initialize") return this.#initialize(res, idTextOf(read), message);
    const modern = modernClaim(message) !== undefined;
    const caller = this.#caller(req, message, modern);
    if (caller === "unknown") return sendError(res, 404, idTextOf(read), unknownSession);
    if (read.kind === "message") {
      // a client's answer to a server's request goes to that server; any notification ends here
      if (caller !== undefined && caller.era === "earlier" && typeof method !== "string")
        return this.#calls.answerServer(req, res, remainder, body as Buffer, message, caller, send);
      if (caller !== undefined && method === "notifications/cancelled")
        return this.#calls.cancel(req, res, remainder, body as Buffer, message, caller, send);
      res.writeHead(202, { "content-length": "0" }).end();
      return;
    }
    // a routed call (nearly every request) reads its id's text only if it answers itself
    if (caller !== undefined && this.#calls.routes(method as string))
      return this.#calls.call(req, res, remainder, body as Buffer, read, caller, send, trace);
    const idText = idTextOf(read);
    if (method === "ping" || method === "server/discover" || method === "logging/setLevel") {
      const result =
        method === "server/discover" ? discoverResult(this.#o.lists.capabilities()) : emptyResult(modern);
      return sendResult(res, idText, result);
    }
    if (caller === undefined) return sendError(res, 400, idText, noSession);
    const kind = listMethods.get(method as string);
    if (kind !== undefined) return this.#list(res, idText, kind, caller, message);
    if (method === "subscriptions/listen" && modern) {
      const params = message.params as { notifications?: unknown } | undefined;
      return this.#streams.listen(res, idText, params?.notifications);
    }
    return sendError(res, 200, idText, methodNotFound(String(method)));
  }

  /** Who calls: a 2026-07-28 request says so; else its session, "unknown" for a token that opens none. */
  #caller(req: IncomingMessage, message: Message, modern: boolean): Caller | "unknown" | undefined {
    if (modern) return { era: "modern", meta: message.params?._meta };
    const token = req.headers[sessionHeader];
    if (typeof token !== "string") return undefined;
    const session = this.#o.sessions.open(token);
    return session === undefined ? "unknown" : { era: "earlier", session };
  }

  /** `initialize`: a new session of the aggregate, sealed into its token (SPEC §7.2). */
  #initialize(res: ServerResponse, idText: string, message: Message): void {
    const params = (message.params ?? {}) as Readonly<Record<string, unknown>>;
    const version = negotiatedVersion(params["protocolVersion"]);
    const { token } = this.#o.sessions.begin(version, params);
    const result = initializeResult(version, this.#o.lists.capabilities());
    sendResult(res, idText, result, { "mcp-session-id": token });
  }

  async #list(res: ServerResponse, idText: string, kind: ListKind, caller: Caller, message: Message) {
    const cursor = (message.params as { cursor?: unknown } | undefined)?.cursor;
    const answer = await this.#o.lists.answer(
      kind,
      caller.era,
      typeof cursor === "string" ? cursor : undefined,
    );
    if ("error" in answer) return sendError(res, 200, idText, answer.error);
    sendJson(res, 200, `{"jsonrpc":"2.0","id":${idText},"result":${answer.result}}`, {});
  }

  /** An earlier-era client's GET on its session: the stream of the aggregate's list changes. */
  #get(req: IncomingMessage, res: ServerResponse) {
    const token = req.headers[sessionHeader];
    if (typeof token !== "string") {
      res.writeHead(405, { allow: "POST", "content-length": "0" }).end();
      return;
    }
    if (this.#o.sessions.open(token) === undefined) return sendError(res, 404, "null", unknownSession);
    this.#streams.session(res);
  }

  /** An earlier-era client ends its session: its upstream sessions are closed, its token refused. */
  #delete(req: IncomingMessage, res: ServerResponse) {
    const token = req.headers[sessionHeader];
    const session = typeof token === "string" ? this.#o.sessions.open(token) : undefined;
    if (session === undefined) return sendError(res, 404, "null", unknownSession);
    this.#o.sessions.end(session);
    res.writeHead(200, { "content-length": "0" }).end();
  }
}
