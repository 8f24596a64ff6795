import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { CircuitRegistry } from "../../src/circuits/CircuitRegistry.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { HttpUpstream } from "../../src/upstreams/http/HttpUpstream.ts";
import { type BareProxy, startBareProxy } from "../support/bareProxy.ts";
import { startProxy, type TestProxy, upstreamsToml } from "../support/proxy.ts";
import { rawRequest, statusOf } from "../support/rawHttp.ts";
import { echo, startUpstream, type TestUpstream } from "../support/upstream.ts";

/** Every case of docs/security.md that a raw request can play: [what, bytes, expected status]. */
const malformed: [string, string, number][] = [
  ["a malformed request line", "NOT A REQUEST\r\n\r\n", 400],
  ["an unknown method", "FROB /mcp HTTP/1.1\r\nHost: localhost\r\n\r\n", 400],
  ["a header name with a space", "GET /mcp HTTP/1.1\r\nHost: localhost\r\nBad Header: 1\r\n\r\n", 400],
  [
    "a control character in a header value",
    "GET /mcp HTTP/1.1\r\nHost: localhost\r\nX-A: a\x01b\r\n\r\n",
    400,
  ],
  [
    "two different Content-Lengths",
    "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    400,
  ],
  [
    "Content-Length and Transfer-Encoding together (smuggling)",
    "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    400,
  ],
  [
    "a Transfer-Encoding that does not end in chunked",
    "POST /mcp HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\nabc",
    400,
  ],
  [
    "broken chunked framing",
    "POST /mcp HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    400,
  ],
  [
    "a header flood beyond 16 KiB",
    `GET /mcp HTTP/1.1\r\nHost: localhost\r\n${"X-Flood: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n".repeat(400)}\r\n`,
    431,
  ],
  ["a request target of 20 KiB", `GET /mcp/${"a".repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`, 431],
  [
    "an absolute-form target (open-proxy attempt)",
    "GET http://127.0.0.1:1/mcp HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    400,
  ],
  ["an asterisk target", "OPTIONS * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 400],
  ["a .. segment", "GET /mcp/../admin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 400],
  [
    "a percent-encoded .. segment",
    "GET /mcp/%2e%2E/admin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    400,
  ],
  [
    "a .. behind an encoded slash",
    "GET /mcp/..%2fadmin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    400,
  ],
  ...[
    "/mcp/..\\admin",
    "/mcp/.\\..\\admin",
    "/mcp/..%5cadmin",
    "/mcp/..;/admin",
    "/mcp/%2e%2e;/admin",
    "/mcp/..%3b/admin",
    "/mcp/..;jsessionid=x/admin",
    "/mcp/.%00./admin",
  ].map((path): [string, string, number] => [
    `a way out of the route: ${path}`,
    `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
    400,
  ]),
  [
    "a transfer coding the proxy does not undo (gzip, chunked)",
    "POST /mcp HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    501,
  ],
  ["a path outside the route", "GET /admin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 404],
];

describe("hostile input", () => {
  let upstream: TestUpstream;
  let proxy: TestProxy;

  before(async () => {
    upstream = await startUpstream(echo("u"));
    proxy = await startProxy(
      `[server]\nroute = "/mcp"\n${upstreamsToml([{ name: "u", url: `${upstream.url}/mcp` }])}`,
    );
  });
  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  for (const [what, bytes, expected] of malformed) {
    it(`answers ${expected} to ${what}, reaching no upstream, and keeps serving`, async () => {
      const seen = upstream.seen.length;
      assert.equal(statusOf(await rawRequest(proxy.url, bytes)), expected);
      assert.equal(upstream.seen.length, seen, "nothing reached the upstream");
      const still = await request(`${proxy.url}/mcp`);
      assert.equal(still.statusCode, 200);
      await still.body.text();
    });
  }

  it("never writes its 400 where it would be read as the answer to a request in flight", async () => {
    upstream.behave((_req, res) => setTimeout(() => res.writeHead(200).end("slow"), 100));
    try {
      const reply = await rawRequest(
        proxy.url,
        "GET /mcp/slow HTTP/1.1\r\nHost: localhost\r\n\r\nJUNK JUNK JUNK\r\n\r\n",
        3_000,
      );
      assert.doesNotMatch(reply, /^HTTP\/1\.1 400/, "the junk's 400 is not read as /slow's answer");
    } finally {
      upstream.behave(echo("u"));
    }
  });

  it("closes a connection with a live event stream on an oversized request, without writing into the stream", async () => {
    upstream.behave((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: first\n\n");
    });
    try {
      const { connect } = await import("node:net");
      const socket = connect(Number(new URL(proxy.url).port), "127.0.0.1");
      let reply = "";
      socket.setEncoding("latin1").on("data", (chunk: string) => {
        reply += chunk;
        if (chunk.includes("data: first")) {
          socket.write(
            `GET /mcp HTTP/1.1\r\nHost: localhost\r\n${"X-Flood: yyyyyyyyyyyyyyyyyyyy\r\n".repeat(1_000)}\r\n`,
          );
        }
      });
      socket.write("GET /mcp/events HTTP/1.1\r\nHost: localhost\r\n\r\n");
      await new Promise((resolve) => socket.on("close", resolve));
      assert.match(reply, /data: first/);
      assert.doesNotMatch(reply, /HTTP\/1\.1 431/, "no status line inside the event stream");
    } finally {
      upstream.behave(echo("u"));
    }
  });

  it("keeps . inside names (.well-known, a..b) and dot segments inside the query", async () => {
    for (const path of ["/mcp/.well-known/x", "/mcp/a..b", "/mcp/x?next=/../"]) {
      const res = await request(`${proxy.url}${path}`);
      assert.equal(res.statusCode, 200, path);
      await res.body.text();
    }
  });

  it("answers invalid UTF-8 or truncated JSON-RPC bodies in the plain shape when it must answer itself", async () => {
    proxy.breakwater.upstreams[0]?.circuit.forceOpen();
    try {
      for (const body of [
        Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
        Buffer.from('{"jsonrpc":"2.0","id":1,"method"'),
      ]) {
        const res = await request(`${proxy.url}/mcp`, { method: "POST", body });
        assert.equal(res.statusCode, 503);
        assert.deepEqual(Object.keys((await res.body.json()) as object), [
          "error",
          "upstream",
          "retry_after",
        ]);
      }
    } finally {
      proxy.breakwater.upstreams[0]?.circuit.reset();
    }
  });
});

describe("slow and idle clients", () => {
  let upstream: TestUpstream;
  let proxy: BareProxy;
  let url: string;

  before(async () => {
    upstream = await startUpstream(echo("u"));
    const { config } = loadConfig({ upstreams: [upstream.url] });
    const circuits = new CircuitRegistry();
    const upstreams = config.upstreams.map(
      (u) => new HttpUpstream(u, circuits.create(u.name, u.breaker).breaker, 1_000),
    );
    proxy = await startBareProxy(upstreams, { clientHeadersTimeoutMs: 300, clientKeepAliveTimeoutMs: 300 });
    url = proxy.url;
  });
  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  it("answers 408 and closes the connection of a client that trickles its headers (slowloris)", async () => {
    const { connect } = await import("node:net");
    const socket = connect(Number(new URL(url).port), "127.0.0.1");
    let reply = "";
    socket.setEncoding("latin1").on("data", (chunk: string) => {
      reply += chunk;
    });
    const closed = new Promise((resolve) => socket.on("close", resolve));
    socket.write("GET / HTTP/1.1\r\nHost: localhost\r\n");
    for (let i = 0; i < 50 && !socket.destroyed && socket.writable; i++) {
      socket.write(`X-Slow-${i}: 1\r\n`);
      await sleep(100);
    }
    await closed;
    assert.equal(statusOf(reply), 408);
    assert.equal(upstream.seen.length, 0);
  });

  it("closes an idle keep-alive connection", async () => {
    const { connect } = await import("node:net");
    const socket = connect(Number(new URL(url).port), "127.0.0.1");
    let reply = "";
    socket.setEncoding("latin1").on("data", (chunk: string) => {
      reply += chunk;
    });
    const closed = new Promise((resolve) => socket.on("close", resolve));
    socket.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    await closed; // after the response, nothing more: the proxy ends the idle connection itself
    assert.equal(statusOf(reply), 200);
  });
});
