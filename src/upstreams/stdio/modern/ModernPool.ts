import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Timers } from "../../../time/Timers.ts";
import type { ChildFault, ChildProcessTransport } from "../ChildProcessTransport.ts";
import type { ProcessTable } from "../ProcessTable.ts";
import type { EndCause } from "../pendingCallError.ts";
import type { ExitReason } from "../StdioSession.ts";
import type { Era } from "./EraProbe.ts";
import { PoolProcess } from "./PoolProcess.ts";

/**
 * Calls in flight (standing listens not counted) on every process of the pool before another process
 * is started (while there is room below `max_processes`): one stdio process serves many clients at
 * once, and a process per client is what the pool is there to avoid.
 */
export const callsPerProcess = 16;

export interface ModernPoolOptions {
  readonly upstream: string;
  /** The upstream's processes, sessions' and the pool's alike: `max_processes` holds for all. */
  readonly table: ProcessTable;
  /** A new process of the upstream's command, not started. */
  readonly newChild: () => ChildProcessTransport;
  readonly idleTimeoutMs: number;
  readonly probeTimeoutMs: number;
  /** How long a new process waits for the slot of a session ended to make room for it. */
  readonly slotWaitMs: number;
  readonly timers?: Timers;
  /** Told what each new process's probe said. */
  readonly onEra: (era: Era) => void;
  readonly onExit?: (reason: ExitReason) => void;
  readonly onIdle?: (pid: number | undefined) => void;
  /** Told when a process breaks a bound of the transport; it is then stopped, its calls answered. */
  readonly onFault?: (pid: number | undefined, fault: ChildFault) => void;
}

/** Where a call goes: a process of the pool, and whether it may ask for log messages there. */
export type Placement =
  | {
      readonly kind: "process";
      readonly process: PoolProcess;
      readonly mayLog: boolean;
      readonly listen: boolean;
    }
  /** The process started was of the earlier era; its answer to the probe, if it gave one. */
  | { readonly kind: "earlier"; readonly answer: JSONRPCMessage | undefined }
  /** No process can be had: `max_processes` live and busy, none of the pool's open. */
  | { readonly kind: "full" };

/**
 * How a start went: the era its probe found, no room after all (`full`), or the error that kept the
 * process from starting.
 */
type Start =
  | { readonly era: Era | "full"; readonly process: PoolProcess }
  | { readonly era: "failed"; readonly process: PoolProcess; readonly error: Error };

/**
 * The shared processes of a 2026-07-28 stdio server (SPEC §8.3): started on demand (each probed for its
 * era as it starts), up to `max_processes` counted with the upstream's sessions, each stopping itself
 * after `idle_timeout_secs` without a call. A call goes to the process with the fewest calls in flight;
 * another process is started only when each has {@link callsPerProcess}; the pool's first
 * may take the place of an idle session at `max_processes`. One start at a time: calls
 * that need a process while one starts wait for it.
 *
 * Log messages name no request on stdio: a call that asks for them goes to a process with no other
 * such call in flight (one is started when none is free and there is room); when none can be had, it
 * is sent without its log level — the client gets no log messages rather than another client's.
 */
export class ModernPool {
  readonly #o: ModernPoolOptions;
  readonly #processes = new Set<PoolProcess>();
  #starting: Promise<Start> | undefined;
  #closed = false;
  /** What the last process of the earlier era answered the probe (for modern clients asking it). */
  earlierAnswer: JSONRPCMessage | undefined;

  constructor(options: ModernPoolOptions) {
    this.#o = options;
  }

