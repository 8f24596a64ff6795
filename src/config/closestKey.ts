import { z } from "zod";

/**
 * The key of `schema`'s table at `path` that an unknown `key` most likely meant, or undefined when
 * none is close (see {@link closestName}).
 */
export function closestKey(schema: z.ZodType, path: readonly PropertyKey[], key: string): string | undefined {
  return closestName(key, keysAt(schema, path));
}

/**
 * The name of `known` that `typed` most likely meant — a typo, a letter case or `-` for `_` — or
 * undefined when none is close. Close is at most two edits (insertions, deletions, substitutions, swaps
 * of neighbours), and at most one per three letters, so that a short name does not suggest an unrelated
 * one. Also for command-line flags.
 */
export function closestName(typed: string, known: readonly string[]): string | undefined {
  const wrote = normal(typed);
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(wrote, normal(name));
    const allowed = Math.min(2, Math.floor(Math.max(wrote.length, name.length) / 3));
    if (distance <= allowed && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

function normal(key: string): string {
  return key.toLowerCase().replaceAll("-", "_");
}

/** The keys of the table at `path` (an index steps into an array's element); none if there is no table. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let at: z.ZodType | undefined = schema;
  for (const part of path) {
    const table = bare(at);
    at =
      table instanceof z.ZodArray && typeof part === "number"
        ? table.element
        : table instanceof z.ZodObject && typeof part === "string"
          ? table.shape[part]
          : undefined;
  }
  const table = bare(at);
  return table instanceof z.ZodObject ? Object.keys(table.shape) : [];
}

/** The schema inside `.optional()`, `.default()` and `.prefault()`. */
function bare(schema: z.ZodType | undefined): z.ZodType | undefined {
  let at = schema;
  while (at instanceof z.ZodOptional || at instanceof z.ZodDefault || at instanceof z.ZodPrefault)
    at = at.unwrap() as z.ZodType;
  return at;
}

/** Optimal string alignment distance: Levenshtein's edits, and a swap of two neighbours as one. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(at(i, j), at(i - 2, j - 2) + 1);
    }
  }
  return at(a.length, b.length);
}
