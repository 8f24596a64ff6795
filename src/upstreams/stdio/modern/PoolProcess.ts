import type { JSONRPCMessage, RequestId } from "@modelcontextprotocol/sdk/types.js";
import { systemTimers, type Timer, type Timers } from "../../../time/Timers.ts";
import type { ChildExit, ChildProcessTransport } from "../ChildProcessTransport.ts";
import { ProcessExitedError } from "../ProcessExitedError.ts";
import { type EndCause, pendingCallError } from "../pendingCallError.ts";
import type { Era } from "./EraProbe.ts";
import { EraProbe, probeId } from "./EraProbe.ts";
import type { ModernExchange } from "./ModernExchange.ts";
import { answerToClient, notificationToClient, relatedId, toProcess } from "./rewriteIds.ts";

/** Calls (listens included) in flight on one process at most: the map of them is bounded. */
export const maxPendingPerProcess = 1_024;

/**
 * Listens standing on one process at most: the rest of {@link maxPendingPerProcess} stays for calls, so
 * that clients holding listens on every process can never lock calls out.
 */
export const maxListensPerProcess = 768;

export interface PoolProcessOptions {
  readonly upstream: string;
  /** A process with no call in flight and no listen standing for this long is stopped. */
  readonly idleTimeoutMs: number;
  readonly probeTimeoutMs: number;
  readonly timers?: Timers;
  /** Told once the process is gone (exited, or stopped), with whether Breakwater stopped it. */
  readonly onGone: (process: PoolProcess, stopped: boolean) => void;
  /** Told when Breakwater begins to stop it, and why. */
  readonly onEnding?: (process: PoolProcess, cause: EndCause) => void;
}

/** A client's call in flight on the process, by the process's id for it. */
interface Pending {
  readonly clientId: RequestId;
  readonly clientToken: string | number | undefined;
  readonly exchange: ModernExchange;
  readonly listen: boolean;
  readonly logs: boolean;
}

/**
 * One process of a 2026-07-28 stdio server, shared by every client (SPEC §8.3): calls of many clients
 * in flight on it at once, each under an id of the process's own (see `rewriteIds.ts`), and everything
 * the process writes routed back to exactly the call it belongs to — the answer by its id, progress by
 * its token, a listen's acknowledgement and change notifications by their subscription id, a
 * `notifications/cancelled` that ends a listen by its request id. A message for no call in flight is
 * dropped. A client that leaves cancels its call: the process gets `notifications/cancelled`.
 *
 * `notifications/message` (logging) names no request on stdio (research §6). The pool gives a process
 * at most one call that asks for log messages at a time (see `ModernPool`), so a log message goes to
 * that call; with none in flight, it is dropped (a server "MUST NOT emit `notifications/message` for a
 * request that does not include" a log level: it belongs to no one).
 *
 * However the process ends — it exits, or Breakwater stops it (idle, shutdown) — every call in flight
 * is answered with the `upstream_exited` JSON-RPC error first (SPEC §5, §8.3), never an empty stream.
 * The idle timer never stops a process with a call in flight or a listen standing.
 */
export class PoolProcess {
  readonly #child: ChildProcessTransport;
  readonly #o: PoolProcessOptions;
  readonly #timers: Timers;
  readonly #pending = new Map<number, Pending>();
  readonly #probe: EraProbe;
  #nextId = probeId + 1;
  /** Calls in flight that asked for log messages: 0 or 1 (the pool sees to it). */
  #logging = 0;
  /** Of the calls in flight, the listens standing. */
  #listens = 0;
  /**
   * Calls placed on it but not handed over yet (see `reserve`), and of them those that may ask for log
   * messages: counted at once, so that calls placed while it starts do not all see it empty.
   */
  #reserved = 0;
  #reservedLogs = 0;
  #reservedListens = 0;
  #idleTimer: Timer | undefined;
  #lastUsed: number;
  #endCause: EndCause | undefined;
  #ending: Promise<void> | undefined;
  #gone = false;
  /** Probed modern: it takes calls. */
  #ready = false;

