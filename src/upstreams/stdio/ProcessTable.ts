import { systemTimers, type Timer, type Timers } from "../../time/Timers.ts";
import type { ProcessSlots } from "../Upstream.ts";
import type { EndCause } from "./pendingCallError.ts";

/**
 * A process as the table counts it: a session's (`StdioSession`, named once the transport gives it an
 * id), or one of the shared pool of a 2026-07-28 server (`PoolProcess`, never named; it stops itself
 * when idle, and an idle one gives way to a session as an idle session does).
 */
export interface TableEntry {
  readonly sessionId: string | undefined;
  readonly ending: boolean;
  readonly busy: boolean;
  readonly lastUsed: number;
  /** A pool process: busy while starting, or with a call in flight or a listen standing. */
  readonly shared?: boolean;
  end(cause: EndCause): Promise<void>;
}

/** A session waiting for the slot of a process that is stopping. */
interface Waiter {
  readonly session: TableEntry;
  readonly granted: (granted: boolean) => void;
  readonly timer: Timer;
}

/**
 * The processes of one stdio upstream, each accounted from the moment its slot is taken (before it is
 * spawned) to its exit (SPEC §5): `max_processes` holds for processes still starting, or waiting for
 * their `initialize` answer, as for those serving a session; a session the transport never gave an
 * id is counted, and stopped on close, like any other.
 *
 * At `max_processes`, a new session waits for the slot of a process that is stopping; when none is,
 * the least recently used process with no call in flight and no open stream (a session's, or an idle
 * one of the pool) is ended to make one. A
 * stopping process holds its slot until it has exited, and then hands it to the first waiter in the
 * same step: the count never goes beyond `max_processes`.
 */
export class ProcessTable<Session extends TableEntry = TableEntry> {
  readonly #maxProcesses: number;
  readonly #timers: Timers;
  /** Every session whose process is starting or running. */
  readonly #live = new Set<TableEntry>();
  /** Sessions that have an id, by it. */
  readonly #byId = new Map<string, Session>();
  /** Sessions waiting for a slot, first come first served; never more than the processes stopping. */
  #waiters: Waiter[] = [];
  #closed = false;

  constructor(maxProcesses: number, timers: Timers = systemTimers) {
    this.#maxProcesses = maxProcesses;
    this.#timers = timers;
  }

  /** Processes starting or running. */
  get size(): number {
    return this.#live.size;
  }

  /** Live, busy and the limit. Costs a pass over the live sessions (at most `max_processes`). */
  get slots(): ProcessSlots {
    let busy = 0;
    for (const entry of this.#live) {
      if (entry.ending) continue;
      if (!this.#evictable(entry)) busy++;
    }
    return { live: this.#live.size, busy, limit: this.#maxProcesses };
  }

  /**
   * Takes a slot for `session`'s process, at once (nothing awaited between the count and the taking):
   * false when `max_processes` are live, or the upstream is closing.
   */
  admit(session: TableEntry): boolean {
    if (this.#closed || this.#live.size >= this.#maxProcesses || this.#waiters.length > 0) return false;
    this.#live.add(session);
    return true;
  }

  /**
   * After `admit` said no: a slot for `session` as soon as a stopping process has exited — one already
   * stopping that no other session waits for, else that of the least recently used idle session, which
   * `evict` is told to end (at once, before this returns). Resolves true with the slot taken, false
   * when none came within `waitMs` or the table closed. Undefined when every process is busy: no room
   * can be made.
   */
  makeRoom(
    session: TableEntry,
    waitMs: number,
    evict: (victim: TableEntry) => void,
  ): Promise<boolean> | undefined {
    if (this.#closed) return undefined;
    let stopping = 0;
    for (const live of this.#live) if (live.ending) stopping++;
    if (stopping <= this.#waiters.length) {
      const victim = this.#leastRecentlyUsed();
      if (victim === undefined) return undefined;
      evict(victim);
      if (!victim.ending) return undefined; // not ended after all: no room to wait for
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        session,
        granted: resolve,
        timer: this.#timers.setTimeout(() => this.withdraw(session), waitMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /** `session` no longer waits for a slot (its client left, or it waited too long): false for it. */
  withdraw(session: TableEntry): void {
    const waiter = this.#waiters.find((w) => w.session === session);
    if (waiter === undefined) return;
    this.#waiters = this.#waiters.filter((w) => w !== waiter);
    this.#timers.clearTimeout(waiter.timer);
    waiter.granted(false);
  }

  /** `session` got its id from the transport: requests carrying it reach it. */
  named(session: Session): void {
    const id = session.sessionId;
    if (id !== undefined && this.#live.has(session)) this.#byId.set(id, session);
  }

  get(id: string): Session | undefined {
    return this.#byId.get(id);
  }

  /** `session`'s process has exited (or never started): its slot is free, or the first waiter's. */
  gone(session: TableEntry): void {
    if (!this.#live.delete(session)) return;
    const id = session.sessionId;
    if (id !== undefined && this.#byId.get(id) === session) this.#byId.delete(id);
    const next = this.#waiters.shift();
    if (next === undefined) return;
    this.#timers.clearTimeout(next.timer);
    this.#live.add(next.session); // in the same step as the slot came free: nobody else takes it
    next.granted(true);
  }

  /** Admits no more, and ends every session, starting ones too; resolves once their processes are gone. */
  async close(cause: EndCause): Promise<void> {
    this.#closed = true;
    for (const waiter of [...this.#waiters]) this.withdraw(waiter.session);
    await Promise.all([...this.#live].map((session) => session.end(cause)));
  }

  /**
   * A process that could be ended to make room: not ending, no call in flight, no open stream; a
   * session's must be named (one still waiting for its `initialize` answer is busy).
   */
  #evictable(session: TableEntry): boolean {
    if (session.shared === true) return !session.busy && !session.ending;
    return (
      session.sessionId !== undefined &&
      this.#byId.get(session.sessionId) === session &&
      !session.ending &&
      !session.busy
    );
  }

  #leastRecentlyUsed(): TableEntry | undefined {
    let oldest: TableEntry | undefined;
    for (const session of this.#live) {
      if (!this.#evictable(session)) continue;
      if (oldest === undefined || session.lastUsed < oldest.lastUsed) oldest = session;
    }
    return oldest;
  }
}
