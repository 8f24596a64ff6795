import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, describe, it } from "node:test";
import { startProxy, upstreamsToml } from "../support/proxy.ts";
import { until } from "../support/until.ts";
import { startUpstream, type TestUpstream } from "../support/upstream.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

/** A keep-alive client on a raw socket: what it read, and when the server closed the connection. */
function keepAliveClient(url: string, path: string) {
  const socket = connect(Number(new URL(url).port), "127.0.0.1");
  let reply = "";
  socket.setEncoding("latin1").on("data", (chunk: string) => {
    reply += chunk;
  });
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  socket.on("error", () => {});
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n`);
  return { reply: () => reply, closed, destroy: () => socket.destroy() };
}

describe("graceful shutdown", () => {
  it("lets the request in flight finish with Connection: close, and closes its connection at once", async () => {
    let release: (() => void) | undefined;
    const upstream: TestUpstream = await startUpstream((_req, res) => {
      release = () => res.writeHead(200, { "content-length": "8" }).end("finished");
    });
    const proxy = await startProxy(upstreamsToml([{ name: "u", url: upstream.url }]));
    opened.push(() => upstream.close());
    const client = keepAliveClient(proxy.url, "/slow");
    opened.push(async () => void client.destroy());
    await until(() => release !== undefined);

    const started = performance.now();
    const closing = proxy.breakwater.close(30_000);
    release?.();
    await client.closed;
    await closing;
    const seconds = (performance.now() - started) / 1_000;
    assert.match(client.reply(), /^HTTP\/1\.1 200/);
    assert.match(
      client.reply(),
      /\r\nconnection: close\r\n/i,
      "the response tells the client not to reuse it",
    );
    assert.match(client.reply(), /finished$/);
    // node's keep-alive timer is 5 s: a proxy that waited for it would take that long
    assert.ok(seconds < 2.5, `closed ${seconds.toFixed(2)} s after the shutdown began`);
  });

  it("closes a connection whose response had begun before the shutdown as soon as that response ends", async () => {
    let finish: (() => void) | undefined;
    const upstream: TestUpstream = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: one\n\n");
      finish = () => res.end("data: last\n\n");
    });
    const proxy = await startProxy(upstreamsToml([{ name: "u", url: upstream.url }]));
    opened.push(() => upstream.close());
    const client = keepAliveClient(proxy.url, "/events");
    opened.push(async () => void client.destroy());
    await until(() => client.reply().includes("data: one"));

    const started = performance.now();
    const closing = proxy.breakwater.close(30_000);
    finish?.();
    await client.closed;
    await closing;
    const seconds = (performance.now() - started) / 1_000;
    assert.match(client.reply(), /data: last/);
    assert.ok(seconds < 2.5, `closed ${seconds.toFixed(2)} s after the shutdown began`);
  });
});
