import type { Timer, Timers } from "../time/Timers.ts";
import type { ListKind } from "./contracts.ts";

/** At most one notification per kind in this long (SPEC §7.2: "at most one … per kind per second"). */
export const tellEveryMs = 1_000;

interface Subscriber {
  readonly kinds: ReadonlySet<ListKind>;
  readonly tell: (kind: ListKind) => void;
}

/**
 * Tells subscribers (clients' listen and GET streams) that a merged list changed: at once when nothing
 * of that kind was told in the last second, else once at the second's end for every change between
 * (one timer per kind for the whole aggregate, none per client). Told when the change happens, never
 * when a client next asks.
 */
export class ChangeTeller {
  readonly #timers: Timers;
  readonly #counted: ((kind: ListKind) => void) | undefined;
  #subscribers: readonly Subscriber[] = [];
  readonly #lastTold = new Map<ListKind, number>();
  readonly #pending = new Map<ListKind, Timer>();

  constructor(timers: Timers, counted?: (kind: ListKind) => void) {
    this.#timers = timers;
    this.#counted = counted;
  }

  /** Tells `tell` each change of `kinds` from now on; returns the unsubscribe. */
  subscribe(kinds: ReadonlySet<ListKind>, tell: (kind: ListKind) => void): () => void {
    const subscriber: Subscriber = { kinds, tell };
    this.#subscribers = [...this.#subscribers, subscriber];
    return () => {
      this.#subscribers = this.#subscribers.filter((s) => s !== subscriber);
    };
  }

  /** The merged list of `kind` changed. */
  changed(kind: ListKind): void {
    if (this.#pending.has(kind)) return; // told at the second's end with the changes before it
    const last = this.#lastTold.get(kind);
    const now = this.#timers.now();
    if (last === undefined || now - last >= tellEveryMs) {
      this.#tell(kind);
      return;
    }
    const timer = this.#timers.setTimeout(
      () => {
        this.#pending.delete(kind);
        this.#tell(kind);
      },
      last + tellEveryMs - now,
    );
    this.#pending.set(kind, timer);
  }

  /** Stops the pending timers; nothing more is told. */
  close(): void {
    for (const timer of this.#pending.values()) this.#timers.clearTimeout(timer);
    this.#pending.clear();
    this.#subscribers = [];
  }

  #tell(kind: ListKind): void {
    this.#lastTold.set(kind, this.#timers.now());
    this.#counted?.(kind);
    for (const { kinds, tell } of this.#subscribers) {
      if (!kinds.has(kind)) continue;
      try {
        tell(kind);
      } catch {
        // a receiver that fails (a closed stream) must not keep the others from hearing
      }
    }
  }
}
