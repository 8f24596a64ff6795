import type { IncomingMessage, ServerResponse } from "node:http";

/** A web-standard HTTP handler, such as SDK 2.x's `createMcpHandler` gives. */
export interface FetchHandler {
  fetch(request: Request): Promise<Response>;
}

/**
 * Serves a node request with a web-standard handler (what `@modelcontextprotocol/node` does, in a few
 * lines): `body` is the request's body, already read; the response is streamed as it comes. The
 * request's signal aborts when the client goes away, which MCP 2026-07-28 makes the cancellation of
 * the request.
 */
export async function serveFetch(
  handler: FetchHandler,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
): Promise<void> {
  const gone = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) gone.abort();
  });
  const headers = new Headers();
  for (const [key, value] of Object.entries(req.headers))
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(", ") : value);
  const method = req.method ?? "GET";
  const request = new Request(`http://${req.headers.host ?? "127.0.0.1"}${req.url ?? "/"}`, {
    method,
    headers,
    signal: gone.signal,
    ...(method === "GET" || method === "HEAD" ? {} : { body }),
  });
  const response = await handler.fetch(request);
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body === null) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  res.on("close", () => void reader.cancel().catch(() => {}));
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    res.write(value);
  }
  res.end();
}
