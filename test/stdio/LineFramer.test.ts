import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LineFramer, type TooLong } from "../../src/upstreams/stdio/LineFramer.ts";

function framer(maxLineBytes: number, tooLong: TooLong) {
  const lines: [string, number][] = [];
  let tooLongs = 0;
  const f = new LineFramer({
    maxLineBytes,
    tooLong,
    onLine: (line, cut) => lines.push([line.toString("utf8"), cut]),
    onTooLong: () => tooLongs++,
  });
  return { f, lines, tooLongs: () => tooLongs };
}

describe("LineFramer", () => {
  it("splits lines however the chunks fall, several in a chunk or one over many", () => {
    const { f, lines } = framer(100, "drop");
    for (const chunk of ["ab", "c\nde", "f\n\ngh\ni", "j"]) f.push(Buffer.from(chunk));
    f.end();
    assert.deepEqual(lines, [
      ["abc", 0],
      ["def", 0],
      ["", 0],
      ["gh", 0],
      ["ij", 0],
    ]);
  });

  it("drops a line past its bound, tells it once as it passes, and reads the next line", () => {
    const { f, lines, tooLongs } = framer(4, "drop");
    f.push(Buffer.from("123"));
    f.push(Buffer.from("45"));
    assert.equal(tooLongs(), 1, "told before the line ends");
    f.push(Buffer.from("6789"));
    f.push(Buffer.from("0\nok\n"));
    assert.deepEqual(lines, [["ok", 0]]);
    assert.equal(tooLongs(), 1);
  });

  it("cuts a line past its bound to its start and counts the bytes cut", () => {
    const { f, lines } = framer(4, "cut");
    f.push(Buffer.from("12"));
    f.push(Buffer.from("3456"));
    f.push(Buffer.from("78\nshort\n"));
    assert.deepEqual(lines, [
      ["1234", 4],
      ["shor", 1],
    ]);
  });

  it("keeps no more than its bound of a line that never ends, fed byte by byte", () => {
    const { f, lines, tooLongs } = framer(1024, "cut");
    const byte = Buffer.from("x");
    for (let i = 0; i < 100_000; i++) f.push(byte);
    f.end();
    assert.equal(tooLongs(), 1);
    assert.deepEqual(lines, [["x".repeat(1024), 100_000 - 1024]]);
  });
});
