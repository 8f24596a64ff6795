import { Pool } from "undici";
import type { UpstreamConfig } from "../config/Config.ts";
import { CircuitBreaker, type Clock } from "../index.ts";

/** One upstream: where it is, its connection pool, and its circuit breaker. */
export class Upstream {
  readonly name: string;
  /** The upstream URL's path, onto which request paths are joined. */
  readonly basePath: string;
  readonly pool: Pool;
  readonly breaker: CircuitBreaker;
  readonly isFailureStatus: (status: number) => boolean;
  /** Requests sent to this upstream whose response has not ended yet (streams included). */
  inFlight = 0;

  constructor(config: UpstreamConfig, requestTimeoutMs: number, clock?: Clock) {
    this.name = config.name;
    this.basePath = config.url.pathname;
    this.isFailureStatus = config.isFailureStatus;
    this.breaker = new CircuitBreaker(clock === undefined ? config.breaker : { ...config.breaker, clock });
    this.pool = new Pool(config.url.origin, {
      // the proxy's own timer bounds the time to response headers (connect included); once headers
      // have come, a body such as an SSE stream may take as long as it likes
      headersTimeout: 0,
      bodyTimeout: 0,
      connectTimeout: Math.min(requestTimeoutMs, 10_000),
      keepAliveTimeout: 4_000,
    });
  }

  destroy(): Promise<void> {
    return this.pool.destroy();
  }
}
