import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AnswerScanner, type ScannedAnswer } from "../../src/mcp/AnswerScanner.ts";

/** What JSON.parse says the scanner should find. */
function expected(message: Record<string, unknown>): ScannedAnswer {
  const error = message["error"] as { code?: unknown; data?: { reason?: unknown } } | undefined;
  const reason = error?.data?.reason;
  const result = message["result"];
  return {
    id: "id" in message ? JSON.stringify(message["id"]) : undefined,
    result: "result" in message,
    errorCode: error === undefined ? undefined : typeof error.code === "number" ? error.code : Number.NaN,
    isError:
      typeof result === "object" &&
      result !== null &&
      !Array.isArray(result) &&
      (result as Record<string, unknown>)["isError"] === true,
    ...(typeof reason === "string" ? { errorReason: reason } : {}),
  };
}

function scan(text: string, cuts: number[]): AnswerScanner {
  const bytes = Buffer.from(text, "utf8");
  const scanner = new AnswerScanner();
  let from = 0;
  for (const cut of [...cuts.map((c) => c % (bytes.length + 1))].sort((a, b) => a - b)) {
    scanner.feed(bytes.subarray(from, cut));
    from = Math.max(from, cut);
  }
  scanner.feed(bytes.subarray(from));
  return scanner;
}

const anyJson = fc.jsonValue({ maxDepth: 3 });
const id = fc.oneof(fc.integer(), fc.string({ unit: "grapheme" }), fc.constant(null));
/**
 * Long strings thick with what a scanner must not misread: quotes, backslashes, brackets, multi-byte
 * characters — past the length read byte by byte, and with more escaped quotes than a native search is
 * used for.
 */
const tricky = fc
  .tuple(
    fc.nat({ max: 80 }),
    fc.array(fc.constantFrom('"', "\\", '\\"', "a", "{", "]", "é", "😀", " "), {
      minLength: 20,
      maxLength: 300,
    }),
  )
  .map(([plain, parts]) => "p".repeat(plain) + parts.join(""));

/** A tool result: `isError` of any JSON type, among other keys, sometimes nested deeper too. */
const toolResult = fc
  .tuple(
    fc.dictionary(fc.string(), anyJson, { maxKeys: 3 }),
    fc.oneof(fc.boolean(), anyJson),
    fc.boolean(),
    fc.dictionary(fc.string(), anyJson, { maxKeys: 2 }),
    tricky,
  )
  .map(([before, isError, nested, after, text]) => ({
    ...before,
    content: nested ? [{ type: "text", isError: true, text }] : [{ type: "text", text }],
    isError,
    _meta: { isError: true },
    ...after,
  }));
const message = fc.oneof(
  fc.record({ jsonrpc: fc.constant("2.0"), id, result: anyJson }),
  // keys after the result may hold an `isError` of their own, which is not the result's
  fc
    .record({ jsonrpc: fc.constant("2.0"), id, result: toolResult, trailing: fc.boolean() })
    .map(({ trailing, ...m }) => (trailing ? { ...m, _meta: { isError: true } } : m)),
  fc.record({
    jsonrpc: fc.constant("2.0"),
    id,
    error: fc.record({
      code: fc.integer({ min: -33000, max: 1000 }),
      message: fc.string({ unit: "grapheme" }),
      data: fc.oneof(anyJson, fc.record({ reason: fc.oneof(fc.string(), fc.integer()) })),
    }),
  }),
  fc.record({ jsonrpc: fc.constant("2.0"), method: fc.string(), params: anyJson }),
);

describe("AnswerScanner", () => {
  it("stops at a lone result's key when neither isError nor (seen) the id is wanted", () => {
    const body = Buffer.from(
      `{"jsonrpc":"2.0","id":7,"result":{"text":"${"x".repeat(1000)}","isError":true}}`,
    );
    const lean = new AnswerScanner({ isError: false, id: true });
    lean.feed(body.subarray(0, 40));
    assert.deepEqual(lean.answers, [{ id: "7", result: true, errorCode: undefined, isError: false }]);
    lean.feed(body.subarray(40)); // ignored: the verdict is known
    assert.equal(lean.answers.length, 1);
    const full = new AnswerScanner({ isError: true, id: true });
    full.feed(body);
    assert.deepEqual(full.answers, [{ id: "7", result: true, errorCode: undefined, isError: true }]);
    const idLast = new AnswerScanner({ isError: false, id: true });
    idLast.feed(Buffer.from('{"result":{},"jsonrpc":"2.0","id":"late"}'));
    assert.deepEqual(idLast.answers, [{ id: '"late"', result: true, errorCode: undefined, isError: false }]);
  });

  it("reads long strings ending in escaped backslashes right, wherever the bytes are cut", () => {
    const long = "x".repeat(40);
    for (const text of [`${long}\\`, `${long}\\\\`, `${long}\\"${long}\\`, `${long}\\"\\`]) {
      const answer = {
        jsonrpc: "2.0",
        id: 1,
        result: { content: [{ text }], isError: true },
        error: { code: 5 },
      };
      const json = JSON.stringify(answer);
      const bytes = Buffer.from(json);
      for (let cut = 0; cut <= bytes.length; cut++) {
        const scanner = new AnswerScanner();
        scanner.feed(bytes.subarray(0, cut));
        scanner.feed(bytes.subarray(cut));
        assert.deepEqual(scanner.answers, [expected(answer)], `${json} cut at ${cut}`);
      }
    }
  });

  it("finds each message's id, result and error code as JSON.parse does, however the bytes are cut", () => {
    fc.assert(
      fc.property(
        fc.oneof(message, fc.array(message, { minLength: 1, maxLength: 4 })),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.boolean(),
        (answer, cuts, spaced) => {
          const text = JSON.stringify(answer, null, spaced ? 2 : undefined);
          const scanner = scan(text, cuts);
          const messages = Array.isArray(answer) ? answer : [answer];
          assert.deepEqual(
            scanner.answers,
            messages.map((m) => expected(m as Record<string, unknown>)),
            text,
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it("steps over a result of megabytes without keeping it", () => {
    const big = JSON.stringify({
      jsonrpc: "2.0",
      id: 7,
      result: { content: [{ type: "text", text: 'x\\"y'.repeat(500_000) }] },
    });
    const scanner = scan(big, [1000, 65_536, 1_000_000]);
    assert.deepEqual(scanner.answers, [{ id: "7", result: true, errorCode: undefined, isError: false }]);
  });

  it("gives up on what is not a JSON-RPC response", () => {
    for (const text of ["42", '"text"', "[1,2]"]) assert.equal(scan(text, []).lost, true, text);
  });
});
