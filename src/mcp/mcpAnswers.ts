import type { ServerResponse } from "node:http";
import type { CircuitState } from "../breaker/CircuitState.ts";
import { batchErrorAnswer, errorAnswer, resultAnswer } from "../jsonrpc/jsonRpcAnswer.ts";

const complete = { resultType: "complete" } as const;

/** A tool circuit that refused a call: where, and for how long. */
export interface ToolRefusal {
  readonly upstream: string;
  readonly tool: string;
  readonly state: CircuitState;
  readonly retryAfterMs: number;
}

/**
 * The answer to a tool call whose tool circuit refused it (SPEC §3.2): the server is fine and the
 * session lives on, so it is a `200` with a tool execution error that the model can read and act on,
 * and `_meta["breakwater/circuit"]` for programs. `id` is the call's id as JSON text.
 */
export function sendToolUnavailable(
  res: ServerResponse,
  id: string,
  refusal: ToolRefusal,
  modern: boolean,
): void {
  send(res, 200, resultAnswer(id, toolUnavailableResult(refusal, modern, "its last calls failed")));
}

/** What refused a tool call, as `_meta["breakwater/circuit"]` names it. */
export interface Unavailable {
  /** The server, where the tool was reached through the aggregate (SPEC §7.2). */
  readonly server?: string | undefined;
  readonly upstream?: string | undefined;
  /** The tool's name as the model called it. */
  readonly tool: string;
  readonly state: string;
  readonly retryAfterMs: number;
}

/**
 * The tool execution error a model reads when a tool is turned away (`why`: what is failing, unless an
 * operator forced its circuit open). To a request of MCP 2026-07-28 (`modern`) it carries `resultType:
 * "complete"`, which that revision requires of every result (basic/index.mdx; the SDK 2.x client
 * refuses a result without it: INVALID_RESULT); to an earlier-era request, the earlier shape (SPEC §8.1).
 */
export function toolUnavailableResult(refusal: Unavailable, modern: boolean, why: string): object {
  const { server, upstream, tool, state, retryAfterMs } = refusal;
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1_000));
  const reason = state === "forced_open" ? "an operator has turned it off" : why;
  return {
    ...(modern ? complete : undefined),
    isError: true,
    content: [
      {
        type: "text",
        text: `Tool ${JSON.stringify(tool)} is temporarily unavailable: ${reason}. Try again in ${seconds} s, or use another tool.`,
      },
    ],
    _meta: {
      "breakwater/circuit": {
        ...(server === undefined ? undefined : { server }),
        ...(upstream === undefined ? undefined : { upstream }),
        tool,
        state,
        retryAfterMs,
      },
    },
  };
}

/**
 * The answer to a request whose MCP routing headers disagree with its body (MCP 2026-07-28): 400 with
 * JSON-RPC error -32020. `id` is the request's id as JSON text (`null` for a notification).
 */
export function sendHeaderMismatch(res: ServerResponse, id: string, problem: string): void {
  const error = { code: -32020, message: `Header mismatch: ${problem}` };
  send(res, 400, errorAnswer(id, error));
}

/**
 * The answer to a batch that holds a `tools/call` (see `McpCalls.read`): 400 with a JSON-RPC error
 * -32600 (invalid request) for each request id of the batch (`ids` as the client wrote them).
 */
export function sendBatchedToolCall(res: ServerResponse, ids: readonly string[]): void {
  const error = {
    code: -32600,
    message: "Invalid request: tools/call cannot be batched through this proxy; send each call alone",
    data: { reason: "batched_tool_call" },
  };
  send(res, 400, batchErrorAnswer(ids, error));
}

/**
 * The answer to a `tools/call` of a tool the server's `tools` filter leaves out (SPEC §7.1): 200 with
 * JSON-RPC error -32602 (invalid params: the name is no tool of this server, as an MCP server answers
 * a tool it does not have), `data.reason` for programs. An error has no `resultType` in either era.
 */
export function sendToolNotAllowed(res: ServerResponse, id: string, tool: string): void {
  const error = {
    code: -32602,
    message: `Tool ${JSON.stringify(tool)} is not available on this server`,
    data: { reason: "tool_not_allowed", tool },
  };
  send(res, 200, errorAnswer(id, error));
}

/**
 * The answer to a POST a server with a `tools` filter cannot read (SPEC §7.1): a content coding, a
 * charset other than UTF-8, or a body that is no JSON-RPC — the server might read it otherwise, and a
 * call of a tool the filter leaves out would pass unseen. 400 with JSON-RPC error -32600.
 */
export function sendUnreadableBody(res: ServerResponse): void {
  const error = {
    code: -32600,
    message: "Invalid request: this server takes JSON-RPC it can read: UTF-8 JSON without a content coding",
    data: { reason: "unreadable_body" },
  };
  send(res, 400, errorAnswer("null", error));
}

/**
 * The answer to a batch that holds a `tools/list` on a server with a `tools` filter: 400 with JSON-RPC
 * error -32600 for each request id, as for a batched tool call (only a lone list's answer is filtered).
 */
export function sendBatchedToolList(res: ServerResponse, ids: readonly string[]): void {
  const error = {
    code: -32600,
    message: "Invalid request: tools/list cannot be batched on this server; send it alone",
    data: { reason: "batched_tool_list" },
  };
  send(res, 400, batchErrorAnswer(ids, error));
}

/**
 * Why a `tools/list` answer could not be filtered: past the bound, in a form the proxy cannot read,
 * or more lists held at once than the proxy's budget for them allows.
 */
export type UnfilteredList = "list_too_large" | "list_unreadable" | "proxy_resources";

/**
 * What the client gets instead of a `tools/list` answer the server's `tools` filter could not be
 * applied to (SPEC §7.1): JSON-RPC error -32603, never the unfiltered list. `id` as the client wrote it.
 */
export function unfilteredListAnswer(id: string, reason: UnfilteredList, maxBytes: number): string {
  const why =
    reason === "list_too_large"
      ? `the server's tool list is larger than ${maxBytes} bytes`
      : reason === "list_unreadable"
        ? "the server's tool list is compressed in a way the proxy cannot read"
        : "the proxy holds too many tool lists at once; try again";
  const error = {
    code: -32603,
    message: `The tools filter cannot be applied: ${why}`,
    data: { reason },
  };
  return errorAnswer(id, error);
}

function send(res: ServerResponse, status: number, text: string): void {
  res
    .writeHead(status, {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(text)),
      "cache-control": "no-store",
    })
    .end(text);
}