  /**
   * A process for a call (`logs`: one that asks for log messages; `listen`: a `subscriptions/listen`). Rejects when a process cannot be
   * started (its command fails).
   */
  async place(logs: boolean, listen = false): Promise<Placement> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const open = [...this.#processes].filter((p) => (listen ? p.takesListen : p.open));
      const best = leastBusy(logs ? open.filter((p) => !p.logging) : open);
      if (best !== undefined && best.calls < callsPerProcess) return placed(best, logs, listen);
      if (this.#starting === undefined) {
        // a session's idle process may make room, but only for a pool that has no process to share
        const started = this.#start(open.length === 0);
        if (started === undefined) {
          // no room for another: the least busy process takes it (without log messages if need be)
          if (best !== undefined) return placed(best, logs, listen);
          const fallback = leastBusy(open);
          return fallback === undefined ? { kind: "full" } : placed(fallback, false, listen);
        }
        this.#starting = started.finally(() => {
          this.#starting = undefined;
        });
      }
      const start = await this.#starting;
      if (start.era === "earlier") return { kind: "earlier", answer: start.process.probeAnswer };
      if (start.era === "failed") throw start.error;
      if (start.era === "full") break;
    }
    const open = leastBusy([...this.#processes].filter((p) => (listen ? p.takesListen : p.open)));
    return open === undefined ? { kind: "full" } : placed(open, false, listen);
  }

  /** Stops every process: calls in flight answered `upstream_exited`, naming `cause`. */
  async close(cause: EndCause): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#processes].map((p) => p.end(cause)));
  }

  /**
   * Starts a process when the table has room; `mayEvict`: else when ending the least recently used idle
   * session makes room (SPEC §5: at `max_processes`, such a session gives way; its slot is handed over
   * once its process has exited, within `slotWaitMs`). Undefined when no room can be had.
   */
  #start(mayEvict: boolean): Promise<Start> | undefined {
    if (this.#closed) return undefined;
    const o = this.#o;
    const child = o.newChild();
    const process: PoolProcess = new PoolProcess(child, {
      upstream: o.upstream,
      idleTimeoutMs: o.idleTimeoutMs,
      probeTimeoutMs: o.probeTimeoutMs,
      ...(o.timers === undefined ? {} : { timers: o.timers }),
      onGone: (gone, stopped) => this.#gone(gone, stopped, child),
      onEnding: (ending, cause) => {
        if (cause === "idle") o.onIdle?.(ending.pid);
        if (cause === "message_too_large" || cause === "stdin_stuck" || cause === "stdout_closed")
          o.onFault?.(ending.pid, cause);
      },
    });
    if (o.table.admit(process)) return this.#spawn(process);
    if (!mayEvict) return undefined;
    const room = o.table.makeRoom(process, o.slotWaitMs, (victim) => void victim.end("evicted"));
    return room?.then((granted) => (granted ? this.#spawn(process) : { era: "full", process }));
  }

  /** Spawns and probes `process`, its slot taken. */
  #spawn(process: PoolProcess): Promise<Start> {
    const o = this.#o;
    this.#processes.add(process);
    return process.start().then(
      (era): Start => {
        o.onEra(era);
        // a server of the earlier era cannot serve the pool: its process goes at once
        if (era === "earlier") {
          this.earlierAnswer = process.probeAnswer;
          void process.end("deleted");
        }
        return { era, process };
      },
      (error: unknown): Start => {
        this.#processes.delete(process);
        o.table.gone(process);
        return { era: "failed", process, error: error as Error };
      },
    );
  }

  #gone(process: PoolProcess, stopped: boolean, child: ChildProcessTransport): void {
    this.#processes.delete(process);
    this.#o.table.gone(process);
    const exit = child.exit;
    this.#o.onExit?.(stopped ? "stopped" : exit?.code === 0 ? "exited" : "crashed");
  }
}

/** A call placed on `process`, counted there at once (see `PoolProcess.reserve`). */
function placed(process: PoolProcess, mayLog: boolean, listen: boolean): Placement {
  process.reserve(mayLog, listen);
  return { kind: "process", process, mayLog, listen };
}

function leastBusy(processes: readonly PoolProcess[]): PoolProcess | undefined {
  let best: PoolProcess | undefined;
  for (const p of processes) if (best === undefined || p.calls < best.calls) best = p;
  return best;
}
