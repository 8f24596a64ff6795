import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AnswerScanner, type ScannedMessage, type ScannerWants } from "../../src/jsonrpc/AnswerScanner.ts";
import { idValueKey } from "../../src/jsonrpc/jsonRpcId.ts";
import { type Model, messageModel, serialized } from "../support/jsonWriter.ts";

const everything: ScannerWants = { isError: true, id: true, progress: true };

function scan(
  bytes: Buffer,
  cuts: number[],
  wants = everything,
): { messages: ScannedMessage[]; lost: boolean } {
  const messages: ScannedMessage[] = [];
  const scanner = new AnswerScanner((m) => messages.push(m), wants);
  let from = 0;
  for (const cut of [...cuts.map((c) => c % (bytes.length + 1))].sort((a, b) => a - b)) {
    scanner.feed(bytes.subarray(from, cut));
    from = Math.max(from, cut);
  }
  scanner.feed(bytes.subarray(from));
  return { messages, lost: scanner.lost };
}

/** What the scanner must report of a message, from the model it was written from (not from a parser). */
function expected(model: Model) {
  return {
    id: model.id === undefined ? undefined : model.id.key,
    request: model.method !== undefined,
    method: model.method,
    result: model.result !== undefined,
    errorCode: model.error === undefined ? undefined : (model.error.code ?? Number.NaN),
    isError: model.result?.isError === true,
    errorReason: model.error?.reason,
    progressToken: model.progressToken?.key,
  };
}

/** The scanner's report, with ids and tokens by value. */
function seen(m: ScannedMessage) {
  return {
    id: m.id === undefined ? undefined : idValueKey(m.id),
    request: m.request,
    method: m.method,
    result: m.result,
    errorCode: m.errorCode,
    isError: m.isError,
    errorReason: m.errorReason,
    progressToken: m.progressToken === undefined ? undefined : idValueKey(m.progressToken),
  };
}

/** Heap and array buffers in use now, after a collection when --expose-gc allows one. */
function memoryInUse(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/** Feeds `total` bytes of `filler` (one chunk, reused) between `head` and `tail`; the highest memory growth seen. */
function feedHuge(scanner: AnswerScanner, head: string, filler: Buffer, total: number, tail: string): number {
  const start = memoryInUse();
  let peak = 0;
  scanner.feed(Buffer.from(head));
  for (let sent = 0; sent < total; sent += filler.length) {
    scanner.feed(filler);
    if (sent % (16 * filler.length) === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - start);
  }
  scanner.feed(Buffer.from(tail));
  return Math.max(peak, memoryInUse() - start);
}

const MiB = 1024 * 1024;

describe("AnswerScanner", () => {
  it("finds each message's id, method, result, error code and reason, and progress token, however it is written and cut", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          messageModel.map((m) => [m]),
          fc.array(messageModel, { minLength: 1, maxLength: 4 }),
        ),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.infiniteStream(fc.nat()),
        (models, asBatch, cuts, choices) => {
          const batch = asBatch || models.length > 1;
          const text = serialized(models, batch, choices);
          const { messages, lost } = scan(Buffer.from(text, "utf8"), cuts);
          assert.equal(lost, false, text);
          assert.deepEqual(messages.map(seen), models.map(expected), text);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it("takes a message with a method for a request, whatever its id: only a message without one answers", () => {
    const text = '{"jsonrpc":"2.0","id":0,"method":"sampling/createMessage","params":{}}';
    const { messages } = scan(Buffer.from(text), []);
    assert.equal(messages[0]?.request, true);
    assert.equal(messages[0]?.method, "sampling/createMessage");
  });

  it("stops at a lone result's key when neither isError nor (seen) the id is wanted", () => {
    const body = Buffer.from(
      `{"jsonrpc":"2.0","id":7,"result":{"text":"${"x".repeat(1000)}","isError":true}}`,
    );
    const lean = scan(body.subarray(0, 40), [], { isError: false, id: true, progress: false });
    assert.deepEqual(
      lean.messages.map((m) => [m.id, m.result, m.isError]),
      [["7", true, false]],
    );
    const full = scan(body, [100], everything);
    assert.deepEqual(
      full.messages.map((m) => [m.id, m.result, m.isError]),
      [["7", true, true]],
    );
  });

  it("keeps the memory it uses constant while it steps over a result of 200 MB", () => {
    const scanner = new AnswerScanner(() => {}, everything);
    const filler = Buffer.from('x\\"y{[é😀'.repeat(6_000));
    const growth = feedHuge(
      scanner,
      '{"jsonrpc":"2.0","id":7,"result":{"content":[{"text":"',
      filler,
      200 * MiB,
      '"}]}}',
    );
    assert.ok(growth < 16 * MiB, `grew by ${(growth / MiB).toFixed(1)} MiB`);
  });

  it("reads an error's code and reason without keeping an error of 200 MB", () => {
    const messages: ScannedMessage[] = [];
    const scanner = new AnswerScanner((m) => messages.push(m), everything);
    const filler = Buffer.from("abcdefgh".repeat(8_192));
    const growth = feedHuge(
      scanner,
      '{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"',
      filler,
      200 * MiB,
      '","data":{"reason":"upstream_exited"}}}',
    );
    assert.ok(growth < 16 * MiB, `grew by ${(growth / MiB).toFixed(1)} MiB`);
    assert.deepEqual(
      messages.map((m) => [m.errorCode, m.errorReason]),
      [[-32603, "upstream_exited"]],
    );
  });

  it("matches no request with an id longer than it keeps, and keeps none of it", () => {
    const scanner = new AnswerScanner(() => {}, everything);
    const growth = feedHuge(
      scanner,
      '{"jsonrpc":"2.0","id":"',
      Buffer.alloc(65_536, 0x61),
      100 * MiB,
      '","result":{}}',
    );
    assert.ok(growth < 16 * MiB, `grew by ${(growth / MiB).toFixed(1)} MiB`);
  });

  it("gives up on what is not a JSON-RPC message", () => {
    for (const text of ["42", '"text"', "[1,2]"]) assert.equal(scan(Buffer.from(text), []).lost, true, text);
  });
});
