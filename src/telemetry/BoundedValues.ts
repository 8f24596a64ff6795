/**
 * The values a metric label may take, bounded: the first `limit` distinct ones are kept as they are,
 * any later one is recorded as `other`. What a client or an upstream writes (a method, a tool name, an
 * error code) becomes a label; without a bound, a client inventing names would make a series per name
 * and grow the proxy's memory without end.
 */
export class BoundedValues {
  readonly #limit: number;
  readonly #kept = new Set<string>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** `value` when it is kept (or can still be), else `other`. */
  of(value: string): string {
    if (this.#kept.has(value)) return value;
    if (this.#kept.size >= this.#limit) return otherValue;
    this.#kept.add(value);
    return value;
  }
}

/** What a value past the bound is recorded as. */
export const otherValue = "other";
