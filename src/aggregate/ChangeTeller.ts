import type { Timer, Timers } from "../time/Timers.ts";
import type { ListKind } from "./contracts.ts";

/** At most one notification per kind in this long (SPEC §7.2: "at most one … per kind per second"). */
export const tellEveryMs = 1_000;

/**
 * The notification a kind's change is told by: resources and their templates share
 * `notifications/resources/list_changed`, so they share its once a second too (MCP has no templates'
 * own notification).
 */
function toldAs(kind: ListKind): ListKind {
  return kind === "resourceTemplates" ? "resources" : kind;
}

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
  /** Per notification ({@link toldAs}): when it was last told. */
  readonly #lastTold = new Map<ListKind, number>();
  /** Per notification: the timer at its second's end, and the kinds changed meanwhile. */
  readonly #pending = new Map<ListKind, { readonly timer: Timer; readonly kinds: Set<ListKind> }>();

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
    const notification = toldAs(kind);
    const pending = this.#pending.get(notification);
    if (pending !== undefined) {
      pending.kinds.add(kind); // told at the second's end with the changes before it
      return;
    }
    const last = this.#lastTold.get(notification);
    const now = this.#timers.now();
    if (last === undefined || now - last >= tellEveryMs) {
      this.#lastTold.set(notification, now);
      this.#tell(kind);
      return;
    }
    const kinds = new Set<ListKind>([kind]);
    const timer = this.#timers.setTimeout(
      () => {
        this.#pending.delete(notification);
        this.#lastTold.set(notification, this.#timers.now());
        // told together: a stream writes the one notification they share once
        for (const told of kinds) this.#tell(told);
      },
      last + tellEveryMs - now,
    );
    this.#pending.set(notification, { timer, kinds });
  }

  /** Stops the pending timers; nothing more is told. */
  close(): void {
    for (const { timer } of this.#pending.values()) this.#timers.clearTimeout(timer);
    this.#pending.clear();
    this.#subscribers = [];
  }

  #tell(kind: ListKind): void {
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
