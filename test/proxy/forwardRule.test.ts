import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { startBareProxy } from "../support/bareProxy.ts";
import { answers, FakeUpstream, fails } from "../support/fakeUpstream.ts";
import { rpc } from "../support/proxy.ts";
import { until } from "../support/until.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

async function through(upstreams: FakeUpstream[]) {
  const proxy = await startBareProxy(upstreams);
  opened.push(() => proxy.close());
  return proxy;
}

async function send(url: string, method: string, body?: string) {
  const res = await request(url, { method, ...(body === undefined ? {} : { body }) });
  return { status: res.statusCode, text: await res.body.text() };
}

/** SPEC §2's resend rule, fed the facts a transport reports (whatever the transport). */
describe("when the proxy sends a request again", () => {
  it("resends once to the same upstream after the stale keep-alive race, without counting it", async () => {
    const a = new FakeUpstream("a", [
      fails({ nothingSent: true, staleConnection: true, connectionLost: true }),
    ]);
    const proxy = await through([a]);
    assert.deepEqual(await send(proxy.url, "POST", rpc(1)), { status: 200, text: '"a"' });
    assert.equal(a.dispatched.length, 2);
    assert.deepEqual(
      proxy.settled.map((r) => r.outcome),
      ["success"],
      "one exchange, one outcome",
    );
  });

  it("sends a request that never left to another upstream, and counts the failure", async () => {
    const a = new FakeUpstream("a", [fails({ nothingSent: true })]);
    const b = new FakeUpstream("b");
    const proxy = await through([a, b]);
    assert.deepEqual(await send(proxy.url, "POST", rpc(1)), { status: 200, text: '"b"' });
    assert.deepEqual(
      proxy.settled.map((r) => [r.upstream.name, r.outcome]),
      [
        ["a", "failure"],
        ["b", "success"],
      ],
    );
  });

  it("never resends a POST whose connection broke after it left: 502 and a failure", async () => {
    const a = new FakeUpstream("a", [fails({ connectionLost: true })]);
    const b = new FakeUpstream("b");
    const proxy = await through([a, b]);
    assert.equal((await send(proxy.url, "POST", rpc(1))).status, 502);
    assert.deepEqual([a.dispatched.length, b.dispatched.length], [1, 0]);
    assert.deepEqual(
      proxy.settled.map((r) => r.outcome),
      ["failure"],
    );
  });

  it("resends an idempotent request whose connection broke before any response, once", async () => {
    const a = new FakeUpstream("a", [fails({ connectionLost: true }), answers('"again"')]);
    const proxy = await through([a]);
    assert.deepEqual(await send(proxy.url, "GET"), { status: 200, text: '"again"' });
    assert.deepEqual(
      proxy.settled.map((r) => r.outcome),
      ["success"],
    );
  });

  it("answers 400 to a request the transport cannot send as made, and counts it neutral", async () => {
    const a = new FakeUpstream("a", [fails({ nothingSent: true, badRequest: true })]);
    const b = new FakeUpstream("b");
    const proxy = await through([a, b]);
    assert.equal((await send(proxy.url, "POST", rpc(1))).status, 400);
    assert.equal(b.dispatched.length, 0, "the client's fault is not another upstream's business");
    assert.deepEqual(
      proxy.settled.map((r) => r.outcome),
      ["neutral"],
    );
  });

  it("reports a request whose client left before it was sent again, as neutral", async () => {
    let captured: import("node:http").ServerResponse | undefined;
    const a = new FakeUpstream("a", [
      (sink) => {
        captured?.destroy(); // the client leaves while the first attempt fails
        fails({ nothingSent: true, staleConnection: true })(sink);
      },
    ]);
    const proxy = await through([a]);
    proxy.server.server.prependListener("request", (_req, res) => {
      captured = res;
    });
    await assert.rejects(send(proxy.url, "POST", rpc(1)));
    await until(() => proxy.settled.length > 0, "the attempt is settled");
    assert.equal(a.dispatched.length, 1, "nothing was sent for a client that had gone");
    assert.deepEqual(
      proxy.settled.map((r) => r.outcome),
      ["neutral"],
    );
  });
});
