import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { BodyBudget } from "./BodyBudget.ts";
import { sendClientError } from "./proxyAnswers.ts";

/** The request body was larger than `max_body_bytes`: 413. */
export class BodyTooLargeError extends Error {
  constructor(limit: number) {
    super(`request body larger than ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** The bodies held at once would pass `max_buffered_bytes`: 503, try again shortly. */
export class BodyBudgetExceededError extends Error {
  constructor() {
    super("the proxy is holding as many request bodies as it may; retry shortly");
    this.name = "BodyBudgetExceededError";
  }
}

/**
 * Why a request's body must be refused before a byte of it is read, or undefined: a transfer coding
 * other than chunked — 400 when chunked is not last (RFC 9112 §6.3: the body's length is unknown),
 * 501 for one the proxy would forward still applied (`gzip, chunked`: node de-chunks, nothing more;
 * §6.1) — or a declared length over the limit (413).
 */
export function unacceptableBody(
  headers: IncomingHttpHeaders,
  limit: number,
): { status: 400 | 413 | 501; reason: string } | undefined {
  const coding = headers["transfer-encoding"];
  if (coding !== undefined && coding.trim().toLowerCase() !== "chunked") {
    const chunkedLast = /(?:^|,)\s*chunked\s*$/i.test(coding);
    return { status: chunkedLast ? 501 : 400, reason: `transfer coding not supported: ${coding}` };
  }
  const declared = headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) {
    return { status: 413, reason: `request body larger than ${limit} bytes` };
  }
  return undefined;
}

/** The first buffer for a body; it doubles as needed, up to the declared length or the limit. */
const firstCapacity = 1024;

/**
 * Reads a whole request body into one buffer, up to `limit` bytes (holding the body is what allows a
 * resend and the `id` in the proxy's own answers). Each chunk is copied, never kept: node hands out
 * chunks as views of its socket buffers, so keeping a 1-byte chunk kept kilobytes alive. The buffer
 * grows by doubling, never past the declared `Content-Length`, so memory stays within twice the bytes
 * received (plus 1 KB), and that memory is taken from `budget` as it grows. The body returned is
 * exactly as long as what it holds of the budget: give `body.length` back when the request is over.
 * On a rejection nothing is held.
 *
 * @returns the body, or `undefined` when there is none.
 * @throws {BodyTooLargeError} past `limit`.
 * @throws {BodyBudgetExceededError} when the budget has no room left.
 * @throws any error of the client's connection, or an Error when it closed before the body ended.
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
  budget: BodyBudget,
): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    const ceiling = declared > 0 && declared <= limit ? declared : limit;
    let buffer: Buffer | undefined;
    let size = 0;
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      req.off("data", onData);
      budget.give(buffer?.length ?? 0);
      buffer = undefined;
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      const next = size + chunk.length;
      if (next > limit) return fail(new BodyTooLargeError(limit));
      const held = buffer?.length ?? 0;
      if (next > held) {
        const capacity = Math.min(Math.max(firstCapacity, next, held * 2), Math.max(ceiling, next));
        if (!budget.take(capacity - held)) return fail(new BodyBudgetExceededError());
        const grown = Buffer.allocUnsafe(capacity);
        buffer?.copy(grown, 0, 0, size);
        buffer = grown;
      }
      chunk.copy(buffer as Buffer, size);
      size = next;
    };
    req.on("data", onData);
    req.once("end", () => {
      if (settled) return;
      settled = true;
      if (buffer === undefined || size === 0) {
        budget.give(buffer?.length ?? 0);
        resolve(undefined);
      } else if (size === buffer.length) {
        resolve(buffer);
      } else {
        budget.give(buffer.length - size);
        resolve(Buffer.from(buffer.subarray(0, size)));
      }
    });
    req.once("error", fail);
    req.once("close", () => {
      if (!req.complete) fail(new Error("client closed the connection before sending its body"));
    });
  });
}

/**
 * Reads the body as {@link readBody} does, or answers why it cannot: 413 past `limit`, 503 with
 * `Retry-After: 1` when the budget is spent; a client that went away while sending loses its
 * connection. Resolves `{ body }` to go on with (give `body.length` back to `budget` when done), or
 * undefined when the request was answered.
 */
export async function readBodyOrAnswer(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  budget: BodyBudget,
): Promise<{ body: Buffer | undefined } | undefined> {
  try {
    return { body: await readBody(req, limit, budget) };
  } catch (error) {
    if (error instanceof BodyTooLargeError) sendClientError(res, 413, error.message, true);
    else if (error instanceof BodyBudgetExceededError) {
      res.setHeader("retry-after", "1");
      sendClientError(res, 503, error.message, true);
    } else res.destroy(); // the client went away while sending
    return undefined;
  }
}
