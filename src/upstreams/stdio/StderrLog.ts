import type { Logger } from "pino";

/** Lines of a stdio upstream's children logged per second at most (SPEC §5); the rest are counted. */
const linesPerSecond = 100;

/**
 * Logs the stderr lines of an upstream's child processes as JSON (`upstream`, `pid`, `line`), at most
 * 100 a second: a chatty or crash-looping server cannot flood the proxy's log. Lines past the bound are
 * counted, and the count is logged when the next second's first line comes.
 */
export class StderrLog {
  readonly #logger: Logger;
  readonly #upstream: string;
  #second = 0;
  #logged = 0;
  #dropped = 0;

  constructor(logger: Logger, upstream: string) {
    this.#logger = logger;
    this.#upstream = upstream;
  }

  line(pid: number | undefined, line: string, now = Date.now()): void {
    const second = Math.floor(now / 1_000);
    if (second !== this.#second) {
      if (this.#dropped > 0) {
        this.#logger.warn({ upstream: this.#upstream, dropped: this.#dropped }, "stdio stderr lines dropped");
      }
      this.#second = second;
      this.#logged = 0;
      this.#dropped = 0;
    }
    if (this.#logged >= linesPerSecond) {
      this.#dropped++;
      return;
    }
    this.#logged++;
    this.#logger.info({ upstream: this.#upstream, pid, line }, "stdio stderr");
  }
}
