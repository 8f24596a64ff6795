import type { StateChange } from "./CircuitState.ts";

export type StateChangeListener = (change: StateChange) => void;

/** Shared by every notifier that nobody listens to yet: a breaker costs as little memory as it can. */
const nobody: readonly StateChangeListener[] = Object.freeze([]);

/**
 * Tells listeners of state changes, in the order the changes happened, even when a listener changes
 * the state again (a change made during a notification waits until every listener has heard of the
 * one before). A listener that throws disturbs neither the breaker nor the other listeners: its error
 * is reported asynchronously, as an EventTarget does.
 */
export class ChangeNotifier {
  #listeners: readonly StateChangeListener[] = nobody;
  /** Changes made while listeners were being told of an earlier one; made when first needed. */
  #queue: StateChange[] | undefined;
  #notifying = false;

  /** Whether anyone listens: a change nobody hears needs no object. */
  get listened(): boolean {
    return this.#listeners.length > 0;
  }

  add(listener: StateChangeListener): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  notify(change: StateChange): void {
    if (this.#notifying) {
      this.#queue ??= [];
      this.#queue.push(change);
      return;
    }
    this.#notifying = true;
    try {
      for (let next: StateChange | undefined = change; next !== undefined; next = this.#queue?.shift()) {
        for (const listener of this.#listeners) {
          try {
            listener(next);
          } catch (error) {
            queueMicrotask(() => {
              throw error;
            });
          }
        }
      }
    } finally {
      this.#notifying = false;
    }
  }
}
