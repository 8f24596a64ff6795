import type { JSONRPCErrorResponse, RequestId } from "@modelcontextprotocol/sdk/types.js";
import type { ChildExit, ChildFault } from "./ChildProcessTransport.ts";

/** Why Breakwater stopped a session's process: DELETE, idle expiry, eviction at max_processes, shutdown, or a fault. */
export type StopCause = "deleted" | "idle" | "evicted" | "shutdown";

/** Why Breakwater ended a session. */
export type EndCause = StopCause | ChildFault;

const faultMessages: Record<Exclude<ChildFault, "stdout_closed">, string> = {
  message_too_large: "The MCP server wrote a message over the stdio line limit",
  stdin_stuck: "The MCP server does not read its stdin",
};

/**
 * The JSON-RPC error that answers a call still pending when its session ends (SPEC §5, §8.3): `-32603`
 * with `data.reason: "upstream_exited"` and the exit code or signal when the process ended on its own
 * or was stopped (`data.stopped`: deleted, idle or shutdown) or closed its stdout (`data.stdoutClosed`:
 * it can never answer, so it is stopped as if it had exited); for another fault of the process,
 * `data.reason` names it (`message_too_large`, `stdin_stuck`).
 */
export function pendingCallError(
  id: RequestId,
  upstream: string,
  cause: EndCause | { readonly exit: ChildExit | undefined },
): JSONRPCErrorResponse {
  if (typeof cause === "object") {
    const exit = cause.exit;
    const how = exit?.signal != null ? `signal ${exit.signal}` : `exit code ${exit?.code ?? "unknown"}`;
    return {
      jsonrpc: "2.0",
      id,
      error: {
        code: -32603,
        message: `The MCP server process exited (${how})`,
        data: {
          reason: "upstream_exited",
          upstream,
          ...(exit?.signal != null ? { signal: exit.signal } : { exitCode: exit?.code ?? null }),
        },
      },
    };
  }
  if (cause === "message_too_large" || cause === "stdin_stuck") {
    return {
      jsonrpc: "2.0",
      id,
      error: { code: -32603, message: faultMessages[cause], data: { reason: cause, upstream } },
    };
  }
  if (cause === "stdout_closed") {
    return {
      jsonrpc: "2.0",
      id,
      error: {
        code: -32603,
        message: "The MCP server process closed its stdout",
        data: { reason: "upstream_exited", upstream, stdoutClosed: true },
      },
    };
  }
  return {
    jsonrpc: "2.0",
    id,
    error: {
      code: -32603,
      message: `The MCP server process was stopped (${cause})`,
      data: { reason: "upstream_exited", upstream, stopped: cause },
    },
  };
}
