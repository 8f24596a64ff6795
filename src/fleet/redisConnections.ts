import { Redis } from "ioredis";

/** The longest wait for Redis before a command counts as failed and the link as slow. */
export const commandTimeoutMs = 1_000;

/**
 * The two connections of a fleet link (SPEC §6.2), made but not connected: `commands` fails a command
 * at once while down (no offline queue) and after {@link commandTimeoutMs} when Redis is slow, so that
 * nothing waits on Redis; `subscriber` queues its SUBSCRIBE until connected and subscribes again after
 * each reconnection. Both reconnect with a growing backoff (0.1 s doubling to 2 s).
 */
export function redisConnections(url: URL): { commands: Redis; subscriber: Redis } {
  const common = {
    lazyConnect: true,
    connectTimeout: 2_000,
    retryStrategy: (times: number) => Math.min(100 * 2 ** (times - 1), 2_000),
  };
  return {
    commands: new Redis(url.href, {
      ...common,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: commandTimeoutMs,
    }),
    subscriber: new Redis(url.href, { ...common, maxRetriesPerRequest: null }),
  };
}
