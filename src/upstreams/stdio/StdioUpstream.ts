import type { JSONRPCRequest } from "@modelcontextprotocol/sdk/types.js";
import type { CircuitBreaker } from "../../breaker/CircuitBreaker.ts";
import type { StdioConfig } from "../../config/Config.ts";
import { systemTimers, type Timers } from "../../time/Timers.ts";
import {
  type ProcessSlots,
  type ResponseSink,
  type TransportFailure,
  transportFailure,
  type Upstream,
  type UpstreamPeer,
  type UpstreamRequest,
} from "../Upstream.ts";
import { type ChildFault, ChildProcessTransport } from "./ChildProcessTransport.ts";
import { checkInitialize, headerValue, noSession, refusedInitialize } from "./initializeRequest.ts";
import { minimalEnvironment } from "./minimalEnvironment.ts";
import { type Era, probeTimeoutMs } from "./modern/EraProbe.ts";
import { ModernFront } from "./modern/ModernFront.ts";
import { modernMessage } from "./modern/modernRequest.ts";
import { ProcessExitedError } from "./ProcessExitedError.ts";
import { ProcessTable } from "./ProcessTable.ts";
import type { EndCause } from "./pendingCallError.ts";
import { RefusalLog } from "./RefusalLog.ts";
import { type ExitReason, StdioSession } from "./StdioSession.ts";
import { sessionNotFound } from "./sessionNotFound.ts";
import { WebResponseStream, webRequest } from "./webExchange.ts";

export interface StdioUpstreamOptions {
  readonly name: string;
  readonly circuit: CircuitBreaker;
  readonly config: StdioConfig;
  /** Told of each line a child writes to stderr. */
  readonly onStderrLine?: (pid: number | undefined, line: string) => void;
  /**
   * Told when a process breaks a bound of the transport (a stdout line over the limit, a stdin it
   * does not read): its session is ended, its pending calls answered with the fault.
   */
  readonly onFault?: (pid: number | undefined, fault: ChildFault) => void;
  /** Told when a process has ended, and why. */
  readonly onExit?: (upstream: string, reason: ExitReason) => void;
  /** Idle times and the steps of stopping a process; default `systemTimers`. */
  readonly timers?: Timers;
  /** Where sessions ended to make room, idle ones, and refusals at `max_processes` are logged. */
  readonly log?: StdioLog;
  /** How long a fresh process has to answer the era probe; default {@link probeTimeoutMs}. */
  readonly probeTimeoutMs?: number;
}

/** The log lines of a stdio upstream's sessions (a pino logger is one). */
export interface StdioLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * How long a new session waits for the slot of a process being stopped to make room for it: the steps
 * of stopping (stdin closed, SIGTERM after 2 s, SIGKILL after 5 s more) with room to spare. After it,
 * or when the client's request ends first, the answer is 503 `overloaded`.
 */
export const slotWaitMs = 10_000;

/** Refusals at `max_processes` are logged at most once per this, per upstream (the rest counted). */
export const refusalLogIntervalMs = 60_000;

const sessionHeader = "mcp-session-id";

/**
 * A stdio MCP server as an upstream (SPEC §5): one process of `command` per MCP session, served over
 * Streamable HTTP by the SDK's transport, through the same `Upstream` interface as an HTTP server — the
 * proxy balances, guards and judges it like any other. An `initialize` without a session starts a
 * process (at most `max_processes` at once, counted from spawn to exit); requests of a session go to
 * its process; a session ends with DELETE, after `idle_timeout_secs` without a call in flight or an
 * open stream, when its process exits, or when the proxy closes. At `max_processes`, the least
 * recently used session with no call in flight and no open stream is ended to make room for a new
 * one; only when every process is busy is the answer 503 `overloaded` (logged at most once a minute).
 */
const pipePeer: UpstreamPeer = { transport: "pipe" };

export class StdioUpstream implements Upstream {
  readonly name: string;
  readonly circuit: CircuitBreaker;
  /** Requests are not limited: processes are (`max_processes`). */
  readonly maxInFlight = 0;
  /** Requests reach its processes over their stdin and stdout. */
  readonly peer = pipePeer;
  readonly #o: StdioUpstreamOptions;
  readonly #table: ProcessTable<StdioSession>;
  readonly #refusals: RefusalLog;
  readonly #modern: ModernFront;
  #inFlight = 0;

