import { randomUUID } from "node:crypto";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { JSONRPCMessage, JSONRPCRequest, RequestId } from "@modelcontextprotocol/sdk/types.js";
import { systemTimers, type Timer, type Timers } from "../../time/Timers.ts";
import type { ChildExit, ChildFault, ChildProcessTransport } from "./ChildProcessTransport.ts";
import { type EndCause, pendingCallError } from "./pendingCallError.ts";

/** Why a session's process ended: Breakwater stopped it (DELETE, idle, shutdown), or it exited on its own. */
export type ExitReason = "stopped" | "exited" | "crashed";

export interface StdioSessionOptions {
  readonly upstream: string;
  /** A session with no call in flight and no open stream for this long is ended (`idle_timeout_secs`). */
  readonly idleTimeoutMs: number;
  readonly timers?: Timers;
  /** Told when the process breaks a bound of the transport; the session then ends. */
  readonly onFault?: (pid: number | undefined, fault: ChildFault) => void;
  /** Told once, when the session's process is gone (deleted, idle, stopped, or dead). */
  readonly onEnded: (session: StdioSession, reason: ExitReason) => void;
  /**
   * Told once, when Breakwater begins to end the session (an exit of the process on its own is told
   * by `onEnded` alone), with how long it had been idle then.
   */
  readonly onEnding?: (session: StdioSession, cause: EndCause, idleMs: number) => void;
}

/**
 * One MCP session of a stdio upstream (SPEC §5): the SDK's Streamable HTTP server transport toward the
 * client, bridged message by message to the session's own process. Requests the client sends are
 * remembered until the process answers them, so that each of its notifications and requests reaches
 * the right stream: a progress notification the stream of the request that holds its token; anything
 * else the one request in flight, if there is exactly one, or the session's GET stream.
 *
 * However the session ends — its process exits, Breakwater stops it (DELETE, idle, shutdown), or the
 * process breaks the bounds of the transport — every pending request is answered with a JSON-RPC
 * error first, never left to an empty stream (SPEC §5, §8.3). The idle timer never ends a session with
 * a call in flight or an open stream.
 */
export class StdioSession {
  readonly http: WebStandardStreamableHTTPServerTransport;
  readonly #child: ChildProcessTransport;
  readonly #o: StdioSessionOptions;
  readonly #timers: Timers;
  /** The client's requests the process has not answered yet. */
  readonly #pending = new Set<RequestId>();
  /** Progress tokens of pending requests, each to its request's id. */
  readonly #progress = new Map<string | number, RequestId>();
  /** HTTP exchanges of this session whose answer has not ended (a GET stream stands until it ends). */
  #exchanges = 0;
  #idleTimer: Timer | undefined;
  /** When the session was last used (`timers.now()`): an exchange began or ended, or a call was answered. */
  #lastUsed: number;
  /** The client's `initialize`, sent to the process ahead of the client's transport, and its answer. */
  #initialize:
    | {
        id: RequestId;
        answer: JSONRPCMessage | undefined;
        answered: (answer: JSONRPCMessage | undefined) => void;
      }
    | undefined;
  /** Why Breakwater ended the session, once it has begun to. */
  #endCause: EndCause | undefined;
  /** The end in progress or done: every caller waits for the same one. */
  #ending: Promise<void> | undefined;

