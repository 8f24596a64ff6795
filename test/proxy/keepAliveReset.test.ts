import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { startProxy, upstreamsToml } from "../support/proxy.ts";

const opened: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

describe("a reset on a reused keep-alive connection", () => {
  it("is retried once on a fresh connection, and is not the upstream's failure", async () => {
    // Answers the first request on each connection with keep-alive, then resets that connection when
    // a second request arrives on it (as a server does that closed an idle socket the proxy reused).
    let connections = 0;
    const server = createServer((socket: Socket) => {
      connections++;
      let served = 0;
      socket.on("data", (chunk) => {
        if (!chunk.toString().includes("\r\n\r\n")) return;
        if (served++ === 0) {
          socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok");
        } else {
          socket.resetAndDestroy();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const proxy = await startProxy(
      upstreamsToml([{ name: "flaky-keepalive", url: `http://127.0.0.1:${port}` }]),
    );
    opened.push(
      () => new Promise((resolve) => server.close(() => resolve())),
      () => proxy.close(),
    );

    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(proxy.url, { method: "POST", body: `{"n":${i}}` });
      statuses.push(res.statusCode);
      await res.body.text();
    }
    assert.deepEqual(statuses, [200, 200, 200]);
    assert.ok(connections >= 3, `each reset was retried on a new connection (${connections} connections)`);
    const metrics = proxy.breakwater.upstreams[0]?.breaker.metrics();
    assert.deepEqual([metrics?.failedRequests, metrics?.consecutiveFailures], [0, 0]);
  });
});
