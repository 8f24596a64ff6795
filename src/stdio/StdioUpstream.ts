import type { JSONRPCRequest } from "@modelcontextprotocol/sdk/types.js";
import type { StdioConfig } from "../config/Config.ts";
import type { CircuitBreaker } from "../index.ts";
import { decodeUtf8 } from "../proxy/jsonRpc.ts";
import {
  type ResponseSink,
  type TransportFailure,
  transportFailure,
  type Upstream,
  type UpstreamRequest,
} from "../proxy/Upstream.ts";
import { ChildProcessTransport } from "./ChildProcessTransport.ts";
import { minimalEnvironment } from "./minimalEnvironment.ts";
import { type ExitReason, StdioSession } from "./StdioSession.ts";
import { WebResponseStream, webRequest } from "./webExchange.ts";

export interface StdioUpstreamOptions {
  readonly name: string;
  readonly circuit: CircuitBreaker;
  readonly config: StdioConfig;
  /** Told of each line a child writes to stderr. */
  readonly onStderrLine?: (pid: number | undefined, line: string) => void;
  /** Told when a process has ended, and why. */
  readonly onExit?: (upstream: string, reason: ExitReason) => void;
}

const sessionHeader = "mcp-session-id";

/**
 * A stdio MCP server as an upstream (SPEC §5): one process of `command` per MCP session, served over
 * Streamable HTTP by the SDK's transport, through the same `Upstream` interface as an HTTP server — the
 * proxy balances, guards and judges it like any other. An `initialize` without a session starts a
 * process (at most `max_processes` at once); requests of a session go to its process; a session ends
 * with DELETE, after `idle_timeout_secs` unused, when its process exits, or when the proxy closes.
 */
export class StdioUpstream implements Upstream {
  readonly name: string;
  readonly circuit: CircuitBreaker;
  /** Requests are not limited: processes are (`max_processes`). */
  readonly maxInFlight = 0;
  readonly #o: StdioUpstreamOptions;
  readonly #sessions = new Map<string, StdioSession>();
  readonly #idleTimers = new Map<StdioSession, NodeJS.Timeout>();
  /** Processes being started, not yet holding a session id. */
  #starting = 0;
  #inFlight = 0;
  #closed = false;
  readonly #finished = () => {
    this.#inFlight--;
  };

  constructor(options: StdioUpstreamOptions) {
    this.name = options.name;
    this.circuit = options.circuit;
    this.#o = options;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Live processes. */
  get processes(): number {
    return this.#sessions.size + this.#starting;
  }

  dispatch(request: UpstreamRequest, sink: ResponseSink): void {
    this.#inFlight++;
    const stream = new WebResponseStream(sink, this.#finished);
    sink.start(stream);
    if (stream.over) return;
    void this.#route(request, sink, stream).catch((error: unknown) => {
      if (!stream.over) fail(sink, stream, error as Error, {});
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#sessions.values()].map((session) => session.end()));
  }

  async #route(request: UpstreamRequest, sink: ResponseSink, stream: WebResponseStream): Promise<void> {
    const header = headerValue(request.rawHeaders, sessionHeader);
    if (header !== undefined) {
      const session = this.#sessions.get(header);
      if (session === undefined) return stream.deliver(sessionNotFound());
      this.#touch(session);
      stream.deliver(await session.http.handleRequest(webRequest(request)));
      return;
    }
    const initialize = initializeRequest(request);
    if (initialize === undefined) return stream.deliver(noSession());
    if (this.#closed || this.processes >= this.#o.config.maxProcesses) {
      const error = new Error(`${this.name}: max_processes (${this.#o.config.maxProcesses}) reached`);
      return fail(sink, stream, error, { nothingSent: true, overloaded: true });
    }
    const session = await this.#start(sink, stream);
    if (session === undefined) return;
    // the request's deadline or its client gone: the process that would have served it goes too
    stream.onAbort = () => void session.end();
    if (!(await session.initialize(initialize))) {
      const exit = session.exit;
      const how = exit?.signal != null ? `signal ${exit.signal}` : `exit code ${exit?.code ?? "unknown"}`;
      return fail(
        sink,
        stream,
        new Error(`${this.name}: the process exited before answering initialize (${how})`),
        {},
      );
    }
    if (stream.over) return;
    const response = await session.http.handleRequest(webRequest(request));
    stream.onAbort = undefined;
    const id = session.sessionId;
    if (id !== undefined) {
      this.#sessions.set(id, session);
      this.#touch(session);
    }
    stream.deliver(response);
  }

  /** Starts a process for a new session; a command that cannot start fails the request (a 502). */
  async #start(sink: ResponseSink, stream: WebResponseStream): Promise<StdioSession | undefined> {
    const { config, onStderrLine } = this.#o;
    const child = new ChildProcessTransport({
      command: config.command,
      cwd: config.cwd,
      env: minimalEnvironment(config.env),
      onStderrLine: (line) => onStderrLine?.(child.pid, line),
    });
    const session = new StdioSession(child, this.name, (ended, reason) => this.#ended(ended, reason));
    this.#starting++;
    try {
      await child.start();
    } catch (error) {
      fail(sink, stream, error as Error, { nothingSent: true });
      return undefined;
    } finally {
      this.#starting--;
    }
    return session;
  }

  #ended(session: StdioSession, reason: ExitReason): void {
    clearTimeout(this.#idleTimers.get(session));
    this.#idleTimers.delete(session);
    const id = session.sessionId;
    if (id !== undefined && this.#sessions.get(id) === session) this.#sessions.delete(id);
    this.#o.onExit?.(this.name, reason);
  }

  /** A session in use: its idle time starts again. */
  #touch(session: StdioSession): void {
    clearTimeout(this.#idleTimers.get(session));
    const timer = setTimeout(() => void session.end(), this.#o.config.idleTimeoutMs);
    timer.unref();
    this.#idleTimers.set(session, timer);
  }
}

/** Ends the exchange with a transport failure of the given facts. */
function fail(
  sink: ResponseSink,
  stream: WebResponseStream,
  error: Error,
  facts: Partial<Omit<TransportFailure, "error">>,
): void {
  stream.abort(error);
  sink.error(transportFailure(error, facts));
}

function headerValue(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === name) return rawHeaders[i + 1];
  }
  return undefined;
}

/** The request's `initialize` message (the only request that may come without a session), if it is one. */
function initializeRequest(request: UpstreamRequest): JSONRPCRequest | undefined {
  if (request.method !== "POST" || request.body === undefined) return undefined;
  try {
    const message = JSON.parse(decodeUtf8(request.body)) as JSONRPCRequest;
    return message.method === "initialize" && message.id !== undefined ? message : undefined;
  } catch {
    return undefined;
  }
}

function jsonRpcError(status: number, code: number, message: string): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code, message } }), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** What an MCP server answers for a session it does not know: the client starts a new one. */
function sessionNotFound(): Response {
  return jsonRpcError(404, -32001, "Session not found");
}

function noSession(): Response {
  return jsonRpcError(400, -32000, "Bad Request: no session; send initialize first");
}
