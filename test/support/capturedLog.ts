import { Writable } from "node:stream";
import type { Logger } from "pino";
import { createLogger } from "../../src/app/logger.ts";

/** A logger as the proxy makes one, and every line it writes, parsed, in order. */
export function capturedLog(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger(sink), lines };
}
