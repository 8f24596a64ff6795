/**
 * The values a metric label may take, bounded in number and in form: a value of the expected form is
 * kept as it is while fewer than `limit` distinct ones have been; any other — a later one, one too long
 * or of another form — is recorded as `other`. What a client or an upstream writes (a method, a tool
 * name, an error code) becomes a label; unbounded, a client inventing names would make a series per
 * name, and a name of megabytes would make the metrics page too long to render.
 */
export class BoundedValues {
  readonly #limit: number;
  readonly #form: RegExp;
  readonly #kept = new Set<string>();

  /** `form`: what a value must match whole to be kept (bounded in length by the pattern itself). */
  constructor(limit: number, form: RegExp) {
    this.#limit = limit;
    this.#form = form;
  }

  /** `value` when it is kept (or can still be), else `other`. */
  of(value: string): string {
    if (this.#kept.has(value)) return value;
    if (this.#kept.size >= this.#limit || !this.#form.test(value)) return otherValue;
    this.#kept.add(value);
    return value;
  }
}

/** What a value past the bound is recorded as. */
const otherValue = "other";

/** An MCP method: slash-separated words (`tools/call`, `notifications/resources/updated`). */
export const methodForm = /^[A-Za-z_]{1,32}(\/[A-Za-z_]{1,32}){0,3}$/;
/** A tool or prompt name as SEP-986 allows it, or as the aggregate prefixes one (≤ 128 characters). */
export const nameForm = /^[A-Za-z0-9_.\-/]{1,128}$/;
/** A protocol revision: a date (`2025-11-25`). */
export const versionForm = /^\d{4}-\d{2}-\d{2}$/;
/** An error type: a code or a short word (`-32603`, `tool_error`, `ECONNREFUSED`, `exit 3`). */
export const errorForm = /^[A-Za-z0-9_. -]{1,40}$/;
