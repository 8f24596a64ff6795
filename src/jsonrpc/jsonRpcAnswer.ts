/** A JSON-RPC error object (JSON-RPC 2.0 §5.1). */
export interface JsonRpcError {
  readonly code: number;
  readonly message: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

/**
 * The one writer of the JSON-RPC answers Breakwater makes itself (fallbacks, refusals, timeouts, tool
 * errors): each takes a request id as the client wrote it — its JSON text, `null` when there is none —
 * and echoes it byte for byte, so an id is never re-encoded (`"caf\u00e9"` stays as written; an integer
 * beyond 2^53 is not rounded).
 */
export function errorAnswer(id: string, error: JsonRpcError): string {
  return `{"jsonrpc":"2.0","id":${id},"error":${JSON.stringify(error)}}`;
}

/** A JSON-RPC result answer; `id` as the client wrote it (see {@link errorAnswer}). */
export function resultAnswer(id: string, result: unknown): string {
  return `{"jsonrpc":"2.0","id":${id},"result":${JSON.stringify(result)}}`;
}

/** The same error for each of a batch's request ids, as the batch's answer: an array (JSON-RPC 2.0 §6). */
export function batchErrorAnswer(ids: readonly string[], error: JsonRpcError): string {
  const tail = `,"error":${JSON.stringify(error)}}`;
  return `[${ids.map((id) => `{"jsonrpc":"2.0","id":${id}${tail}`).join(",")}]`;
}
