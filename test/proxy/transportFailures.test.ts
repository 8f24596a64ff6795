import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { after, describe, it } from "node:test";
import { buildConnector, request } from "undici";
import type { UpstreamConfig } from "../../src/config/Config.ts";
import { CircuitBreaker } from "../../src/index.ts";
import { HttpUpstream } from "../../src/upstreams/http/HttpUpstream.ts";
import { startBareProxy } from "../support/bareProxy.ts";
import { rpc } from "../support/proxy.ts";
import { echo, startUpstream } from "../support/upstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

/** An HTTP upstream at `url` whose connections are made by `connector`; one failure opens its circuit. */
function httpUpstream(url: string, connector: buildConnector.connector): HttpUpstream {
  const config = {
    name: "u",
    url: new URL(url),
    maxInFlight: 0,
    tls: { ca: undefined, insecure: false },
  } as unknown as UpstreamConfig;
  const circuit = new CircuitBreaker({ name: "u", failureThreshold: 1 });
  const upstream = new HttpUpstream(config, circuit, 5_000, { connector });
  opened.push(() => upstream.close());
  return upstream;
}

async function post(url: string, body: string) {
  const res = await request(url, { method: "POST", body, headers: { "content-type": "application/json" } });
  return { status: res.statusCode, text: await res.body.text() };
}

describe("the proxy's own resources (EMFILE and the like) are not the upstream's failure", () => {
  for (const code of ["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]) {
    it(`answers 503 proxy_resources on ${code} at connect, logs the code, and leaves the circuit closed`, async () => {
      const refuse: buildConnector.connector = (_options, callback) =>
        callback(Object.assign(new Error(`connect ${code}`), { code, syscall: "connect" }), null);
      const upstream = httpUpstream("http://127.0.0.1:9", refuse);
      const told: string[] = [];
      const proxy = await startBareProxy([upstream], {
        onProxyResources: (u, failed) => told.push(`${u.name} ${failed}`),
      });
      opened.push(() => proxy.close());
      const reply = await post(proxy.url, rpc(4));
      assert.equal(reply.status, 503);
      const answer = JSON.parse(reply.text) as { id: number; error: { data: { reason: string } } };
      assert.equal(answer.id, 4);
      assert.equal(answer.error.data.reason, "proxy_resources");
      assert.deepEqual(told, [`u ${code}`]);
      assert.deepEqual(
        proxy.settled.map((s) => s.outcome),
        ["neutral"],
      );
      assert.equal(upstream.circuit.state, "closed");
    });
  }
});

/**
 * A connector whose first connection breaks (ECONNRESET) as the head of its `breakAt`-th request is
 * being written: before any byte of that request left, as a reset found out at write time.
 */
function breakingFirstConnection(breakAt: number): buildConnector.connector {
  const connect = buildConnector({});
  let connections = 0;
  return (options, callback) =>
    connect(options, (error, socket) => {
      if (socket !== null && connections++ === 0) {
        const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
        let heads = 0;
        (socket as Socket).write = ((chunk: unknown, ...rest: unknown[]) => {
          if (typeof chunk === "string" && /^[A-Z]+ \//.test(chunk) && ++heads === breakAt)
            throw Object.assign(new Error("write ECONNRESET"), { code: "ECONNRESET" });
          return write(chunk, ...rest);
        }) as Socket["write"];
      }
      (callback as (error: Error | null, socket: unknown) => void)(error, socket);
    });
}

describe("the stale keep-alive resend (SPEC §2) needs a reused connection", () => {
  it("resends a POST whose reused keep-alive connection broke before the request left, without counting it", async () => {
    const target = await startUpstream(echo("target"));
    opened.push(() => target.close());
    const upstream = httpUpstream(target.url, breakingFirstConnection(2));
    const proxy = await startBareProxy([upstream]);
    opened.push(() => proxy.close());
    assert.equal((await post(proxy.url, rpc(1))).status, 200);
    assert.equal((await post(proxy.url, rpc(2))).status, 200, "resent on a fresh connection");
    assert.equal(target.seen.length, 2, "each request arrived once");
    assert.equal(upstream.circuit.metrics().failedRequests, 0);
  });

  it("does not resend a POST whose fresh connection broke: the upstream's failure, a 502", async () => {
    const target = await startUpstream(echo("target"));
    opened.push(() => target.close());
    const upstream = httpUpstream(target.url, breakingFirstConnection(1));
    const proxy = await startBareProxy([upstream]);
    opened.push(() => proxy.close());
    assert.equal((await post(proxy.url, rpc(1))).status, 502);
    assert.equal(target.seen.length, 0, "not sent again");
    assert.deepEqual(
      proxy.settled.map((s) => s.outcome),
      ["failure"],
    );
  });
});
