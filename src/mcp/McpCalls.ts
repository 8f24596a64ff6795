import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { Acquisition } from "../breaker/Acquisition.ts";
import type { BodyFilter } from "../exchange/BodyFilter.ts";
import { PairedPermit } from "../exchange/PairedPermit.ts";
import { type JsonRpcCall, type ReadBody, readJsonRpcBody } from "../jsonrpc/jsonRpcCall.ts";
import { headersDisagree } from "../jsonrpc/routingHeaders.ts";
import type { ExchangeJudge } from "../judges/ExchangeJudge.ts";
import { JsonRpcJudge, type JsonRpcRules } from "../judges/JsonRpcJudge.ts";
import { BodyBudget } from "../proxy/BodyBudget.ts";
import type { Call, CallReader } from "../proxy/Call.ts";
import type { Admit } from "../proxy/UpstreamBalancer.ts";
import type { SessionsOnly } from "../upstreams/stdio/sessionsOnly.ts";
import type { Upstream, UpstreamRequest } from "../upstreams/Upstream.ts";
import {
  sendBatchedToolCall,
  sendHeaderMismatch,
  sendToolUnavailable,
  sendUnreadableBody,
  type ToolRefusal,
} from "./mcpAnswers.ts";
import { ToolCallWitness } from "./ToolCallWitness.ts";
import type { ToolCircuits } from "./ToolCircuits.ts";
import { ToolListFilter } from "./ToolListFilter.ts";
import { maxToolListBytes, ToolListJudge } from "./ToolListJudge.ts";
import { filterRefusal, readableBody } from "./toolFilterRefusal.ts";
import { isToolName, maxToolNameLength } from "./toolName.ts";

export interface McpCallsOptions {
  /** How anything but a JSON-RPC call is judged at each upstream (SPEC §2: by its status). */
  readonly plainJudges: ReadonlyMap<Upstream, ExchangeJudge>;
  /** What fails a JSON-RPC call at each upstream. */
  readonly rules: ReadonlyMap<Upstream, JsonRpcRules>;
  readonly tools: ToolCircuits;
  /** false: every request is plain HTTP to the proxy (`proxy.read_jsonrpc`). */
  readonly readJsonRpc: boolean;
  /**
   * Upstreams that serve sessions only (stdio ones of the earlier era: a process per session, SPEC §5):
   * a call without a session that is not `initialize` is balanced onto the others, if there are others.
   */
  readonly sessionsOnly: SessionsOnly;
  /**
   * The server's `tools` filter (SPEC §7.1): a call of a tool it refuses is answered -32602 and never
   * forwarded; `tools/list` answers leave such tools out. Undefined: no filter, no cost.
   */
  readonly allowsTool?: ((tool: string) => boolean) | undefined;
  /**
   * The bytes that `tools/list` answers being filtered may hold at once, all clients together (each
   * is held whole, up to 8 MiB); default: {@link defaultListBudget} bytes for this server's lists.
   */
  readonly listBudget?: BodyBudget | undefined;
}

/** What a filtered server's lists may hold at once, unless told otherwise: eight at the bound. */
export const defaultListBudget = 8 * maxToolListBytes;

/** What an upstream that serves sessions only answers a sessionless call with: skipped, never chosen. */
const sessionsOnly: Acquisition = { admitted: false, state: "open", retryAfterMs: Number.MAX_SAFE_INTEGER };

/**
 * Reads each POSTed JSON-RPC body once (SPEC §3): a call is judged by its answer, a `tools/call` is
 * guarded by its tool's circuit as well as its upstream's, and routing headers that contradict the
 * body are refused. On a server with a `tools` filter (SPEC §7.1), a call of a tool it leaves out is
 * refused and a lone `tools/list` answer is filtered. Anything else is plain HTTP to the proxy.
 */
export class McpCalls implements CallReader {
  readonly #o: McpCallsOptions;
  readonly #plain: Call;
  /** What the filtered lists hold at once; undefined without a filter. */
  readonly #listBudget: BodyBudget | undefined;

  constructor(options: McpCallsOptions) {
    this.#o = options;
    this.#listBudget =
      options.allowsTool === undefined
        ? undefined
        : (options.listBudget ?? new BodyBudget(defaultListBudget));
    const judges = options.plainJudges;
    this.#plain = { judge: (upstream) => judges.get(upstream) as ExchangeJudge };
  }

