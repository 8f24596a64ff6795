import type { EndCause } from "./pendingCallError.ts";
import type { StdioSession } from "./StdioSession.ts";

/**
 * The processes of one stdio upstream, each accounted from the moment its slot is taken (before it is
 * spawned) to its exit (SPEC §5): `max_processes` holds for processes still starting, or waiting for
 * their `initialize` answer, as for those serving a session; a session the transport never gave an
 * id is counted, and stopped on close, like any other.
 */
export class ProcessTable {
  readonly #maxProcesses: number;
  /** Every session whose process is starting or running. */
  readonly #live = new Set<StdioSession>();
  /** Sessions that have an id, by it. */
  readonly #byId = new Map<string, StdioSession>();
  #closed = false;

  constructor(maxProcesses: number) {
    this.#maxProcesses = maxProcesses;
  }

  /** Processes starting or running. */
  get size(): number {
    return this.#live.size;
  }

  /**
   * Takes a slot for `session`'s process, at once (nothing awaited between the count and the taking):
   * false when `max_processes` are live, or the upstream is closing.
   */
  admit(session: StdioSession): boolean {
    if (this.#closed || this.#live.size >= this.#maxProcesses) return false;
    this.#live.add(session);
    return true;
  }

  /** `session` got its id from the transport: requests carrying it reach it. */
  named(session: StdioSession): void {
    const id = session.sessionId;
    if (id !== undefined && this.#live.has(session)) this.#byId.set(id, session);
  }

  get(id: string): StdioSession | undefined {
    return this.#byId.get(id);
  }

  /** `session`'s process has exited (or never started): its slot is free. */
  gone(session: StdioSession): void {
    this.#live.delete(session);
    const id = session.sessionId;
    if (id !== undefined && this.#byId.get(id) === session) this.#byId.delete(id);
  }

  /** Admits no more, and ends every session, starting ones too; resolves once their processes are gone. */
  async close(cause: EndCause): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#live].map((session) => session.end(cause)));
  }
}
