import { LOG_LEVEL_META_KEY } from "@modelcontextprotocol/core/internal";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Timers } from "../../../time/Timers.ts";
import { type ResponseSink, transportFailure } from "../../Upstream.ts";
import type { Era } from "./EraProbe.ts";
import { ModernExchange } from "./ModernExchange.ts";
import type { ModernPool } from "./ModernPool.ts";
import { earlierEraAnswer, isRequest, type ModernMessage } from "./modernRequest.ts";

export interface ModernFrontOptions {
  readonly upstream: string;
  readonly pool: ModernPool;
  readonly timers: Timers;
  /** The era learnt of the upstream so far; undefined before any process was probed. */
  readonly era: () => Era | undefined;
  /** The answer an earlier-era process gave the probe, for a modern client's `server/discover`. */
  readonly probeAnswer: () => JSONRPCMessage | undefined;
  /** Told when a call is refused for want of a process (`max_processes` of sessions live). */
  readonly onFull: () => void;
}

/**
 * The HTTP side of a 2026-07-28 stdio upstream (SPEC §8.3): each sessionless request of the modern era
 * is one exchange with the shared pool. A notification is acknowledged with 202 and goes no further: a
 * client's `notifications/cancelled` names its own id, which says nothing of which process or call it
 * meant (ids of clients collide) — over HTTP, closing the response stream is the cancellation, and it
 * reaches the process as `notifications/cancelled` of the process's own id.
 */
export class ModernFront {
  readonly #o: ModernFrontOptions;

  constructor(options: ModernFrontOptions) {
    this.#o = options;
  }

  serve(message: ModernMessage, sink: ResponseSink, finished: () => void): void {
    const exchange = new ModernExchange(sink, finished, this.#o.timers);
    sink.start(exchange);
    if (exchange.over) return;
    if (!isRequest(message)) exchange.respond(202, undefined);
    else if (this.#o.era() === "earlier") {
      exchange.respond(400, earlierEraAnswer(message, this.#o.probeAnswer()));
    } else {
      void this.#place(message, exchange).catch((error: unknown) => {
        exchange.fail(transportFailure(error as Error, { nothingSent: true }));
      });
    }
  }

  async #place(message: ModernMessage, exchange: ModernExchange): Promise<void> {
    const meta = (message["params"] as { _meta?: Record<string, unknown> } | undefined)?._meta;
    const logs = meta?.[LOG_LEVEL_META_KEY] !== undefined;
    const placement = await this.#o.pool.place(logs);
    if (exchange.over) return; // the client left while a process started
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
