import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * How a demo server behaves: answers; fails every request with 500; answers every request `200 OK`
 * with a JSON-RPC error (what a server whose backend died sends); never answers; refuses connections.
 */
export type DemoMode = "ok" | "fail" | "error" | "hang" | "down";
export const demoModes: readonly DemoMode[] = ["ok", "fail", "error", "hang", "down"];

/** Serves a request in mode `ok`, its body already read. */
export type DemoServe = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void>;

/**
 * The HTTP side of a demo MCP server, whatever its SDK: a listener whose mode can be switched to make the
 * whole server fail, hang or go down on purpose; in mode `ok` it hands each request to `serve`.
 */
export class DemoListener {
  readonly name: string;
  readonly #host: string;
  #port: number;
  #mode: DemoMode = "ok";
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(name: string, serve: DemoServe, port = 0, host = "127.0.0.1") {
    this.name = name;
    this.#port = port;
    this.#host = host;
    this.#server = createServer((req, res) => {
      this.#handle(req, res, serve).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
    this.#server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
  }

  get url(): string {
    return `http://${this.#host}:${this.#port}/mcp`;
  }

  get mode(): DemoMode {
    return this.#mode;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#port, this.#host, () => {
        this.#server.off("error", reject);
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Switches behaviour. Going `down` closes the listener and every connection; leaving it listens again. */
  async setMode(mode: DemoMode): Promise<void> {
    const previous = this.#mode;
    this.#mode = mode;
    if (mode !== "ok" || previous === "hang") this.#dropConnections();
    if (mode === "down" && previous !== "down") await this.#stopListening();
    if (mode !== "down" && previous === "down") await this.start();
  }

  async close(): Promise<void> {
    if (this.#mode !== "down") await this.#stopListening();
  }

  async #handle(req: IncomingMessage, res: ServerResponse, serve: DemoServe): Promise<void> {
    if (this.#mode === "hang") return; // never answer
    if (this.#mode === "fail") {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          jsonrpc: "2.0",
          id: null,
          error: { code: -32603, message: `${this.name} is failing` },
        }),
      );
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (this.#mode === "error") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          jsonrpc: "2.0",
          id: idOf(body),
          error: { code: -32603, message: `${this.name}: backend database unreachable` },
        }),
      );
      return;
    }
    await serve(req, res, body);
  }

  #dropConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  #stopListening(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#dropConnections();
    });
  }
}

/** The body parsed as JSON, or undefined when it is not JSON. */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

function idOf(body: Buffer): unknown {
  return (parseJson(body) as { id?: unknown } | undefined)?.id ?? null;
}
