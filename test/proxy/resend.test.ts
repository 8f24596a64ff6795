import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { after, describe, it } from "node:test";
import { request } from "undici";
import type { Timers } from "../../src/time/Timers.ts";
import { ManualTimers } from "../support/ManualTimers.ts";
import { rpc, startProxy, type TestProxy, upstreamsToml } from "../support/proxy.ts";
import { type RawUpstream, startRawUpstream } from "../support/rawUpstream.ts";
import { until } from "../support/until.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

async function behind(upstream: RawUpstream, toml = "", timers?: Timers): Promise<TestProxy> {
  const proxy = await startProxy(
    `${toml}\n${upstreamsToml([{ name: "raw", url: upstream.url }])}`,
    {},
    timers === undefined ? {} : { timers },
  );
  opened.push(
    () => upstream.close(),
    () => proxy.close(),
  );
  return proxy;
}

const ok = (body = "ok", extra = "") =>
  `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;

async function send(url: string, method: string, body?: string) {
  const res = await request(url, { method, ...(body === undefined ? {} : { body }) });
  return { status: res.statusCode, text: await res.body.text() };
}

function failures(proxy: TestProxy): number {
  return proxy.breakwater.upstreams[0]?.circuit.metrics().failedRequests ?? -1;
}

describe("the proxy never sends twice what the upstream may have acted on", () => {
  it("answers 502 to a tools/call whose connection is reset after the upstream read it, and sends it once", async () => {
    const upstream = await startRawUpstream((socket) => socket.resetAndDestroy());
    const proxy = await behind(upstream);
    const call = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "charge" } });
    const reply = await send(proxy.url, "POST", call);
    assert.equal(reply.status, 502);
    assert.equal((JSON.parse(reply.text) as { id: number }).id, 7);
    assert.equal(upstream.requests.length, 1, "the upstream ran the call once");
    assert.equal(failures(proxy), 1);
  });

  it("answers 502 to a POST on a reused keep-alive connection reset after it arrived, without resending it", async () => {
    // the second request on each connection is reset once it has arrived: the upstream may have acted
    const upstream = await startRawUpstream((socket, _request, index) => {
      if (index === 0) socket.write(ok());
      else socket.resetAndDestroy();
    });
    const proxy = await behind(upstream);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(proxy.url, "POST", rpc(i))).status);
    assert.deepEqual(statuses, [200, 502, 200]);
    assert.equal(upstream.requests.length, 3, "every request was sent once");
  });

  it("resends a GET whose connection broke before any response byte, once, without counting it", async () => {
    let served = 0;
    const upstream = await startRawUpstream((socket) => {
      if (served++ === 0) socket.resetAndDestroy();
      else socket.write(ok("again"));
    });
    const proxy = await behind(upstream);
    assert.deepEqual(await send(proxy.url, "GET"), { status: 200, text: "again" });
    assert.equal(upstream.requests.length, 2);
    assert.equal(failures(proxy), 0);
  });

  it("resends a GET only once: a second broken connection is a 502 and a failure", async () => {
    const upstream = await startRawUpstream((socket) => socket.resetAndDestroy());
    const proxy = await behind(upstream);
    assert.equal((await send(proxy.url, "GET")).status, 502);
    assert.equal(upstream.requests.length, 2);
    assert.equal(failures(proxy), 1);
  });

  for (const interim of ["100 Continue", "101 Switching Protocols"]) {
    it(`does not resend a POST after an unsolicited ${interim}`, async () => {
      const upstream = await startRawUpstream((socket) => socket.write(`HTTP/1.1 ${interim}\r\n\r\n${ok()}`));
      const proxy = await behind(upstream);
      assert.equal((await send(proxy.url, "POST", rpc(1))).status, 502);
      assert.equal(upstream.requests.length, 1);
      assert.equal(failures(proxy), 1);
    });
  }

  it("does not reuse a connection the upstream said it would close (Keep-Alive: timeout=)", async () => {
    // Resets any second request on a connection, as a server does whose keep-alive timer fired just
    // as the request came: the proxy must have dropped the connection before (its hint: 1 s).
    const upstream = await startRawUpstream((socket, _request, index) => {
      if (index === 0) socket.write(ok("ok", "Connection: keep-alive\r\nKeep-Alive: timeout=1\r\n"));
      else socket.resetAndDestroy();
    });
    const proxy = await behind(upstream);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(proxy.url, "POST", rpc(i))).status);
    assert.deepEqual(statuses, [200, 200, 200]);
    assert.equal(upstream.connections(), 3);
  });
});

describe("request_timeout_ms", () => {
  it("is one budget for the client's request, resends included", async () => {
    // the first attempt breaks after 300 ms; the resend has the 100 ms left of the 400 ms budget (a
    // budget per attempt would have let it answer later with a 200)
    const held: Socket[] = [];
    const upstream = await startRawUpstream((socket) => void held.push(socket));
    const timers = new ManualTimers();
    const proxy = await behind(upstream, "[proxy]\nrequest_timeout_ms = 400", timers);
    const reply = send(proxy.url, "GET");
    await until(() => held.length === 1, "the first attempt arrives");
    await timers.advance(300);
    held[0]?.resetAndDestroy();
    await until(() => held.length === 2, "the resend arrives");
    await timers.advance(99);
    assert.equal(failures(proxy), 0, "not timed out yet");
    await timers.advance(1);
    assert.equal((await reply).status, 504);
    held[1]?.write(ok("late")); // too late: the resend was aborted at the deadline
  });
});

describe("interim 1xx responses are not the answer", () => {
  for (const interim of ["103 Early Hints\r\nLink: </style.css>; rel=preload", "102 Processing"]) {
    const name = interim.split("\r\n")[0];
    it(`passes on the real 500 after a ${name}, and counts it as a failure`, async () => {
      const upstream = await startRawUpstream((socket) =>
        socket.write(
          `HTTP/1.1 ${interim}\r\n\r\nHTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom`,
        ),
      );
      const proxy = await behind(upstream);
      assert.deepEqual(await send(proxy.url, "POST", rpc(1)), { status: 500, text: "boom" });
      assert.equal(failures(proxy), 1);
    });
  }

  it("keeps the request timer running after a 102: an upstream that then hangs gets its 504", async () => {
    const upstream = await startRawUpstream((socket) => socket.write("HTTP/1.1 102 Processing\r\n\r\n"));
    const proxy = await behind(upstream, "[proxy]\nrequest_timeout_ms = 300");
    const reply = await send(proxy.url, "POST", rpc(3));
    assert.equal(reply.status, 504);
    assert.equal(
      (JSON.parse(reply.text) as { error: { data: { reason: string } } }).error.data.reason,
      "timeout",
    );
    assert.equal(failures(proxy), 1);
  });
});

describe("broken upstream responses", () => {
  const cases: [string, string][] = [
    ["a reason phrase with a control byte", "HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok"],
    ["status 099", "HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\nok"],
    [
      "a 200 with an invalid chunk size",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",
    ],
    ["a body cut before its first byte", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"],
  ];
  for (const [what, bytes] of cases) {
    it(`answers 502 to ${what}, counts a failure and logs it once`, async () => {
      const upstream = await startRawUpstream((socket) => {
        socket.write(bytes);
        setImmediate(() => socket.destroy());
      });
      const proxy = await behind(upstream);
      const reply = await send(proxy.url, "POST", rpc(9));
      assert.equal(reply.status, 502);
      assert.equal((JSON.parse(reply.text) as { id: number }).id, 9);
      assert.equal(failures(proxy), 1);
      const logged = proxy.logs().filter((line) => line["msg"] === "broken upstream response");
      assert.equal(logged.length, 1, JSON.stringify(logged));
    });
  }

  it("cuts the client's response short when the body breaks off after some of it has gone out", async () => {
    const upstream = await startRawUpstream((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst part");
      setTimeout(() => socket.destroy(), 50);
    });
    const proxy = await behind(upstream);
    const res = await request(proxy.url, { method: "POST", body: rpc(1) });
    assert.equal(res.statusCode, 200);
    await assert.rejects(res.body.text());
    assert.equal(failures(proxy), 1);
    assert.equal(proxy.logs().filter((line) => line["msg"] === "broken upstream response").length, 1);
  });
});
