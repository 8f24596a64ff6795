import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** What a chaos upstream does now. */
export type ChaosMode =
  | { kind: "ok" }
  | { kind: "fail" } // 500 to everything
  | { kind: "jsonrpc-error" } // 200 OK carrying a JSON-RPC error (-32603) to everything
  | { kind: "refuse" } // not listening: connections are refused
  | { kind: "hang" } // accepts, never answers
  | { kind: "slow"; ms: number } // answers after `ms`
  | { kind: "flap"; everyMs: number } // refuses and serves in turn
  | { kind: "sse-reset" }; // event streams are reset after the first event, before the answer

/**
 * An MCP-ish upstream whose behaviour can be switched while load runs, for the chaos run. Answers
 * POSTs with a small JSON-RPC result naming itself, and POSTs to `…/sse` with an event stream: a
 * progress notification, then the result. Counts the requests that reached it.
 */
export class ChaosUpstream {
  readonly name: string;
  requests = 0;
  #mode: ChaosMode = { kind: "ok" };
  #port = 0;
  #listening = false;
  #flapTimer: NodeJS.Timeout | undefined;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(name: string) {
    this.name = name;
    this.#server = createServer((req, res) => {
      this.requests++;
      req.resume();
      const mode = this.#mode;
      if (mode.kind === "hang") return;
      if (mode.kind === "fail") {
        res.writeHead(500, { "content-type": "application/json" }).end('{"error":"chaos"}');
        return;
      }
      if (mode.kind === "jsonrpc-error") {
        res.writeHead(200, { "content-type": "application/json", "x-upstream": this.name });
        res.end('{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"backend database unreachable"}}');
        return;
      }
      const result = `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"${this.name}"}]}}`;
      const answer = () => {
        if (req.url?.endsWith("/sse")) {
          res.writeHead(200, { "content-type": "text/event-stream", "x-upstream": this.name });
          res.write(
            'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}\n\n',
          );
          if (mode.kind === "sse-reset") setTimeout(() => res.socket?.resetAndDestroy(), 20);
          else setTimeout(() => res.end(`event: message\ndata: ${result}\n\n`), 20);
          return;
        }
        res.writeHead(200, { "content-type": "application/json", "x-upstream": this.name });
        res.end(result);
      };
      if (mode.kind === "slow") setTimeout(answer, mode.ms);
      else answer();
    });
    this.#server.keepAliveTimeout = 30_000;
    this.#server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async start(): Promise<void> {
    await this.#listen();
  }

  async set(mode: ChaosMode): Promise<void> {
    clearInterval(this.#flapTimer);
    this.#mode = mode;
    for (const socket of this.#sockets) socket.destroy(); // hung and kept-alive connections go
    if (mode.kind === "refuse") await this.#close();
    else await this.#listen();
    if (mode.kind === "flap") {
      this.#flapTimer = setInterval(
        () => void (this.#listening ? this.#close() : this.#listen()),
        mode.everyMs,
      );
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#flapTimer);
    await this.#close();
  }

  async #listen(): Promise<void> {
    if (this.#listening) return;
    this.#listening = true;
    await new Promise<void>((resolve) => this.#server.listen(this.#port, "127.0.0.1", resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  async #close(): Promise<void> {
    if (!this.#listening) return;
    this.#listening = false;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
    });
  }
}
