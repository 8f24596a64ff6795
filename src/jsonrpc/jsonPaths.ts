import { closingQuote } from "./jsonSkipping.ts";

/**
 * Finding the bytes of a few values inside a JSON text without parsing the rest: what lets the
 * aggregate change one string of a body (a prefixed name, a URI, an id) and leave every other byte as
 * the client or server wrote it (big numbers, escapes, argument order). Values off the paths are
 * stepped over, strings by a native search (jsonSkipping.ts).
 */

/** A path from the top value down: object keys, or `*` for every element of an array. */
export type JsonPath = readonly string[];

/** Where the value at `paths[path]` lies: `bytes[start, end)`. */
export interface ValueAt {
  readonly path: number;
  readonly start: number;
  readonly end: number;
}

/** An edit of a JSON text: `bytes[start, end)` replaced by `text`. */
export interface Splice {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

const quote = 0x22;
const openBrace = 0x7b;
const closeBrace = 0x7d;
const openBracket = 0x5b;
const closeBracket = 0x5d;
const comma = 0x2c;
const backslash = 0x5c;

/**
 * The values at `paths` in `bytes` (a JSON text that `JSON.parse` accepts), in text order; a key that
 * occurs twice gives both (the caller changes both alike). A malformed text gives what was found
 * before the fault.
 */
export function valuesAt(bytes: Buffer, paths: readonly JsonPath[]): ValueAt[] {
  const found: ValueAt[] = [];
  const all = paths.map((_, i) => i);
  try {
    walk(bytes, skipSpace(bytes, bomLength(bytes)), 0, all, paths, found);
  } catch {
    // a text that ends early: what was found stands
  }
  return found;
}

/**
 * Where `value` lies as the string value of the member named `key` (a plain ASCII name), found by a
 * native search instead of a walk, when that is certain: the text holds no backslash (each string is
 * then written as `JSON.stringify` writes it: no escape can hide a key or a value) and `"key"` and the
 * quoted value each occur once in it. The caller knows from the parse that such a member exists.
 * Undefined otherwise (walk instead): a key written twice is left to the walk, which finds both.
 */
export function soleMember(bytes: Buffer, key: string, value: string): ValueAt | undefined {
  // an invalid byte decodes to U+FFFD: the value's own bytes are then not the ones searched for
  if (value.includes("\uFFFD") || bytes.indexOf(backslash) !== -1) return undefined;
  const keyText = `"${key}"`;
  const keyAt = bytes.indexOf(keyText);
  if (keyAt < 0 || bytes.indexOf(keyText, keyAt + 1) !== -1) return undefined;
  const text = Buffer.from(JSON.stringify(value));
  const start = bytes.indexOf(text);
  if (start < 0 || bytes.indexOf(text, start + 1) !== -1) return undefined;
  return { path: 0, start, end: start + text.length };
}

/** `bytes` with `splices` (non-overlapping) applied. */
export function applySplices(bytes: Buffer, splices: readonly Splice[]): Buffer {
  if (splices.length === 0) return bytes;
  const ordered = [...splices].sort((a, b) => a.start - b.start);
  const parts: Buffer[] = [];
  let at = 0;
  for (const splice of ordered) {
    parts.push(bytes.subarray(at, splice.start), Buffer.from(splice.text));
    at = splice.end;
  }
  parts.push(bytes.subarray(at));
  return Buffer.concat(parts);
}

/** The string a value's bytes hold, or undefined when the value is no string. */
export function stringAt(bytes: Buffer, at: ValueAt): string | undefined {
  if (bytes[at.start] !== quote) return undefined;
  const value: unknown = JSON.parse(bytes.toString("utf8", at.start, at.end));
  return typeof value === "string" ? value : undefined;
}

/** Whether the object whose `{` is at `start` has no member. */
export function isEmptyObject(bytes: Buffer, start: number): boolean {
  return bytes[skipSpace(bytes, start + 1)] === closeBrace;
}

/** One member of an object: its key, and its bytes from the key's opening quote to its value's end. */
export interface MemberAt {
  readonly key: string;
  readonly start: number;
  readonly valueStart: number;
  readonly end: number;
}

/**
 * The members of the object whose `{` is at `start` in `bytes` (a JSON text `JSON.parse` accepts), in
 * text order, a key written twice giving both: what removing a member (its comma with it) needs, which
 * a value's place alone does not tell. A malformed text gives the members found before the fault.
 */
export function membersAt(bytes: Buffer, start: number): MemberAt[] {
  const members: MemberAt[] = [];
  let i = skipSpace(bytes, start + 1);
  if (bytes[i] !== quote) return members;
  try {
    for (;;) {
      const keyEnd = endOf(closingQuote(bytes, i + 1));
      const valueStart = skipSpace(bytes, skipSpace(bytes, keyEnd + 1) + 1); // past the colon
      const end = skipValue(bytes, valueStart);
      members.push({ key: keyAt(bytes, i, keyEnd), start: i, valueStart, end });
      i = skipSpace(bytes, end);
      if (bytes[i] !== comma) return members;
      i = skipSpace(bytes, i + 1);
    }
  } catch {
    return members; // a text that ends early: what was found stands
  }
}

/** Reads the value at `i`, recording it if a path ends here; returns the index just past it. */
function walk(
  bytes: Buffer,
  i: number,
  depth: number,
  active: readonly number[],
  paths: readonly JsonPath[],
  found: ValueAt[],
): number {
  const ending = active.filter((p) => (paths[p] as JsonPath).length === depth);
  const deeper = active.filter((p) => (paths[p] as JsonPath).length > depth);
  const c = bytes[i];
  let end: number;
  if (deeper.length === 0) end = skipValue(bytes, i);
  else if (c === openBrace) end = walkObject(bytes, i, depth, deeper, paths, found);
  else if (c === openBracket) {
    const elements = deeper.filter((p) => (paths[p] as JsonPath)[depth] === "*");
    end = elements.length === 0 ? skipValue(bytes, i) : walkArray(bytes, i, depth, elements, paths, found);
  } else end = skipValue(bytes, i);
  for (const path of ending) found.push({ path, start: i, end });
  return end;
}

function walkObject(
  bytes: Buffer,
  i: number,
  depth: number,
  active: readonly number[],
  paths: readonly JsonPath[],
  found: ValueAt[],
): number {
  i = skipSpace(bytes, i + 1);
  if (bytes[i] === closeBrace) return i + 1;
  for (;;) {
    const keyEnd = endOf(closingQuote(bytes, i + 1));
    const key = keyAt(bytes, i, keyEnd);
    i = skipSpace(bytes, skipSpace(bytes, keyEnd + 1) + 1); // past the colon
    const next = active.filter((p) => (paths[p] as JsonPath)[depth] === key);
    i = skipSpace(
      bytes,
      next.length === 0 ? skipValue(bytes, i) : walk(bytes, i, depth + 1, next, paths, found),
    );
    if (bytes[i] === comma) i = skipSpace(bytes, i + 1);
    else return i + 1;
  }
}

function walkArray(
  bytes: Buffer,
  i: number,
  depth: number,
  active: readonly number[],
  paths: readonly JsonPath[],
  found: ValueAt[],
): number {
  i = skipSpace(bytes, i + 1);
  if (bytes[i] === closeBracket) return i + 1;
  for (;;) {
    i = skipSpace(bytes, walk(bytes, i, depth + 1, active, paths, found));
    if (bytes[i] === comma) i = skipSpace(bytes, i + 1);
    else return i + 1;
  }
}

/** The key whose quotes are at `open` and `close`, its escapes read. */
function keyAt(bytes: Buffer, open: number, close: number): string {
  const raw = bytes.toString("utf8", open, close + 1);
  return raw.includes("\\") ? (JSON.parse(raw) as string) : raw.slice(1, -1);
}

/** The index just past the value at `i`, nothing of it read but its structure. */
function skipValue(bytes: Buffer, i: number): number {
  const c = bytes[i];
  if (c === quote) return endOf(closingQuote(bytes, i + 1)) + 1;
  if (c !== openBrace && c !== openBracket) {
    let j = i;
    while (j < bytes.length && !isDelimiter(bytes[j] as number)) j++;
    return j;
  }
  let depth = 0;
  for (let j = i; j < bytes.length; j++) {
    const b = bytes[j];
    if (b === quote) j = endOf(closingQuote(bytes, j + 1));
    else if (b === openBrace || b === openBracket) depth++;
    else if ((b === closeBrace || b === closeBracket) && --depth === 0) return j + 1;
  }
  throw new RangeError("unterminated JSON value");
}

function endOf(index: number): number {
  if (index < 0) throw new RangeError("unterminated JSON string");
  return index;
}

function skipSpace(bytes: Buffer, i: number): number {
  while (i < bytes.length && isSpace(bytes[i] as number)) i++;
  return i;
}

function bomLength(bytes: Buffer): number {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDelimiter = (c: number) => c === comma || c === closeBrace || c === closeBracket || isSpace(c);
