import { LOG_LEVEL_META_KEY } from "@modelcontextprotocol/core/internal";
import type { Acquisition } from "../../../breaker/Acquisition.ts";
import type { Timers } from "../../../time/Timers.ts";
import { type ResponseSink, transportFailure } from "../../Upstream.ts";
import type { EndCause } from "../pendingCallError.ts";
import type { Era } from "./EraProbe.ts";
import { HeldBytes, maxHeldBytesPerUpstream } from "./HeldBytes.ts";
import { ModernExchange } from "./ModernExchange.ts";
import { ModernPool, type ModernPoolOptions } from "./ModernPool.ts";
import { earlierEraAnswer, isRequest, type ModernMessage } from "./modernRequest.ts";

export interface ModernFrontOptions extends Omit<ModernPoolOptions, "onEra"> {
  readonly timers: Timers;
  /**
   * The upstream's circuit: a process started to learn the era is a call of its own (SPEC §5: while the
   * circuit is open no process is spawned, and a command that cannot start counts as a failure).
   */
  readonly circuit: { tryAcquire(): Acquisition };
  /** Told when a call is refused for want of a process (`max_processes` of sessions live). */
  readonly onFull: () => void;
  /** Told when the era learnt of the server is new, or changed. */
  readonly onEraLearnt?: (era: Era) => void;
}

/**
 * The answer to a message with an id MCP does not allow (null, a fraction, a number past 2^53 read as
 * Infinity): it is no notification either, and a client sending it waits for an answer (MCP: "the ID
 * MUST NOT be null"; ids are strings or integers).
 */
const invalidId = JSON.stringify({
  jsonrpc: "2.0",
  id: null,
  error: { code: -32600, message: "Invalid Request: the id must be a string or an integer" },
});

/**
 * The 2026-07-28 side of a stdio upstream (SPEC §8.3): the era learnt of its server, the shared pool of
 * processes, and the HTTP side of each sessionless request of the modern era, one exchange with the
 * pool each. A notification is acknowledged with 202 and goes no further: a
 * client's `notifications/cancelled` names its own id, which says nothing of which process or call it
 * meant (ids of clients collide) — over HTTP, closing the response stream is the cancellation, and it
 * reaches the process as `notifications/cancelled` of the process's own id.
 */
export class ModernFront {
  readonly #o: ModernFrontOptions;
  readonly #pool: ModernPool;
  /** What clients that do not read hold, all of them together. */
  readonly #held = new HeldBytes(maxHeldBytesPerUpstream);
  /** The era the last process probed answered with; undefined before any was. */
  #era: Era | undefined;
  /** A process is being started to learn the era. */
  #learning = false;

  constructor(options: ModernFrontOptions) {
    this.#o = options;
    this.#pool = new ModernPool({
      ...options,
      onEra: (era) => {
        if (era !== this.#era) options.onEraLearnt?.(era);
        this.#era = era;
      },
    });
  }

  /** The era learnt of the server; undefined before a process of it was probed. */
  get era(): Era | undefined {
    return this.#era;
  }

  /**
   * Starts a process (in the background; once at a time; only when the circuit admits it) to learn the
   * era: for a modern server it stays in the pool (stopped when idle), for an earlier-era one it is
   * stopped at once. A process that cannot start, or exits before it answers, is a failure.
   */
  learnEra(): void {
    if (this.#learning) return;
    const permit = this.#o.circuit.tryAcquire();
    if (!permit.admitted) return;
    this.#learning = true;
    void this.#pool
      .place(false)
      .then(
        (placement) => {
          // no call goes with it: the process was placed only to be started
          if (placement.kind === "process") placement.process.release(placement.mayLog, placement.listen);
          if (placement.kind === "full") permit.neutral();
          else permit.success();
        },
        () => permit.failure(),
      )
      .finally(() => {
        this.#learning = false;
      });
  }

  /** Stops the pool's processes: calls in flight answered `upstream_exited`, naming `cause`. */
  close(cause: EndCause): Promise<void> {
    return this.#pool.close(cause);
  }

  serve(message: ModernMessage, sink: ResponseSink, finished: () => void): void {
    const exchange = new ModernExchange(sink, finished, this.#o.timers, this.#held);
    sink.start(exchange);
    if (exchange.over) return;
    if (!("id" in message)) exchange.respond(202, undefined);
    else if (!isRequest(message)) exchange.respond(400, invalidId);
    else if (this.#era === "earlier") {
      exchange.respond(400, earlierEraAnswer(message, this.#pool.earlierAnswer));
    } else {
      void this.#place(message, exchange).catch((error: unknown) => {
        exchange.fail(transportFailure(error as Error, { nothingSent: true }));
      });
    }
  }

  async #place(message: ModernMessage, exchange: ModernExchange): Promise<void> {
    const meta = (message["params"] as { _meta?: Record<string, unknown> } | undefined)?._meta;
    const logs = meta?.[LOG_LEVEL_META_KEY] !== undefined;
    const placement = await this.#pool.place(logs, message["method"] === "subscriptions/listen");
    if (exchange.over) {
      // the client left while a process started
      if (placement.kind === "process") placement.process.release(placement.mayLog, placement.listen);
      return;
    }
    switch (placement.kind) {
      case "process":
        placement.process.call(message, exchange, placement.mayLog);
        return;
      case "earlier":
        exchange.respond(400, earlierEraAnswer(message, placement.answer));
        return;
      case "full": {
        this.#o.onFull();
        const error = new Error(`${this.#o.upstream}: max_processes reached`);
        exchange.fail(transportFailure(error, { nothingSent: true, overloaded: true }));
      }
    }
  }
}
