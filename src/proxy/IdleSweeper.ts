import type { Server } from "node:http";
import type { Timer, Timers } from "../time/Timers.ts";

/** How often a draining listener looks for connections that went idle. */
const sweepEveryMs = 50;

/**
 * Closes a shutting-down listener's connections as each goes idle (its response ended), so that none
 * waits for a keep-alive timer: node tells of no such moment, so they are looked at every 50 ms until
 * the listener has closed.
 */
export class IdleSweeper {
  readonly #server: Server;
  readonly #timers: Timers;
  #timer: Timer | undefined;
  #closed = false;

  constructor(server: Server, timers: Timers) {
    this.#server = server;
    this.#timers = timers;
    server.on("close", () => {
      this.#closed = true;
      timers.clearTimeout(this.#timer);
    });
  }

  /** Closes the idle connections now, and the others as they go idle. */
  start(): void {
    this.#server.closeIdleConnections();
    if (this.#timer === undefined && !this.#closed) this.#sweepSoon();
  }

  #sweepSoon(): void {
    this.#timer = this.#timers.setTimeout(() => {
      this.#server.closeIdleConnections();
      if (!this.#closed) this.#sweepSoon();
    }, sweepEveryMs);
  }
}
