import {
  applySplices,
  type JsonPath,
  type MemberAt,
  membersAt,
  type Splice,
  stringAt,
  type ValueAt,
  valuesAt,
} from "../jsonrpc/jsonPaths.ts";
import { envelopeSplice } from "../jsonrpc/metaEnvelope.ts";
import type { McpRequestFacts } from "./mcpRequestFacts.ts";
import type { TraceContextValues } from "./traceCarrier.ts";

/**
 * The trace context of an upstream request in its body (SPEC §9): the OpenTelemetry MCP conventions
 * propagate it in `params._meta.traceparent` / `tracestate` (unprefixed, SEP-414), for requests and
 * notifications alike. Those values are the only change Breakwater makes to a body it forwards, so
 * they are spliced in: ids, big numbers, escapes, key order and white space stay as written.
 */

const paths: readonly JsonPath[] = [[], ["jsonrpc"], ["method"], ["params"], ["params", "_meta"]];
const [top, jsonrpc, method, params, meta] = [0, 1, 2, 3, 4] as const;
const openBrace = 0x7b;
const closeBrace = 0x7d;

/**
 * `body` with `params._meta.traceparent` set to `context.traceparent`, and `tracestate` to
 * `context.tracestate` — or, when the context has none, without the client's `tracestate`: the pair
 * describes one context (W3C Trace Context: a `tracestate` goes with the `traceparent` it came with),
 * and the new span's `tracestate` is the one it carries on, which the propagator gives. A value
 * already there is replaced in place (each, for a key written twice); `_meta` is made when absent, and
 * `params` too. A body that is no single JSON-RPC request or notification (a batch, a response, not an
 * object) is returned as it is, as is one whose `params` or `_meta` is no object. `body` is a text the
 * caller has read as JSON (mcpRequestFacts gave facts for it): it is not parsed again, only walked; a
 * text cut short is seen and left as it is. `facts`, when given, are `body`'s: where they say there is
 * no `_meta`, the context is put in without a walk of the body.
 */
export function withMetaContext(
  body: Buffer,
  context: TraceContextValues,
  facts?: Pick<McpRequestFacts, "metaAbsent">,
): Buffer {
  const absent = facts?.metaAbsent;
  const opening = absent === undefined ? undefined : newMetaAt(body, absent);
  if (opening !== undefined) {
    const [params, top] = absent === "no params" ? [undefined, opening] : [opening, undefined];
    return applySplices(body, [envelopeSplice(body, envelopeOf(context), params, undefined, top)]);
  }
  const found = valuesAt(body, paths);
  const message = found.find((at) => at.path === top);
  if (message === undefined || !isWholeObject(body, message)) return body;
  if (lastString(body, found, jsonrpc) !== "2.0" || lastString(body, found, method) === undefined)
    return body;
  const envelope = envelopeOf(context);
  const paramsFound = found.filter((at) => at.path === params);
  if (paramsFound.length === 0)
    return applySplices(body, [envelopeSplice(body, envelope, undefined, undefined, message.start)]);
  const splices: Splice[] = [];
  // JSON.parse keeps the last `params` (and `_meta`); a reader that keeps the first gets the context too
  for (const p of paramsFound.filter((at) => body[at.start] === openBrace)) {
    const metas = found.filter((at) => at.path === meta && at.start > p.start && at.end <= p.end);
    if (metas.length === 0) splices.push(envelopeSplice(body, envelope, p.start, undefined));
    for (const m of metas)
      if (body[m.start] === openBrace) splices.push(...metaSplices(body, m.start, context));
  }
  return applySplices(body, splices);
}

