import { errorAnswer } from "../jsonrpc/jsonRpcAnswer.ts";

/**
 * What ends an upstream event left unfinished when the proxy ends the stream itself, so that no client
 * takes it for a message: it is made an event of a type MCP clients ignore (the SDK's client takes
 * only events whose type is empty or "message"; a browser's EventSource fires no `onmessage` for
 * it). Where the upstream stopped is not known — in a line, or just after one — and must not matter:
 * in a line, the first `event:` line is only its tail (a field the client drops or a value made
 * longer), and the second sets the type; just after a line, both set it. Only then does a blank line
 * dispatch the event. A bare "\n\n" would have dispatched the truncated event as a message.
 */
const discardUnfinished = "event: breakwater-discarded\nevent: breakwater-discarded\n\n";

/**
 * The events that end an event stream whose JSON-RPC answer did not come in time (SPEC §3.1): one
 * error per unanswered request id (`ids` as the client wrote them), after the upstream's last event
 * is made harmless when it was left unfinished.
 */
export function answerTimeoutEvents(
  ids: readonly string[],
  upstream: string,
  atEventBoundary: boolean,
): string {
  const error = { code: -32603, message: "Upstream answer timed out", data: { reason: "timeout", upstream } };
  let text = atEventBoundary ? "" : discardUnfinished;
  for (const id of ids) text += `event: message\ndata: ${errorAnswer(id, error)}\n\n`;
  return text;
}
