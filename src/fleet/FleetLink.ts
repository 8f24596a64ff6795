import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { Redis } from "ioredis";
import type { Logger } from "pino";
import { type CircuitDecision, type FleetMessage, parseFleetMessage } from "./fleetMessages.ts";
import { withoutPassword } from "./withoutPassword.ts";

export interface FleetLinkOptions {
  readonly url: URL;
  /** The fleet's name: prefix of its keys and channel. */
  readonly name: string;
  readonly logger: Logger;
  /** Told of every other replica's circuit decision. */
  readonly onDecision: (decision: CircuitDecision) => void;
  /** Told when the link is up, first or again: the moment to catch up on what was missed. */
  readonly onConnected?: () => void;
  /** How often this replica says it is alive, which also checks that Redis answers. Default 5 s. */
  readonly announceEveryMs?: number;
}

/** The longest wait for Redis before a command counts as failed and the link as slow. */
const commandTimeoutMs = 1_000;
/** Other replicas count as seen for this long after their last word (SPEC §6.2: a minute). */
const seenForMs = 60_000;

/** Wins the lease when nobody holds it, or extends it when this replica does: 0; else the holder's time left. */
const leaseScript = `local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 0 end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) return 0 end
local left = redis.call('PTTL', KEYS[1])
if left < 1 then return 1 end
return left`;
const releaseScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * A replica's link to the fleet's Redis (SPEC §6.2): one connection for commands, one subscribed to the
 * fleet's channel. Nothing waits on it but a probe lease: a command while the link is down fails at
 * once (no offline queue), one to a slow server after a second, and either marks the link down until
 * Redis answers again. The link is logged once when lost and once when back; ioredis reconnects with
 * a growing backoff (0.1 s doubling to 2 s).
 */
