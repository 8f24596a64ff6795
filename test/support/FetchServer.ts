import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type NodeIncomingMessageLike, toNodeHandler } from "@modelcontextprotocol/node";

/** A web-standard handler, the shape of SDK 2.x's `createMcpHandler(...).fetch`. */
export type FetchHandler = (request: Request) => Promise<Response>;

export interface FetchServerOptions {
  /** The MCP endpoint's path (default `/mcp`). */
  readonly path?: string;
  /** Told of each request before it is handed over: what a test records of what reached the server. */
  readonly onRequest?: (req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * A node:http server on 127.0.0.1, at a port of the system's choosing, in front of a fetch-shaped
 * handler through the SDK's own adapter (`@modelcontextprotocol/node`'s `toNodeHandler`): the request's
 * signal aborts when the client goes away (a closed response stream cancels the call in 2026-07-28),
 * and the response streams back as it comes (SSE included).
 */
export class FetchServer {
  readonly #server: Server;
  readonly #path: string;
  #port = 0;

  constructor(handler: FetchHandler, options: FetchServerOptions = {}) {
    this.#path = options.path ?? "/mcp";
    const serve = toNodeHandler({ fetch: handler });
    this.#server = createServer((req, res) => {
      options.onRequest?.(req, res);
      void serve(req as NodeIncomingMessageLike, res); // (its type predates exactOptionalPropertyTypes)
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