  read(request: UpstreamRequest, headers: IncomingHttpHeaders, preRead?: ReadBody): Call {
    const body = request.body;
    const allows = this.#o.allowsTool;
    if (request.method !== "POST" || body === undefined || body.length === 0 || !this.#o.readJsonRpc) {
      // a filtered server's event stream outside a POST (a resumed one, Last-Event-ID) may replay a list
      if (allows !== undefined && request.method === "GET") return this.#streamFiltered(allows);
      return this.#plain;
    }
    if (allows !== undefined && !readableBody(headers)) return this.#refused(sendUnreadableBody);
    const read = preRead ?? readJsonRpcBody(body);
    if (read.kind === "other") return allows === undefined ? this.#plain : this.#refused(sendUnreadableBody);
    const mismatch = headersDisagree(headers, read.messages);
    if (mismatch !== undefined) {
      const id = read.kind === "call" ? (read.call.ids[0] as string) : "null";
      return this.#refused((res) => sendHeaderMismatch(res, id, mismatch));
    }
    if (allows !== undefined) {
      const refusal = filterRefusal(read, allows);
      if (refusal !== undefined) return this.#refused(refusal);
    }
    if (read.kind === "message") return this.#plain;
    const call = read.call;
    // A tool circuit guards one call and hears one answer (SPEC §3.2); a batch holding a tools/call
    // would pass its tool's circuit by (an operator's forced open included). Batches left MCP with
    // 2025-06-18 and no SDK client sends one, so such a batch is refused rather than half guarded.
    if (call.tool === undefined && call.tools !== undefined && call.tools.length > 0)
      return this.#refused((res) => sendBatchedToolCall(res, call.ids));
    const lone = !read.batch && read.messages.length === 1 ? read.messages[0] : undefined;
    const sessionless = headers["mcp-session-id"] === undefined && lone?.method !== "initialize";
    const listsTools = lone?.method === "tools/list";
    const filter =
      listsTools && allows !== undefined
        ? () => new ToolListFilter(allows, call.ids[0] as string, this.#listBudget as BodyBudget)
        : undefined;
    return new McpCall(call, this.#o, sessionless && this.#o.sessionsOnly.any, listsTools, filter);
  }

  /** A request answered at once with `answer`, never forwarded (neutral: no permit is taken). */
  #refused(answer: (res: ServerResponse) => void): Call {
    return { refuse: answer, judge: this.#plain.judge };
  }

  /** A GET on a filtered server: every list its event stream carries is filtered, as a POST's is. */
  #streamFiltered(allows: (tool: string) => boolean): Call {
    const budget = this.#listBudget as BodyBudget;
    return {
      judge: this.#plain.judge,
      bodyFilter: () => new ToolListFilter(allows, "null", budget, undefined, { streamOnly: true }),
    };
  }
}

/**
 * One JSON-RPC call on its way: judged by its answer; a tool call also admitted by its tool's circuit.
 * What the answer shows of the upstream's tools is learnt on the way (SPEC §3.2): the names of a
 * `tools/list` answer, and a tool not known yet whose call was answered with a result.
 */
class McpCall implements Call {
  readonly admit: ((upstream: Upstream, admit: Admit) => Acquisition) | undefined;
  /** A lone `tools/list` on a server with a `tools` filter: its answer leaves the filtered tools out. */
  readonly bodyFilter: (() => BodyFilter) | undefined;
  readonly #call: JsonRpcCall;
  readonly #o: McpCallsOptions;
  readonly #listsTools: boolean;
  /** The tool circuit that refused the call and will admit soonest, if any did. */
  #refusal: ToolRefusal | undefined;

  /**
   * `skipSessionsOnly`: a sessionless call, which upstreams that serve sessions only cannot take.
   * `listsTools`: a lone `tools/list`; `bodyFilter`: what its answer goes through on a filtered server.
   */
  constructor(
    call: JsonRpcCall,
    options: McpCallsOptions,
    skipSessionsOnly: boolean,
    listsTools: boolean,
    bodyFilter: (() => BodyFilter) | undefined,
  ) {
    this.#call = call;
    this.#o = options;
    this.#listsTools = listsTools;
    this.bodyFilter = bodyFilter;
    const tool = call.tool;
    const skip = skipSessionsOnly ? options.sessionsOnly : undefined;
    if (tool === undefined && skip === undefined) this.admit = undefined;
    else {
      this.admit = (upstream, admit) => {
        if (skip?.has(upstream)) return sessionsOnly;
        return tool === undefined ? admit(upstream) : this.#admitTool(upstream, admit, tool);
      };
    }
  }

  judge(upstream: Upstream): ExchangeJudge {
    const judge = new JsonRpcJudge(this.#call, this.#o.rules.get(upstream) as JsonRpcRules);
    const tool = this.#call.tool;
    // only a tools/list or a tool's call can show a tool; a name too long for a tool cannot
    if (!this.#listsTools && (tool === undefined || tool.length > maxToolNameLength)) return judge;
    const catalog = this.#o.tools.catalogOf(upstream.name);
    if (catalog === undefined) return judge; // no tool circuits: nothing to learn
    if (this.#listsTools) return new ToolListJudge(judge, catalog);
    // a known tool's call (nearly every one) costs these lookups and nothing more
    if (tool === undefined || catalog.knows(tool) || !isToolName(tool)) return judge;
    return new ToolCallWitness(judge, () => catalog.answered(tool));
  }

  answerRefusal(res: ServerResponse): boolean {
    if (this.#refusal === undefined) return false;
    sendToolUnavailable(res, this.#call.ids[0] as string, this.#refusal, this.#call.modern === true);
    return true;
  }

  /** Both circuits must admit a tool call (SPEC §3.2); the tool's is asked once the upstream's has. */
  #admitTool(upstream: Upstream, admit: Admit, tool: string): Acquisition {
    const own = admit(upstream);
    if (!own.admitted) return own;
    const circuit = this.#o.tools.circuitFor(upstream.name, tool);
    if (circuit === undefined) return own;
    const acquisition = circuit.breaker.tryAcquire();
    if (acquisition.admitted) return new PairedPermit(own, acquisition, tool);
    own.neutral(); // not sent: the upstream's circuit heard nothing
    if (this.#refusal === undefined || acquisition.retryAfterMs < this.#refusal.retryAfterMs) {
      const { state, retryAfterMs } = acquisition;
      this.#refusal = { upstream: upstream.name, tool, state, retryAfterMs };
    }
    return acquisition;
  }
}
