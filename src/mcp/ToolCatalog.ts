import { isToolName } from "./toolName.ts";

/**
 * The tools one upstream has shown exist (SPEC §3.2), so that only those get a circuit: a name a
 * client made up never does. Learnt from what passes through the proxy — the names of each
 * `tools/list` answer (every page of a paginated list), and a tool whose `tools/call` was answered with
 * a plain result (the MCP SDKs answer a call to an unknown tool with an `isError` result, never a plain
 * one). Anything can feed it, a list the proxy asks for itself included.
 *
 * Bounded: at most `capacity` listed names and as many answered ones, each a tool name (SEP-986, at
 * most 128 characters). Sessions may be shown different lists, so a list adds to what earlier ones
 * listed rather than replacing it; when the catalogue is full, the name listed longest ago makes room,
 * so a renamed tool leaves once its room is needed. A name learnt from an answer alone is second-class:
 * it never takes a listed name's place, and its circuit makes room for a listed tool's.
 */
export class ToolCatalog {
  readonly capacity: number;
  /** Listed names, by the number of the list that showed them last; the least recently listed first. */
  readonly #listed = new Map<string, number>();
  /** Names known from answers only, the least recently answered first. */
  readonly #answered = new Set<string>();
  #lists = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0)
      throw new RangeError(`capacity must be a whole number ≥ 0, got ${capacity}`);
    this.capacity = capacity;
  }

  /**
   * One `tools/list` answer (or one page of it): its names are now known, as listed most recently.
   * Names that are no tool name are passed over; a list longer than the capacity is kept up to it.
   */
  listed(names: Iterable<string>): void {
    const list = ++this.#lists;
    for (const name of names) {
      if (!isToolName(name)) continue;
      this.#listed.delete(name);
      if (this.#listed.size >= this.capacity) {
        const oldest = this.#listed.entries().next().value;
        // the list itself fills the catalogue: the rest of it is left out
        if (oldest === undefined || oldest[1] === list) return;
        this.#listed.delete(oldest[0]);
      }
      this.#listed.set(name, list);
      this.#answered.delete(name);
    }
  }

  /** A `tools/call` of `name` was answered with a plain result: the tool exists. */
  answered(name: string): void {
    if (this.#listed.has(name) || !isToolName(name) || this.capacity === 0) return;
    this.#answered.delete(name);
    if (this.#answered.size >= this.capacity) {
      const oldest = this.#answered.values().next().value;
      if (oldest !== undefined) this.#answered.delete(oldest);
    }
    this.#answered.add(name);
  }

  /** Whether the upstream has shown that `name` exists: listed it, or answered a call of it. */
  knows(name: string): boolean {
    return this.#listed.has(name) || this.#answered.has(name);
  }

  /** Whether a `tools/list` answer showed `name` (and it has not left since). */
  lists(name: string): boolean {
    return this.#listed.has(name);
  }

  /** How many names are known, listed and answered. */
  get size(): number {
    return this.#listed.size + this.#answered.size;
  }
}
