import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { mcpRequestFacts } from "../../src/telemetry/mcpRequestFacts.ts";
import { withMetaContext } from "../../src/telemetry/metaContext.ts";
import type { TraceContextValues } from "../../src/telemetry/traceCarrier.ts";
import { scalar, Writer, writeString } from "../support/jsonWriter.ts";

const P = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const ctx: TraceContextValues = { traceparent: P, tracestate: "rojo=1" };
const set = (text: string, context: TraceContextValues = ctx) =>
  withMetaContext(Buffer.from(text), context).toString();

test("replaces a traceparent and tracestate already in _meta in place, every other byte as it was", () => {
  const text =
    '{ "jsonrpc" : "2.0", "id" : 12345678901234567890, "method":"tools/call",\n "params" : { "name" : "caf\\u00e9",' +
    ' "_meta" : { "traceparent" : "00-old" , "x":1.0e3, "tracestate":"congo=2" } } }';
  assert.equal(
    set(text),
    '{ "jsonrpc" : "2.0", "id" : 12345678901234567890, "method":"tools/call",\n "params" : { "name" : "caf\\u00e9",' +
      ` "_meta" : { "traceparent" : "${P}" , "x":1.0e3, "tracestate":"rojo=1" } } }`,
  );
});

test("puts the context first into a _meta that lacks it", () => {
  assert.equal(
    set('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"progressToken":7}}}'),
    `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"traceparent":"${P}","tracestate":"rojo=1","progressToken":7}}}`,
  );
  assert.equal(
    set('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{ }}}', { traceparent: P }),
    `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"traceparent":"${P}" }}}`,
  );
});

test("makes _meta in params, and params in a request written without them", () => {
  assert.equal(
    set('{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"c"}}', { traceparent: P }),
    `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"traceparent":"${P}"},"cursor":"c"}}`,
  );
  assert.equal(
    set('{"jsonrpc":"2.0","method":"notifications/initialized"}', { traceparent: P }),
    `{"params":{"_meta":{"traceparent":"${P}"}},"jsonrpc":"2.0","method":"notifications/initialized"}`,
  );
});

test("replaces both values of a key written twice", () => {
  assert.equal(
    set('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"traceparent":"a","traceparent":"b"}}}'),
    `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"tracestate":"rojo=1","traceparent":"${P}","traceparent":"${P}"}}}`,
  );
});

test("puts the context into each params of a request that writes params twice", () => {
  // JSON.parse keeps the last params, other readers the first: each reader finds the context
  assert.equal(
    set('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"traceparent":"a"}},"params":{"k":1}}', {
      traceparent: P,
    }),
    `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"traceparent":"${P}"}},"params":{"_meta":{"traceparent":"${P}"},"k":1}}`,
  );
});

test("removes the client's tracestate, each one with its comma, when the context has none", () => {
  const cases: [string, string][] = [
    ['{"tracestate":"a"}', `{"traceparent":"${P}"}`],
    ['{"tracestate":"a","tracestate":"b","k":1}', `{"traceparent":"${P}","k":1}`],
    ['{"k":1, "tracestate":"a" ,"tracestate":"b"}', `{"k":1, "traceparent":"${P}"}`],
    [
      '{"tracestate":"a", "tracestate":"b", "traceparent":"c", "k":[","]}',
      `{"traceparent":"${P}", "k":[","]}`,
    ],
    ['{"k":1,"traceparent":"c","tracestate":"a","tracestate":"b"}', `{"k":1,"traceparent":"${P}"}`],
  ];
  for (const [meta, expected] of cases) {
    const head = '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":';
    assert.equal(set(`${head}${meta}}}`, { traceparent: P }), `${head}${expected}}}`, meta);
  }
});

test("returns a body that is no single JSON-RPC request or notification as it is", () => {
  for (const text of [
    '[{"jsonrpc":"2.0","id":1,"method":"ping"}]',
    '{"jsonrpc":"2.0","id":1,"result":{}}',
    '{"jsonrpc":"1.0","id":1,"method":"ping"}',
    '{"jsonrpc":"2.0","id":1,"method":"ping"',
    '{"jsonrpc":"2.0","id":1,"method":"ping"}}',
    '{"jsonrpc":"2.0","id":1,"method":"ping","params":["a"]}',
    '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":null}}',
    '"ping"',
    "not json",
    "",
  ]) {
    const body = Buffer.from(text);
    assert.equal(withMetaContext(body, ctx), body, text);
  }
});

test("given the request's facts, sets the context as the walk does, escaped or repeated keys included", () => {
  for (const text of [
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{}}}',
    '\uFEFF \n{ "jsonrpc" : "2.0", "method":"ping" }',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params" :\n { }}',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"params":{}}}}',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":"params"}}}',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","par\\u0061ms":{"name":"a"}}',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","par\\u0061ms":{"name":"a","arguments":{"params":{}}}}',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\\"params\\""}}',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{}},"params":{"name":"a"}}',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":7,"params":{"name":"a"}}',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","_m\\u0065ta":{"x":1}}}',
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":null}',
  ]) {
    const body = Buffer.from(text);
    const facts = mcpRequestFacts(body);
    assert.ok(facts !== undefined, text);
    for (const context of [ctx, { traceparent: P }]) {
      const walked = withMetaContext(body, context).toString();
      assert.equal(withMetaContext(body, context, facts).toString(), walked, text);
    }
  }
});

