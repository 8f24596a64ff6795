import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { createLogger } from "../src/app/logger.ts";

describe("the logger", () => {
  it("writes JSON lines and censors Authorization and Cookie values wherever headers are logged", () => {
    const lines: string[] = [];
    const logger = createLogger(
      new Writable({
        write(chunk: Buffer, _e, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    logger.info({ headers: { authorization: "Bearer a", cookie: "b=1", accept: "x" } }, "direct");
    logger.warn({ req: { headers: { authorization: "Bearer c", cookie: "d=2" } } }, "nested");
    const text = lines.join("");
    for (const secret of ["Bearer a", "b=1", "Bearer c", "d=2"]) assert.ok(!text.includes(secret), secret);
    const first = JSON.parse(lines[0] as string) as { headers: Record<string, string>; msg: string };
    assert.deepEqual(first.headers, { authorization: "[redacted]", cookie: "[redacted]", accept: "x" });
  });
});
