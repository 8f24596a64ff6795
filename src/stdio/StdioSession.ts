import { randomUUID } from "node:crypto";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { JSONRPCMessage, JSONRPCRequest, RequestId } from "@modelcontextprotocol/sdk/types.js";
import type { ChildExit, ChildProcessTransport } from "./ChildProcessTransport.ts";

/** Why a session's process ended: Breakwater stopped it (DELETE, idle, shutdown), or it exited on its own. */
export type ExitReason = "stopped" | "exited" | "crashed";

/**
 * One MCP session of a stdio upstream (SPEC §5): the SDK's Streamable HTTP server transport toward the
 * client, bridged message by message to the session's own process. Requests the client sends are
 * remembered until the process answers them, so that each of its notifications and requests reaches
 * the right stream: a progress notification the stream of the request that holds its token; anything
 * else the one request in flight, if there is exactly one, or the session's GET stream. When the
 * process exits, every pending request is answered with a JSON-RPC error (`upstream_exited`) at once,
 * and the session ends.
 */
export class StdioSession {
  readonly http: WebStandardStreamableHTTPServerTransport;
  readonly #child: ChildProcessTransport;
  readonly #upstream: string;
  /** The client's requests the process has not answered yet. */
  readonly #pending = new Set<RequestId>();
  /** Progress tokens of pending requests, each to its request's id. */
  readonly #progress = new Map<string | number, RequestId>();
  /** The client's `initialize`, sent to the process ahead of the client's transport, and its answer. */
  #initialize:
    | { id: RequestId; answer: JSONRPCMessage | undefined; answered: (ok: boolean) => void }
    | undefined;
  /** The end in progress or done: every caller waits for the same one. */
  #ending: Promise<void> | undefined;

  /** `onEnded`: told once, when the session's process is gone (deleted, idle, stopped, or dead). */
  constructor(
    child: ChildProcessTransport,
    upstream: string,
    onEnded: (session: StdioSession, reason: ExitReason) => void,
  ) {
    this.#child = child;
    this.#upstream = upstream;
    this.http = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessionclosed: () => void this.end(),
    });
    this.http.onmessage = (message) => this.#fromClient(message);
    child.onmessage = (message) => this.#fromProcess(message);
    child.onclose = () => {
      const exit = child.exit;
      const reason: ExitReason =
        this.#ending !== undefined ? "stopped" : exit?.code === 0 ? "exited" : "crashed";
      if (this.#initialize?.answer === undefined) this.#initialize?.answered(false);
      this.#processGone(exit);
      onEnded(this, reason);
    };
    this.http.onclose = () => void this.end();
  }

  /**
   * Sends the client's `initialize` to the process first, so that a command that exits before
   * answering it fails the request (a 502) instead of opening a session. Resolves true once the
   * process has answered (the answer then goes to the client when its transport passes the request
   * on), false when the process is gone first.
   */
  initialize(message: JSONRPCRequest): Promise<boolean> {
    return new Promise((resolve) => {
      this.#initialize = { id: message.id, answer: undefined, answered: resolve };
      void this.#child.send(message);
    });
  }

  get sessionId(): string | undefined {
    return this.http.sessionId;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** How the process ended; undefined while it runs. */
  get exit(): ChildExit | undefined {
    return this.#child.exit;
  }

  /** Ends the session: the client's transport closed, the process stopped in steps. */
  end(): Promise<void> {
    this.#ending ??= (async () => {
      await this.http.close().catch(() => {});
      await this.#child.close();
    })();
    return this.#ending;
  }

  #fromClient(message: JSONRPCMessage): void {
    const initialize = this.#initialize;
    if (initialize?.answer !== undefined && "id" in message && message.id === initialize.id) {
      this.#initialize = undefined;
      void this.http.send(initialize.answer); // answered already, by the process
      return;
    }
    if ("method" in message && "id" in message) {
      this.#pending.add(message.id);
      const token = (message.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta
        ?.progressToken;
      if (typeof token === "string" || typeof token === "number") this.#progress.set(token, message.id);
    }
    void this.#child.send(message);
  }

  #fromProcess(message: JSONRPCMessage): void {
    if (!("method" in message) && "id" in message) {
      // an answer to the client's request: the transport routes it by its id
      const id = (message as { id?: RequestId }).id;
      const initialize = this.#initialize;
      if (initialize !== undefined && initialize.answer === undefined && id === initialize.id) {
        initialize.answer = message;
        initialize.answered(true);
        return;
      }
      if (id !== undefined) this.#forget(id);
      void this.http.send(message);
      return;
    }
    const related = this.#relatedRequest(message);
    void this.http.send(message, related === undefined ? {} : { relatedRequestId: related });
  }

  /** Which pending request a notification or a request of the process belongs to, if any can tell. */
  #relatedRequest(message: JSONRPCMessage): RequestId | undefined {
    const params = (message as { params?: { progressToken?: unknown } }).params;
    const token = params?.progressToken;
    if (typeof token === "string" || typeof token === "number") {
      const related = this.#progress.get(token);
      if (related !== undefined) return related;
    }
    if (this.#pending.size === 1) return this.#pending.values().next().value;
    return undefined; // the session's GET stream
  }

  #forget(id: RequestId): void {
    this.#pending.delete(id);
    for (const [token, request] of this.#progress) if (request === id) this.#progress.delete(token);
  }

  /** The process exited or closed its stdout: each pending request gets an error, never a hang. */
  #processGone(exit: ChildExit | undefined): void {
    const how = exit?.signal != null ? `signal ${exit.signal}` : `exit code ${exit?.code ?? "unknown"}`;
    for (const id of [...this.#pending]) {
      this.#forget(id);
      void this.http.send({
        jsonrpc: "2.0",
        id,
        error: {
          code: -32603,
          message: `The MCP server process exited (${how})`,
          data: {
            reason: "upstream_exited",
            upstream: this.#upstream,
            ...(exit?.signal != null ? { signal: exit.signal } : { exitCode: exit?.code ?? null }),
          },
        },
      });
    }
    void this.end();
  }
}