  constructor(options: StdioUpstreamOptions) {
    this.name = options.name;
    this.circuit = options.circuit;
    this.#o = options;
    const timers = options.timers ?? systemTimers;
    this.#table = new ProcessTable<StdioSession>(options.config.maxProcesses, timers);
    this.#refusals = new RefusalLog(
      (suppressed) => this.#logRefusal(suppressed),
      refusalLogIntervalMs,
      timers,
    );
    this.#modern = new ModernFront({
      upstream: this.name,
      circuit: options.circuit,
      table: this.#table,
      newChild: () => this.#newChild(),
      idleTimeoutMs: options.config.idleTimeoutMs,
      probeTimeoutMs: options.probeTimeoutMs ?? probeTimeoutMs,
      slotWaitMs,
      timers,
      onExit: (reason) => options.onExit?.(this.name, reason),
      onIdle: (pid) => options.log?.info({ upstream: this.name, pid }, "stdio pool process stopped: idle"),
      onEraLearnt: (era) => options.log?.info({ upstream: this.name, era }, "stdio server era learnt"),
      ...(options.onFault === undefined ? {} : { onFault: options.onFault }),
      onFull: () => this.#refusals.refused(),
    });
  }

  /**
   * A server of the 2026-07-28 era serves requests without a session (SPEC §8.3); one of the earlier era
   * runs a process per session (SPEC §5), so a sessionless call other than `initialize` is balanced onto
   * the upstreams that do. Known once a process of it has been probed: asked before, it starts one (in
   * the background, once) to learn it.
   */
  get servesSessionless(): boolean {
    if (this.#modern.era === undefined) this.#modern.learnEra();
    return this.#modern.era === "modern";
  }

  /** The era learnt of its server; undefined before a process of it was probed. */
  get era(): Era | undefined {
    return this.#modern.era;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** No health checks: a check's `initialize` would start a process each time. */
  healthCheck(): undefined {
    return undefined;
  }

  /** Live processes: starting ones included, from spawn to exit. */
  get processes(): number {
    return this.#table.size;
  }

  /** Live and busy processes, and `max_processes`, for `/health`. */
  get processSlots(): ProcessSlots {
    return this.#table.slots;
  }

  dispatch(request: UpstreamRequest, sink: ResponseSink): void {
    this.#inFlight++;
    const modern =
      headerValue(request.rawHeaders, sessionHeader) === undefined ? modernMessage(request) : undefined;
    if (modern !== undefined) {
      this.#modern.serve(modern, sink, () => this.#inFlight--);
      return;
    }
    const stream = new WebResponseStream(sink, () => this.#inFlight--);
    sink.start(stream);
    if (stream.over) return;
    void this.#route(request, sink, stream).catch((error: unknown) => {
      if (!stream.over) fail(sink, stream, error as Error, {});
    });
  }

  /** Ends every session (pending calls answered `shutdown`) and stops every process, starting ones too. */
  close(): Promise<void> {
    this.#refusals.close();
    return Promise.all([this.#modern.close("shutdown"), this.#table.close("shutdown")]).then(() => {});
  }

  async #route(request: UpstreamRequest, sink: ResponseSink, stream: WebResponseStream): Promise<void> {
    const header = headerValue(request.rawHeaders, sessionHeader);
    if (header !== undefined) {
      const session = this.#table.get(header);
      if (session === undefined || session.ending) return stream.deliver(sessionNotFound(request, this.name));
      stream.onOver = session.exchange();
      stream.deliver(await session.http.handleRequest(webRequest(request)));
      return;
    }
    const check = checkInitialize(request);
    if (check.kind === "refused") return stream.deliver(check.response);
    if (check.kind === "none") return stream.deliver(noSession());
    const session = this.#newSession();
    if (!this.#table.admit(session) && !(await this.#roomFor(session, stream))) {
      if (stream.over) return; // the client left while it waited
      this.#refusals.refused();
      const error = new Error(`${this.name}: max_processes (${this.#o.config.maxProcesses}) reached`);
      return fail(sink, stream, error, { nothingSent: true, overloaded: true });
    }
    if (stream.over) return this.#table.gone(session); // the slot came after the client left
    // the request's deadline or its client gone: the process that would have served it goes too
    stream.onAbort = () => void session.end("deleted");
    try {
      await session.start();
    } catch (error) {
      this.#table.gone(session);
      return fail(sink, stream, error as Error, { nothingSent: true });
    }
    await this.#initialize(session, check.message, request, sink, stream);
  }

  async #initialize(
    session: StdioSession,
    message: JSONRPCRequest,
    request: UpstreamRequest,
    sink: ResponseSink,
    stream: WebResponseStream,
  ): Promise<void> {
    const answer = await session.initialize(message);
    if (answer === undefined) {
      return fail(sink, stream, new ProcessExitedError(this.name, session.exit), {});
    }
    if (stream.over) return;
    if ("error" in answer) {
      // the server refused the session: no session, and its process goes at once
      void session.end("deleted");
      stream.onAbort = undefined;
      return stream.deliver(refusedInitialize(answer));
    }
    const response = await session.http.handleRequest(webRequest(request), { parsedBody: message });
    stream.onAbort = undefined;
    if (session.sessionId === undefined || response.status >= 300) {
      void session.end("deleted"); // the transport refused it after all: no process without a session
    } else {
      this.#table.named(session);
      stream.onOver = session.exchange();
    }
    stream.deliver(response);
  }

  /**
   * At `max_processes`: waits (at most {@link slotWaitMs}, or until the client leaves) for the slot of
   * a process being stopped — the least recently used idle session's, ended now, when no stopping one
   * is free. False when every process is busy, or no slot came.
   */
  async #roomFor(session: StdioSession, stream: WebResponseStream): Promise<boolean> {
    const room = this.#table.makeRoom(session, slotWaitMs, (victim) => void victim.end("evicted"));
    if (room === undefined) return false;
    stream.onAbort = () => this.#table.withdraw(session);
    const granted = await room;
    stream.onAbort = undefined;
    return granted;
  }

  /** Logs, once per session, an end Breakwater chose for want of use: idle expiry, or eviction. */
  #ending(session: StdioSession, cause: EndCause, idleMs: number): void {
    if (cause !== "idle" && cause !== "evicted") return;
    const fields = {
      upstream: this.name,
      session: session.sessionId,
      pid: session.pid,
      idle_secs: Math.round(idleMs / 1_000),
    };
    if (cause === "idle") this.#o.log?.info(fields, "stdio session ended: idle");
    else this.#o.log?.info(fields, "stdio session ended to make room: max_processes reached");
  }

  #logRefusal(suppressed: number): void {
    const { busy, live, limit } = this.#table.slots;
    this.#o.log?.warn(
      { upstream: this.name, max_processes: limit, live, busy, suppressed },
      "stdio upstream full: max_processes reached, answered 503 overloaded",
    );
  }

  /** A process of the command, not started yet. */
  #newChild(): ChildProcessTransport {
    const { config, onStderrLine, timers } = this.#o;
    const child = new ChildProcessTransport({
      command: config.command,
      cwd: config.cwd,
      env: minimalEnvironment(config.env),
      onStderrLine: (line) => onStderrLine?.(child.pid, line),
      ...(timers === undefined ? {} : { timers }),
    });
    return child;
  }

  #newSession(): StdioSession {
    const { config, onFault, timers } = this.#o;
    const child = this.#newChild();
    return new StdioSession(child, {
      upstream: this.name,
      idleTimeoutMs: config.idleTimeoutMs,
      ...(timers === undefined ? {} : { timers }),
      ...(onFault === undefined ? {} : { onFault }),
      onEnded: (ended, reason) => this.#ended(ended, reason),
      onEnding: (ending, cause, idleMs) => this.#ending(ending, cause, idleMs),
    });
  }

  #ended(session: StdioSession, reason: ExitReason): void {
    this.#table.gone(session);
    this.#o.onExit?.(this.name, reason);
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
