import { isEmptyObject, type Splice } from "./jsonPaths.ts";

/**
 * Putting members into a message's `params._meta` by splicing them in, every other byte as it was
 * written: the aggregate's envelope for a hop (SPEC §7.2) and the trace context of an upstream request
 * (SPEC §9) both travel there.
 */

/**
 * A splice that puts `envelope`'s members first into `params._meta`, making `_meta` when absent, and
 * `params` too when `top` is given. `params`, `meta`, `top`: where the message's `params`, its `_meta`
 * and the message itself open (their `{`), as `valuesAt` found them; undefined when absent (or no
 * object). A key also written in `_meta` stays there after the new one: JSON.parse keeps the last, so
 * the written one stands (the caller replaces such values itself when its own must win). An empty
 * envelope, or no object to put it in, is an empty splice.
 */
export function envelopeSplice(
  body: Buffer,
  envelope: Readonly<Record<string, unknown>>,
  params: number | undefined,
  meta: number | undefined,
  top?: number,
): Splice {
  const members = JSON.stringify(envelope).slice(1, -1);
  if (members === "") return { start: 0, end: 0, text: "" };
  if (meta !== undefined) return firstMembers(body, meta, members);
  if (params !== undefined) return firstMembers(body, params, `"_meta":{${members}}`);
  if (top !== undefined) return firstMembers(body, top, `"params":{"_meta":{${members}}}`);
  return { start: 0, end: 0, text: "" };
}

/** `members` put first into the object whose `{` is at `object`, with a comma when others follow. */
function firstMembers(body: Buffer, object: number, members: string): Splice {
  const text = isEmptyObject(body, object) ? members : `${members},`;
  return { start: object + 1, end: object + 1, text };
}
