import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { systemTimers, type Timer, type Timers } from "../time/Timers.ts";
import type { CircuitDecision, FleetMessage } from "./fleetMessages.ts";
import { leaseScript, releaseScript } from "./leaseScripts.ts";
import { MessageCodec, type RejectedReason } from "./MessageCodec.ts";
import { ReplicasSeen } from "./ReplicasSeen.ts";
import { redisConnections } from "./redisConnections.ts";
import { Throttled } from "./Throttled.ts";
import { withoutPassword } from "./withoutPassword.ts";

export interface FleetLinkOptions {
  readonly url: URL;
  /** The fleet's name: prefix of its keys and channel. */
  readonly name: string;
  readonly logger: Logger;
  /**
   * The fleet's session keys (SPEC §6.1), from which the key authenticating its messages is derived
   * (`FleetSigner`). None: the link is not made, and this replica's circuits stay its own.
   */
  readonly sessionKeys: readonly Buffer[];
  /** Told of every other replica's circuit decision. */
  readonly onDecision: (decision: CircuitDecision) => void;
  /** Told when the link is up, first or again: the moment to catch up on what was missed. */
  readonly onConnected?: () => void;
  /** How often this replica says it is alive, which also checks that Redis answers. Default 5 s. */
  readonly announceEveryMs?: number;
  /** The heartbeat's and the greetings' timers; default the system's. */
  readonly timers?: Timers;
}

/** A decision kept in Redis, as a replica (re)connecting finds it. */
export interface RecalledDecision {
  readonly decision: CircuitDecision;
  /** The time left on it; undefined: it lasts until changed. */
  readonly ms: number | undefined;
}

/**
 * A replica's link to the fleet's Redis (SPEC §6.2): one connection for commands, one subscribed to the
 * fleet's channel. Nothing waits on it but a probe lease: a command while the link is down fails at
 * once (no offline queue), one to a slow server after a second, and either marks the link down until
 * Redis answers again. The link is logged once when lost and once when back; ioredis reconnects with
 * a growing backoff (0.1 s doubling to 2 s). Every message and kept value is signed ({@link MessageCodec});
 * one that is not, or says nothing a replica would, is ignored and counted in `rejected`.
 */
export class FleetLink {
  /** This replica, as the others know it. */
  readonly replica = `${hostname()}/${process.pid}/${randomBytes(3).toString("hex")}`;
  readonly #o: FleetLinkOptions;
  readonly #channel: string;
  readonly #commands: Redis;
  readonly #subscriber: Redis;
  readonly #seen = new ReplicasSeen();
  readonly #timers: Timers;
  /** Undefined without session keys: nothing is sent or heard. */
  readonly #codec: MessageCodec | undefined;
  #slow = false;
  #connected = false;
  #everConnected = false;
  #lostLogged = false;
  /** A connection failed or closed: until then a link not up is still being made, not lost. */
  #broken = false;
  #announcer: Timer | undefined;
  /**
   * Answers to newcomers: one greeting a second at most, however many `hello`s arrive — a flood of
   * hellos from ids never seen (a replica restarting often, or a key holder gone wrong) costs no more.
   */
  readonly #greeting: Throttled;
  #closed = false;

