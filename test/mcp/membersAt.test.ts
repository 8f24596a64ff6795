import assert from "node:assert/strict";
import { test } from "node:test";
import { membersAt } from "../../src/jsonrpc/jsonPaths.ts";

const members = (text: string) =>
  membersAt(Buffer.from(text), text.indexOf("{")).map((m) => [m.key, text.slice(m.start, m.end)]);

test("lists an object's members in text order, a key written twice as both, escaped keys read", () => {
  assert.deepEqual(members(' { "a" : [1,{"b":2}] ,"\\u0061":"x\\"}" , "c":12345678901234567890 } '), [
    ["a", '"a" : [1,{"b":2}]'],
    ["a", '"\\u0061":"x\\"}"'],
    ["c", '"c":12345678901234567890'],
  ]);
});

test("lists no member of an empty object", () => {
  assert.deepEqual(members("{ }"), []);
});

test("gives the members found before a text cut short, without throwing", () => {
  assert.deepEqual(members('{"a":1,"b":"unterminated'), [["a", '"a":1']]);
});
