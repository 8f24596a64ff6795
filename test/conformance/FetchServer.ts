import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";

/** A web-standard handler, the shape SDK 2.x's `createMcpHandler` returns (`handler.fetch`). */
export type FetchHandler = (request: Request) => Promise<Response>;

/**
 * A node:http server on 127.0.0.1 in front of a fetch-shaped handler (what `@modelcontextprotocol/node`'s
 * `toNodeHandler` does, which the project does not install): each request is handed over as a `Request`
 * whose signal aborts when the client goes away (a closed response stream cancels the call in
 * 2026-07-28), and the `Response` is streamed back as it comes (SSE included).
 */
export class FetchServer {
  readonly #server: Server;
  readonly #path: string;
  #port = 0;

  constructor(handler: FetchHandler, path = "/mcp") {
    this.#path = path;
    this.#server = createServer((req, res) => {
      serve(handler, req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
  }

  /** The endpoint, by the name a DNS rebinding check accepts. */
  get url(): string {
    return `http://localhost:${this.#port}${this.#path}`;
  }

  get port(): number {
    return this.#port;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

async function serve(handler: FetchHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const gone = new AbortController();
  res.on("close", () => gone.abort());
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const request = new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
    method: req.method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
    signal: gone.signal,
    duplex: "half",
  } as RequestInit);
  const response = await handler(request);
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body === null) {
    res.end();
    return;
  }
  const body = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>);
  body.on("error", () => res.destroy());
  res.on("close", () => body.destroy());
  body.pipe(res);
}