  constructor(child: ChildProcessTransport, options: PoolProcessOptions) {
    this.#child = child;
    this.#o = options;
    this.#timers = options.timers ?? systemTimers;
    this.#probe = new EraProbe(this.#timers);
    this.#lastUsed = this.#timers.now();
    child.onmessage = (message) => this.#fromProcess(message);
    child.onfault = (fault) => void this.end(fault);
    child.onclose = () => this.#closed();
  }

  /**
   * Spawns the process and probes its era; rejects when it cannot start, or exits (or closes stdout)
   * before it answers the probe.
   */
  async start(): Promise<Era> {
    await this.#child.start();
    const era = await this.#probe.ask((message) => this.#child.send(message), this.#o.probeTimeoutMs);
    if (era === "exited") throw new ProcessExitedError(this.#o.upstream, this.#child.exit, "server/discover");
    if (era === "modern" && !this.ending) {
      this.#ready = true;
      this.#touch();
    }
    return era;
  }

  /** The process's answer to the probe, if it gave one (an earlier-era server's error, say). */
  get probeAnswer(): JSONRPCMessage | undefined {
    return this.#probe.answer;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Never named: a shared process belongs to no session (see `ProcessTable`). */
  get sessionId(): undefined {
    return undefined;
  }

  /** Calls in flight, listens not counted (a standing listen costs the server next to nothing). */
  get calls(): number {
    return this.#pending.size - this.#listens + this.#reserved - this.#reservedListens;
  }

  /** Whether it starts, or a call is in flight or a listen stands: such a process is never idle. */
  get busy(): boolean {
    return this.#pending.size + this.#reserved > 0 || !this.#ready;
  }

  /** One of the shared pool, for the process table. */
  get shared(): true {
    return true;
  }

  /** Whether it takes another listen: open, and below {@link maxListensPerProcess}. */
  get takesListen(): boolean {
    return this.open && this.#listens + this.#reservedListens < maxListensPerProcess;
  }

  /** Whether a call that asked for log messages is in flight on it. */
  get logging(): boolean {
    return this.#logging + this.#reservedLogs > 0;
  }

  get ending(): boolean {
    return this.#ending !== undefined || this.#gone;
  }

  get lastUsed(): number {
    return this.#lastUsed;
  }

  /** Whether it takes another call: probed modern, not stopping, below {@link maxPendingPerProcess}. */
  get open(): boolean {
    return this.#ready && !this.ending && this.#pending.size + this.#reserved < maxPendingPerProcess;
  }

  /**
   * Counts a call placed on it before it is handed over (`call`) or given up (`release`): the pool
   * places calls while a process starts, and each must see the ones placed before it.
   */
  reserve(mayLog: boolean, listen: boolean): void {
    this.#reserved++;
    if (mayLog) this.#reservedLogs++;
    if (listen) this.#reservedListens++;
    this.#timers.clearTimeout(this.#idleTimer);
  }

  /** A reserved call that will not be handed over (its client left while it waited). */
  release(mayLog: boolean, listen: boolean): void {
    this.#unreserve(mayLog, listen);
    this.#touch();
  }

  #unreserve(mayLog: boolean, listen: boolean): void {
    this.#reserved--;
    if (mayLog) this.#reservedLogs--;
    if (listen) this.#reservedListens--;
  }

  /**
   * Sends a client's request (parsed, and owned: it is rewritten in place), reserved on it by the pool,
   * to the process; what comes back for it goes to `exchange`. `mayLog`: whether it may ask for log messages (else its log level is
   * taken out).
   */
  call(request: Record<string, unknown>, exchange: ModernExchange, mayLog: boolean): void {
    const clientId = request["id"] as RequestId;
    const listen = request["method"] === "subscriptions/listen";
    this.#unreserve(mayLog, listen);
    if (this.ending) {
      // gone between its choosing and now: answered as the calls it had were
      const cause = this.#endCause ?? { exit: this.#child.exit };
      exchange.answer(pendingCallError(clientId, this.#o.upstream, cause));
      return;
    }
    const id = this.#nextId++;
    const { message, clientToken, logs } = toProcess(request, id, mayLog);
    this.#pending.set(id, { clientId, clientToken, exchange, listen, logs });
    if (logs) this.#logging++;
    if (listen) this.#listens++;
    this.#timers.clearTimeout(this.#idleTimer);
    exchange.onCancel = () => this.#cancel(id);
    this.#child.send(message).catch(() => {}); // a process gone or stuck answers through onclose/onfault
  }

  /**
   * Stops the process: each call in flight answered with the `upstream_exited` error naming `cause`,
   * then stdin closed, SIGTERM, SIGKILL in steps.
   */
  end(cause: EndCause): Promise<void> {
    if (this.#ending !== undefined) return this.#ending;
    this.#endCause = cause;
    this.#o.onEnding?.(this, cause);
    this.#timers.clearTimeout(this.#idleTimer);
    this.#answerPending(cause);
    this.#ending = this.#child.close();
    return this.#ending;
  }

  #fromProcess(message: JSONRPCMessage): void {
    if (this.#probe.waiting && this.#probe.took(message)) return;
    if ("method" in message) {
      if ("id" in message) {
        // a 2026-07-28 stdio server "MUST NOT write JSON-RPC requests": refused, so it does not wait
        const error = { code: -32601, message: "Method not found: no requests to clients on stdio" };
        this.#child.send({ jsonrpc: "2.0", id: message.id, error }).catch(() => {});
        return;
      }
      this.#notification(message);
      return;
    }
    const id = (message as { id?: unknown }).id;
    const pending = typeof id === "number" ? this.#pending.get(id) : undefined;
    if (pending === undefined) return; // an answer to no call in flight (cancelled, or never asked)
    this.#forget(id as number, pending);
    pending.exchange.answer(answerToClient(message, pending.clientId));
  }

  #notification(message: JSONRPCMessage & { method: string }): void {
    if (message.method === "notifications/message") {
      const to = this.#logging > 0 ? [...this.#pending.values()].find((p) => p.logs) : undefined;
      to?.exchange.related(notificationToClient(message, to.clientId, to.clientToken));
      return;
    }
    const id = relatedId(message);
    const pending = typeof id === "number" ? this.#pending.get(id) : undefined;
    if (pending === undefined) return;
    pending.exchange.related(notificationToClient(message, pending.clientId, pending.clientToken));
    if (message.method === "notifications/cancelled") {
      // the server ended the call (a listen it tears down): nothing more comes for it
      this.#forget(id as number, pending);
      pending.exchange.finish();
    }
  }

  /** The client left: the process is told to stop working on the call, and nothing more reaches it. */
  #cancel(id: number): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#forget(id, pending);
    const cancelled = {
      jsonrpc: "2.0" as const,
      method: "notifications/cancelled",
      params: { requestId: id, reason: "the client closed its response stream" },
    };
    this.#child.send(cancelled).catch(() => {});
  }

  #forget(id: number, pending: Pending): void {
    this.#pending.delete(id);
    if (pending.logs) this.#logging--;
    if (pending.listen) this.#listens--;
    this.#touch();
  }

  /** The process was used: with no call in flight, its idle time starts again. */
  #touch(): void {
    this.#lastUsed = this.#timers.now();
    this.#timers.clearTimeout(this.#idleTimer);
    if (this.#pending.size + this.#reserved > 0 || this.#ending !== undefined || this.#gone) return;
    this.#idleTimer = this.#timers.setTimeout(() => {
      if (this.#pending.size + this.#reserved === 0) void this.end("idle");
    }, this.#o.idleTimeoutMs);
  }

  #closed(): void {
    this.#gone = true;
    this.#timers.clearTimeout(this.#idleTimer);
    this.#probe.exited();
    this.#answerPending(this.#endCause ?? { exit: this.#child.exit });
    this.#o.onGone(this, this.#endCause !== undefined);
  }

  #answerPending(cause: EndCause | { exit: ChildExit | undefined }): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#logging = 0;
    this.#listens = 0;
    for (const call of pending)
      call.exchange.answer(pendingCallError(call.clientId, this.#o.upstream, cause));
  }
}