/** The splices that set the context in the `_meta` object whose `{` is at `start`. */
function metaSplices(body: Buffer, start: number, context: TraceContextValues): Splice[] {
  const members = membersAt(body, start);
  const parents = members.filter((m) => m.key === "traceparent");
  const states = members.filter((m) => m.key === "tracestate");
  const splices = parents.map((m) => valueSplice(m, context.traceparent));
  const missing: Record<string, string> = {};
  if (parents.length === 0) missing["traceparent"] = context.traceparent;
  if (context.tracestate !== undefined) {
    for (const m of states) splices.push(valueSplice(m, context.tracestate));
    if (states.length === 0) missing["tracestate"] = context.tracestate;
  } else if (states.length > 0) {
    const [first, ...rest] = states as [MemberAt, ...MemberAt[]];
    // a missing traceparent takes the place of the first tracestate: what is inserted and what is
    // removed then never meet, and each keeps its own comma right
    if (parents.length === 0) {
      splices.push({ start: first.start, end: first.end, text: member("traceparent", context.traceparent) });
      delete missing["traceparent"];
    }
    splices.push(...removals(members, new Set(parents.length === 0 ? rest : states)));
  }
  return [envelopeSplice(body, missing, undefined, start), ...splices];
}

/**
 * The splices that remove `removed` (some members of an object, not all) with their commas: the
 * members before the first kept one go with the separators after them, each later one with the
 * separator before it — so that two neighbours removed never claim the same comma.
 */
function removals(members: readonly MemberAt[], removed: ReadonlySet<MemberAt>): Splice[] {
  const firstKept = members.findIndex((m) => !removed.has(m));
  const kept = members[firstKept] as MemberAt;
  const splices: Splice[] = [];
  if (firstKept > 0) splices.push({ start: (members[0] as MemberAt).start, end: kept.start, text: "" });
  for (let i = firstKept + 1; i < members.length; i++) {
    const m = members[i] as MemberAt;
    if (removed.has(m)) splices.push({ start: (members[i - 1] as MemberAt).end, end: m.end, text: "" });
  }
  return splices;
}

function valueSplice(m: MemberAt, value: string): Splice {
  return { start: m.valueStart, end: m.end, text: JSON.stringify(value) };
}

function member(key: string, value: string): string {
  return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
}

function envelopeOf(context: TraceContextValues): Record<string, string> {
  const envelope: Record<string, string> = { traceparent: context.traceparent };
  if (context.tracestate !== undefined) envelope["tracestate"] = context.tracestate;
  return envelope;
}

const backslash = 0x5c;
const colon = 0x3a;
const paramsKey = Buffer.from('"params"');

/**
 * Where the object that gets a new `_meta` opens (its `{`), found by a native search where that is
 * certain; undefined otherwise (walk instead). The parse found a single request: with no `params`, the
 * object is the message, whose `{` is the text's first (a BOM or white space may precede it). With a
 * `params` object lacking `_meta`, it is `params`: when the text holds no backslash, every string is
 * written without escapes and no string holds a quote, so `"params"` occurring once is the key itself
 * (a `params` written twice, or also nested, occurs more often: walked, as is an escaped key).
 */
function newMetaAt(body: Buffer, absent: "no params" | "no _meta"): number | undefined {
  if (absent === "no params") {
    const top = body.indexOf(openBrace);
    return top === -1 ? undefined : top;
  }
  if (body.indexOf(backslash) !== -1) return undefined;
  const key = body.indexOf(paramsKey);
  if (key === -1 || body.indexOf(paramsKey, key + 1) !== -1) return undefined;
  let i = skipSpace(body, key + paramsKey.length);
  if (body[i] !== colon) return undefined;
  i = skipSpace(body, i + 1);
  return body[i] === openBrace ? i : undefined;
}

function skipSpace(body: Buffer, from: number): number {
  let i = from;
  for (let c = body[i]; c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; c = body[++i]);
  return i;
}

/** Whether the top value is an object that ends the text (white space aside): not one cut short. */
function isWholeObject(body: Buffer, at: ValueAt): boolean {
  if (body[at.start] !== openBrace || at.end > body.length || body[at.end - 1] !== closeBrace) return false;
  return body.subarray(at.end).every((c) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d);
}

/** The string value of the last occurrence of `path` (JSON.parse keeps the last), if a string. */
function lastString(body: Buffer, found: readonly ValueAt[], path: number): string | undefined {
  const last = found.findLast((at) => at.path === path);
  return last === undefined ? undefined : stringAt(body, last);
}
