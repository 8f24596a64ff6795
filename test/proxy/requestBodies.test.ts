import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { IncomingMessage } from "node:http";
import { connect } from "node:net";
import { after, describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { request } from "undici";
import { BodyBudget } from "../../src/proxy/BodyBudget.ts";
import { BodyBudgetExceededError, readBody } from "../../src/proxy/RequestBody.ts";
import { startProxy, upstreamsToml } from "../support/proxy.ts";
import { echo, startUpstream } from "../support/upstream.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** A request that emits the given chunks, then ends (or not). */
function fakeRequest(
  headers: Record<string, string> = {},
): IncomingMessage & { feed(chunk: Buffer): void; finish(): void } {
  const req = new EventEmitter() as IncomingMessage & { feed(chunk: Buffer): void; finish(): void };
  Object.assign(req, { headers, complete: false });
  req.feed = (chunk) => req.emit("data", chunk);
  req.finish = () => {
    Object.assign(req, { complete: true });
    req.emit("end");
  };
  return req;
}

/** Feeds `count` chunks of one byte, each a view of a 64 KiB buffer of its own, as node's sockets do. */
function feedOneByteViews(req: ReturnType<typeof fakeRequest>, count: number): WeakRef<ArrayBufferLike>[] {
  const buffers: WeakRef<ArrayBufferLike>[] = [];
  for (let i = 0; i < count; i++) {
    const chunk = Buffer.alloc(64 * 1024, 0x61).subarray(0, 1);
    buffers.push(new WeakRef(chunk.buffer));
    req.feed(chunk);
  }
  return buffers;
}

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

describe("request bodies held in memory", () => {
  it("keeps none of the socket buffers that 1-byte chunks are views of", async () => {
    // node hands out each chunk as a view of a socket read buffer; keeping the view keeps the buffer
    const budget = new BodyBudget(1 << 30);
    const req = fakeRequest();
    const body = readBody(req, 1 << 20, budget);
    const socketBuffers = feedOneByteViews(req, 2_000);
    await new Promise((resolve) => setImmediate(resolve)); // WeakRefs read in a job keep their target for it
    gc();
    const alive = socketBuffers.filter((ref) => ref.deref() !== undefined).length;
    assert.equal(alive, 0, `${alive} of 2,000 socket buffers of 64 KiB are still held`);
    assert.ok(budget.held <= 2 * 2_000 + 1_024, `the budget counts what is held: ${budget.held}`);
    req.finish();
    assert.equal((await body)?.toString(), "a".repeat(2_000));
    assert.equal(budget.held, 2_000, "the body returned is exactly what it holds of the budget");
  });

  it("gives its bytes back when the client goes away mid-body", async () => {
    const budget = new BodyBudget(1 << 20);
    const req = fakeRequest({ "content-length": "100" });
    const body = readBody(req, 1 << 20, budget);
    req.feed(Buffer.from("half"));
    assert.ok(budget.held > 0);
    req.emit("close");
    await assert.rejects(body);
    assert.equal(budget.held, 0);
  });

  it("refuses a body that would pass the budget, and holds nothing for it", async () => {
    const budget = new BodyBudget(4_096);
    assert.ok(budget.take(3_500));
    const req = fakeRequest({ "content-length": "2000" });
    const body = readBody(req, 1 << 20, budget);
    req.feed(Buffer.alloc(1_000));
    await assert.rejects(body, BodyBudgetExceededError);
    assert.equal(budget.held, 3_500);
  });

  it("answers 503 (Retry-After: 1) once the bodies held at once would pass max_buffered_bytes", async () => {
    const upstream = await startUpstream(echo("u"));
    const proxy = await startProxy(
      `[server]\nmax_buffered_bytes = 65536\n${upstreamsToml([{ name: "u", url: upstream.url }])}`,
    );
    opened.push(
      () => upstream.close(),
      () => proxy.close(),
    );
    // a slow upload holds 60,000 bytes of the budget and is not finished
    const slow = connect(Number(new URL(proxy.url).port), "127.0.0.1");
    await new Promise<void>((resolve) => slow.once("connect", () => resolve()));
    slow.write(`POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 60000\r\n\r\n${"x".repeat(40_000)}`);
    opened.push(async () => void slow.destroy());
    let refused: { status: number; retryAfter: unknown } | undefined;
    for (let i = 0; i < 50 && refused === undefined; i++) {
      const res = await request(proxy.url, { method: "POST", body: "y".repeat(30_000) });
      await res.body.text();
      if (res.statusCode === 503) refused = { status: 503, retryAfter: res.headers["retry-after"] };
      else await new Promise((resolve) => setTimeout(resolve, 20)); // the slow upload is still arriving
    }
    assert.deepEqual(refused, { status: 503, retryAfter: "1" });
    assert.equal(upstream.seen.length, 0);
    // the slow upload finishes: its bytes come back, and a body fits again
    slow.write("x".repeat(20_000));
    for (let i = 0; i < 50; i++) {
      const res = await request(proxy.url, { method: "POST", body: "y".repeat(30_000) });
      await res.body.text();
      if (res.statusCode === 200) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.fail("the budget never came back");
  });
});