  constructor(options: FleetLinkOptions) {
    this.#o = options;
    this.#timers = options.timers ?? systemTimers;
    this.#greeting = new Throttled(() => this.#announce(), 1_000, this.#timers);
    this.#codec =
      options.sessionKeys.length === 0 ? undefined : new MessageCodec(options.sessionKeys, options.name);
    this.#channel = `${options.name}:events`;
    const { commands, subscriber } = redisConnections(options.url);
    this.#commands = commands;
    this.#subscriber = subscriber;
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
  replicasSeen(now = this.#timers.now()): number {
    return this.#seen.count(now);
  }

  /**
   * Connects (in the background: a Redis down at start is a link lost, not an error) and announces.
   * Without session keys, logs once that circuits stay this replica's own, and connects to nothing.
   */
  start(): void {
    if (this.#codec === undefined) {
      this.#o.logger.error(
        { redis: withoutPassword(this.#o.url) },
        "fleet link not made: fleet.redis_url needs fleet.session_keys (or BREAKWATER_SESSION_KEYS) to authenticate the replicas' messages; circuits stay this replica's own",
      );
      return;
    }
    this.#subscriber.subscribe(this.#channel).catch(() => {});
    for (const client of [this.#commands, this.#subscriber]) client.connect().catch(() => {});
    this.#announceLater();
  }

  /**
   * Tells the other replicas; dropped when the link is down (each replica then goes on alone).
   *
   * @returns whether Redis took it.
   */
  publish(decision: CircuitDecision): Promise<boolean> {
    return this.#send(decision);
  }

  /** Keeps `decision` under `key` for `ms` (a lasting decision, for replicas that join later). */
  remember(key: string, decision: CircuitDecision, ms: number | undefined): Promise<boolean> {
    if (this.#codec === undefined) return Promise.resolve(false);
    const value = this.#codec.encode(decision);
    const command =
      ms === undefined ? this.#commands.set(key, value) : this.#commands.set(key, value, "PX", Math.ceil(ms));
    return this.#done(command);
  }

  /** @returns whether Redis took it. */
  forget(key: string): Promise<boolean> {
    return this.#done(this.#commands.del(key));
  }

  /**
   * Every decision kept under keys starting with `prefix` by another replica, with its time left;
   * values not signed by the fleet, or saying no decision, are left out and counted.
   */
  async recall(prefix: string): Promise<RecalledDecision[]> {
    const found: RecalledDecision[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await this.#commands.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      for (const key of keys) {
        const [value, ms] = await Promise.all([this.#commands.get(key), this.#commands.pttl(key)]);
        if (value === null || ms === -2) continue;
        const message = this.#codec?.decode(value);
        if (message === undefined || message.from === this.replica) continue;
        if (message.kind === "hello" || message.kind === "bye") this.countRejected("malformed");
        else found.push({ decision: message, ms: ms > 0 ? ms : undefined });
      }
    } while (cursor !== "0");
    return found;
  }

  /** Messages and kept values not heard, by reason (`breakwater_fleet_messages_rejected_total`). */
  get rejected(): ReadonlyMap<RejectedReason, number> {
    return this.#codec?.rejected ?? new Map();
  }

  /** Counts a message (or kept value) not heard: e.g. one naming a circuit this replica will not make. */
  countRejected(reason: RejectedReason): void {
    this.#codec?.reject(reason);
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
    this.#timers.clearTimeout(this.#announcer);
    this.#greeting.cancel();
    if (this.#connected && this.#codec !== undefined) {
      const bye: FleetMessage = { kind: "bye", from: this.replica };
      await this.#commands.publish(this.#channel, this.#codec.encode(bye)).catch(() => {});
    }
    this.#commands.disconnect();
    this.#subscriber.disconnect();
  }

  #send(message: FleetMessage): Promise<boolean> {
    if (this.#codec === undefined) return Promise.resolve(false);
    return this.#done(this.#commands.publish(this.#channel, this.#codec.encode(message)));
  }

  /** Whether `command` was answered; a failure marks the link down or slow. */
  #done(command: Promise<unknown>): Promise<boolean> {
    return command.then(
      () => {
        this.#answered();
        return true;
      },
      (error: unknown) => {
        this.#failed(error);
        return false;
      },
    );
  }

  /** The heartbeat: an announcement every `announceEveryMs`, as long as the link is not closed. */
  #announceLater(): void {
    this.#announcer = this.#timers.setTimeout(() => {
      if (this.#closed) return;
      this.#announce();
      this.#announceLater();
    }, this.#o.announceEveryMs ?? 5_000);
  }

  /** Says this replica is alive: also the link's heartbeat, an answer marking a slow link well again. */
  #announce(): void {
    if (this.#commands.status === "ready") void this.#send({ kind: "hello", from: this.replica });
  }

  #heard(signed: string): void {
    const message = this.#codec?.decode(signed);
    if (message === undefined || message.from === this.replica) return;
    if (message.kind === "bye") {
      this.#seen.left(message.from);
      return;
    }
    // a newcomer hears back from each replica soon, rather than over the next announcements
    if (this.#seen.heard(message.from, this.#timers.now())) this.#greeting.run();
    if (message.kind === "hello") return;
    try {
      this.#o.onDecision(message);
    } catch (error) {
      // thrown out of ioredis's message event, it would end the process
      this.#o.logger.error({ err: error, decision: message }, "fleet decision not applied");
    }
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