/** A JSON text written by pieces, `_meta`'s value among them when there is one. */
interface Written {
  readonly text: string;
  /** Where `_meta`'s value lies in `text`'s bytes, when written. */
  readonly meta?: readonly [number, number];
  /** Members of `_meta` that must come through byte for byte. */
  readonly kept: readonly string[];
}

const metaKey = fc.constantFrom("traceparent", "tracestate", "progressToken", "n", "traceparent");
const text = fc.string({ unit: fc.constantFrom("a", "é", "😀", '"', "\\", "/", "\n", "\u2028", "{", ",") });
const request = fc.record({
  id: fc.option(scalar, { nil: undefined }),
  params: fc.option(
    fc.record({
      name: text,
      meta: fc.option(
        fc.array(fc.tuple(metaKey, fc.oneof(text, fc.bigInt().map(String))), { maxLength: 5 }),
        {
          nil: undefined,
        },
      ),
    }),
    { nil: undefined },
  ),
});

type Request = typeof request extends fc.Arbitrary<infer T> ? T : never;

function write(r: Request, w: Writer): Written {
  const s = () => w.space();
  const top: string[] = [`"jsonrpc"${s()}:${s()}"2.0"`, `"method":${writeString("tools/call", w)}`];
  if (r.id !== undefined) top.push(`"id":${s()}${r.id.write(w)}`);
  if (r.params === undefined) return { text: `{${s()}${shuffled(top, w).join(`${s()},`)}${s()}}`, kept: [] };
  const members = (r.params.meta ?? []).map(([key, value]) => {
    const written = /^-?\d+$/.test(value) ? value : writeString(value, w); // a big number as its digits
    return { key, text: `"${key}"${s()}:${s()}${written}` };
  });
  const kept = members.filter((m) => !m.key.startsWith("trace")).map((m) => m.text);
  const meta = `{${s()}${members.map((m) => m.text).join(`${s()},${s()}`)}${s()}}`;
  const before = `{"params":{${s()}"name":${writeString(r.params.name, w)}`;
  const after = `${s()}},${shuffled(top, w).join(",")}}`;
  if (r.params.meta === undefined) return { text: before + after, kept };
  const opened = `${before},"_meta"${s()}:${s()}`;
  const at = Buffer.byteLength(opened);
  return { text: opened + meta + after, meta: [at, at + Buffer.byteLength(meta)], kept };
}

function shuffled(list: string[], w: Writer): string[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = w.pick(i + 1);
    [list[i], list[j]] = [list[j] as string, list[i] as string];
  }
  return list;
}

test("property: the parse of the result is the request's with the context set, and only _meta's bytes change", () => {
  const context = fc.record({ traceparent: text, tracestate: fc.option(text, { nil: undefined }) });
  fc.assert(
    fc.property(request, context, fc.infiniteStream(fc.nat()), (r, c, choices) => {
      const written = write(r, new Writer(choices));
      const body = Buffer.from(written.text);
      const result = withMetaContext(body, c);
      const facts = mcpRequestFacts(body);
      assert.ok(facts !== undefined);
      assert.deepEqual(withMetaContext(body, c, facts), result);
      const expected = JSON.parse(written.text);
      expected.params ??= {};
      expected.params._meta ??= {};
      expected.params._meta.traceparent = c.traceparent;
      if (c.tracestate === undefined) delete expected.params._meta.tracestate;
      else expected.params._meta.tracestate = c.tracestate;
      assert.deepEqual(JSON.parse(result.toString()), expected);
      const [from, to] = changedRange(body, result);
      const [metaFrom, metaTo] = written.meta ?? [from, from]; // no _meta: a pure insertion
      const unchanged = result.equals(body); // the context's values were there already
      assert.ok(
        unchanged || (from >= metaFrom && to <= metaTo),
        `bytes changed at ${from}..${to}, outside _meta`,
      );
      for (const member of written.kept) assert.ok(result.includes(member), member);
    }),
    { numRuns: 500 },
  );
});

/** The range of `before` that differs from `after`: what is left between their common prefix and suffix. */
function changedRange(before: Buffer, after: Buffer): [number, number] {
  let prefix = 0;
  while (prefix < before.length && before[prefix] === after[prefix]) prefix++;
  let suffix = 0;
  const most = Math.min(before.length, after.length) - prefix;
  while (suffix < most && before[before.length - 1 - suffix] === after[after.length - 1 - suffix]) suffix++;
  return [prefix, before.length - suffix];
}