export class FleetLink {
  /** This replica, as the others know it. */
  readonly replica = `${hostname()}/${process.pid}/${randomBytes(3).toString("hex")}`;
  readonly #o: FleetLinkOptions;
  readonly #channel: string;
  readonly #commands: Redis;
  readonly #subscriber: Redis;
  /** When each other replica was last heard from. */
  readonly #seen = new Map<string, number>();
  #slow = false;
  #connected = false;
  #everConnected = false;
  #lostLogged = false;
  /** A connection failed or closed: until then a link not up is still being made, not lost. */
  #broken = false;
  #announcer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: FleetLinkOptions) {
    this.#o = options;
    this.#channel = `${options.name}:events`;
    const common = {
      lazyConnect: true,
      connectTimeout: 2_000,
      retryStrategy: (times: number) => Math.min(100 * 2 ** (times - 1), 2_000),
    };
    this.#commands = new Redis(options.url.href, {
      ...common,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: commandTimeoutMs,
    });
    // the subscriber queues its SUBSCRIBE until connected, and subscribes again after each reconnection
    this.#subscriber = new Redis(options.url.href, { ...common, maxRetriesPerRequest: null });
    for (const client of [this.#commands, this.#subscriber]) {
      client.on("ready", () => this.#update());
      // reconnection is ioredis's; here only whether the link is up, and the one log line if not
      for (const event of ["close", "error"]) {
        client.on(event, () => {
          this.#broken = true;
          this.#update();
        });
      }
    }
    this.#subscriber.on("message", (_channel: string, text: string) => this.#heard(text));
  }

  /** Whether both connections are up and Redis answers in time: false, each replica is on its own. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Other replicas heard from in the last minute. */
  replicasSeen(now = Date.now()): number {
    let count = 0;
    for (const [replica, at] of this.#seen) {
      if (now - at <= seenForMs) count++;
      else this.#seen.delete(replica);
    }
    return count;
  }

  /** Connects (in the background: a Redis down at start is a link lost, not an error) and announces. */
  start(): void {
    this.#subscriber.subscribe(this.#channel).catch(() => {});
    for (const client of [this.#commands, this.#subscriber]) client.connect().catch(() => {});
    const every = this.#o.announceEveryMs ?? 5_000;
    this.#announcer = setInterval(() => this.#announce(), every);
    this.#announcer.unref();
  }

  /** Tells the other replicas; dropped when the link is down (each replica then goes on alone). */
  publish(decision: CircuitDecision): void {
    this.#send(decision);
  }

  /** Keeps `value` under `key` for `ms` (a circuit's lasting decision, for replicas that join later). */
  remember(key: string, value: string, ms: number | undefined): void {
    const command =
      ms === undefined ? this.#commands.set(key, value) : this.#commands.set(key, value, "PX", Math.ceil(ms));
    command.catch((error: unknown) => this.#failed(error));
  }

  forget(key: string): void {
    this.#commands.del(key).catch((error: unknown) => this.#failed(error));
  }

  /** Every remembered value under keys starting with `prefix`, with its time left (undefined: none). */
  async recall(prefix: string): Promise<{ value: string; ms: number | undefined }[]> {
    const found: { value: string; ms: number | undefined }[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await this.#commands.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      for (const key of keys) {
        const [value, ms] = await Promise.all([this.#commands.get(key), this.#commands.pttl(key)]);
        if (value !== null && ms !== -2) found.push({ value, ms: ms > 0 ? ms : undefined });
      }
    } while (cursor !== "0");
    return found;
  }

  /**
   * Asks for the lease `key` for `ms` (`SET NX PX`, held by this replica's id), or extends it for `ms`
   * from now if this replica holds it already.
   *
   * @returns 0 when won, else the time left on another's hold.
   * @throws when Redis does not answer (down, or slower than `commandTimeoutMs`).
   */
  async lease(key: string, ms: number): Promise<number> {
    try {
      return (await this.#commands.eval(leaseScript, 1, key, this.replica, Math.ceil(ms))) as number;
    } catch (error) {
      this.#failed(error);
      throw error;
    }
  }

  /** Gives the lease `key` back, if this replica still holds it. */
  release(key: string): void {
    this.#commands.eval(releaseScript, 1, key, this.replica).catch((error: unknown) => this.#failed(error));
  }

  /**
   * Says goodbye (when the link is up: bounded by the command timeout) and drops both connections. Not
   * QUIT: a connection still being made would queue it until Redis is back, and hold up a shutdown.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#announcer);
    if (this.#connected) {
      const bye: FleetMessage = { kind: "bye", from: this.replica };
      await this.#commands.publish(this.#channel, JSON.stringify(bye)).catch(() => {});
    }
    this.#commands.disconnect();
    this.#subscriber.disconnect();
  }

  #send(message: FleetMessage): void {
    this.#commands.publish(this.#channel, JSON.stringify(message)).then(
      () => this.#answered(),
      (error: unknown) => this.#failed(error),
    );
  }

  /** Says this replica is alive: also the link's heartbeat, an answer marking a slow link well again. */
  #announce(): void {
    if (this.#commands.status === "ready") this.#send({ kind: "hello", from: this.replica });
  }

  #heard(text: string): void {
    const message = parseFleetMessage(text);
    if (message === undefined || message.from === this.replica) return;
    if (message.kind === "bye") {
      this.#seen.delete(message.from);
      return;
    }
    // a newcomer hears back from each replica at once, rather than over the next announcements
    if (!this.#seen.has(message.from)) this.#announce();
    this.#seen.set(message.from, Date.now());
    if (message.kind !== "hello") this.#o.onDecision(message);
  }

  #answered(): void {
    if (!this.#slow) return;
    this.#slow = false;
    this.#update();
  }

  /** A command failed: if Redis is connected but did not answer in time, it is too slow to rely on. */
  #failed(error: unknown): void {
    if ((error as Error).message === "Command timed out" && !this.#slow) {
      this.#slow = true;
      this.#update();
    }
  }

  #update(): void {
    if (this.#closed) return;
    const connected = !this.#slow && this.#commands.status === "ready" && this.#subscriber.status === "ready";
    if (connected === this.#connected) {
      if (!connected && !this.#lostLogged && this.#broken) this.#lost(); // never up: Redis down at start
      return;
    }
    this.#connected = connected;
    if (connected) {
      const again = this.#everConnected;
      this.#everConnected = true;
      this.#lostLogged = false;
      this.#broken = false;
      this.#o.logger.info(
        { redis: withoutPassword(this.#o.url), replica: this.replica },
        again ? "fleet link back: circuits shared again" : "fleet link up: circuits shared",
      );
      this.#announce();
      this.#o.onConnected?.();
    } else {
      this.#lost();
    }
  }

  #lost(): void {
    if (this.#lostLogged) return;
    this.#lostLogged = true;
    this.#o.logger.warn(
      { redis: withoutPassword(this.#o.url), slow: this.#slow },
      "fleet link lost: each replica's circuits are its own until it is back",
    );
  }
}