  constructor(child: ChildProcessTransport, options: StdioSessionOptions) {
    this.#child = child;
    this.#o = options;
    this.#timers = options.timers ?? systemTimers;
    this.#lastUsed = this.#timers.now();
    this.http = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessionclosed: () => void this.end("deleted"),
    });
    this.http.onmessage = (message) => this.#fromClient(message);
    child.onmessage = (message) => this.#fromProcess(message);
    child.onfault = (fault) => {
      if (this.#ending === undefined) options.onFault?.(child.pid, fault);
      void this.end(fault);
    };
    child.onclose = () => {
      const exit = child.exit;
      const reason: ExitReason =
        this.#endCause !== undefined ? "stopped" : exit?.code === 0 ? "exited" : "crashed";
      this.#timers.clearTimeout(this.#idleTimer);
      this.#initialize?.answered(undefined);
      this.#answerPending(this.#endCause ?? { exit });
      void this.end(undefined);
      options.onEnded(this, reason);
    };
    this.http.onclose = () => void this.end("deleted");
  }

  /** Spawns the process; rejects when it cannot start. */
  start(): Promise<void> {
    return this.#child.start();
  }

  /**
   * Sends the client's `initialize` to the process first, so that a command that exits before
   * answering it fails the request (a 502) instead of opening a session. Resolves with the process's
   * answer (which then goes to the client when its transport passes the request on), or undefined
   * when the process is gone first.
   */
  initialize(message: JSONRPCRequest): Promise<JSONRPCMessage | undefined> {
    return new Promise((resolve) => {
      this.#initialize = { id: message.id, answer: undefined, answered: resolve };
      this.#child.send(message).catch(() => {}); // a child gone answers through onclose
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

  /** Whether a call is in flight or a stream is open: such a session is never idle. */
  get busy(): boolean {
    return this.#pending.size > 0 || this.#exchanges > 0;
  }

  /** Whether the session is ending, or has ended: it takes no more requests. */
  get ending(): boolean {
    return this.#ending !== undefined;
  }

  /** When the session was last used, on its timers' scale: the least recent is the first to go. */
  get lastUsed(): number {
    return this.#lastUsed;
  }

  /** How long the session has gone without a call in flight or an open stream; 0 while busy. */
  get idleMs(): number {
    return this.busy ? 0 : this.#timers.now() - this.#lastUsed;
  }

  /**
   * An HTTP exchange of this session begins: the session is busy until the returned function is
   * called (its answer ended), and its idle time starts again from then.
   */
  exchange(): () => void {
    this.#exchanges++;
    this.#lastUsed = this.#timers.now();
    this.#timers.clearTimeout(this.#idleTimer);
    let over = false;
    return () => {
      if (over) return;
      over = true;
      this.#exchanges--;
      this.touch();
    };
  }

  /** The session was used: its idle time starts again. */
  touch(): void {
    if (this.#ending !== undefined) return;
    this.#lastUsed = this.#timers.now();
    this.#timers.clearTimeout(this.#idleTimer);
    this.#idleTimer = this.#timers.setTimeout(() => this.#idle(), this.#o.idleTimeoutMs);
  }

  /**
   * Ends the session: each pending call answered with a JSON-RPC error naming `cause`, then the
   * client's transport closed and the process stopped in steps. `undefined`: the process is gone.
   */
  end(cause: EndCause | undefined): Promise<void> {
    if (this.#ending !== undefined) return this.#ending;
    if (cause !== undefined) this.#o.onEnding?.(this, cause, this.idleMs);
    this.#timers.clearTimeout(this.#idleTimer);
    if (cause !== undefined) this.#endCause = cause;
    const answered = this.#answerPending(cause ?? { exit: this.#child.exit });
    this.#ending = (async () => {
      await answered; // on their streams before the transport closes them
      await this.http.close().catch(() => {});
      await this.#child.close();
    })();
    return this.#ending;
  }

  #idle(): void {
    if (this.busy) this.touch();
    else void this.end("idle");
  }

  #fromClient(message: JSONRPCMessage): void {
    const initialize = this.#initialize;
    if (initialize?.answer !== undefined && "id" in message && message.id === initialize.id) {
      this.#initialize = undefined;
      this.#toClient(initialize.answer); // answered already, by the process
      return;
    }
    if ("method" in message && "id" in message) {
      this.#pending.add(message.id);
      const token = (message.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta
        ?.progressToken;
      if (typeof token === "string" || typeof token === "number") this.#progress.set(token, message.id);
    }
    this.#child.send(message).catch(() => {}); // a child gone or stuck answers through onclose/onfault
  }

  #fromProcess(message: JSONRPCMessage): void {
    if (!("method" in message) && "id" in message) {
      // an answer to the client's request: the transport routes it by its id
      const id = (message as { id?: RequestId }).id;
      const initialize = this.#initialize;
      if (initialize !== undefined && initialize.answer === undefined && id === initialize.id) {
        initialize.answer = message;
        initialize.answered(message);
        return;
      }
      if (id !== undefined) this.#forget(id);
      this.#toClient(message);
      return;
    }
    const related = this.#relatedRequest(message);
    this.#toClient(message, related);
  }

  /** Sends `message` to the client; one whose stream is gone (the client left) is dropped. */
  #toClient(message: JSONRPCMessage, relatedRequestId?: RequestId): Promise<void> {
    const options = relatedRequestId === undefined ? {} : { relatedRequestId };
    return this.http.send(message, options).catch(() => {});
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
    if (!this.busy) this.touch();
  }

  /** Answers each pending request with the error `cause` calls for: never a hang, never an empty stream. */
  #answerPending(cause: EndCause | { exit: ChildExit | undefined }): Promise<unknown> {
    const sent: Promise<void>[] = [];
    for (const id of [...this.#pending]) {
      this.#pending.delete(id);
      sent.push(this.#toClient(pendingCallError(id, this.#o.upstream, cause)));
    }
    this.#progress.clear();
    return Promise.all(sent);
  }
}
