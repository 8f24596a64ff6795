/**
 * Many servers on one origin (one host, different paths) share its keep-alive connections, as one
 * server's replicas do (ConnectionPools): 100 servers behind one ingress cost what one does.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { CircuitBreaker } from "../../src/breaker/CircuitBreaker.ts";
import { loadConfig } from "../../src/config/loadConfig.ts";
import { ConnectionPools } from "../../src/upstreams/http/ConnectionPools.ts";
import { HttpUpstream } from "../../src/upstreams/http/HttpUpstream.ts";
import { startProxy } from "../support/proxy.ts";
import { startUpstream } from "../support/upstream.ts";

const opened: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

/** An upstream that answers with the client port of the connection the request came on. */
async function portTeller() {
  const upstream = await startUpstream((req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ port: req.socket.remotePort, url: req.url }));
  });
  opened.push(() => upstream.close());
  return upstream;
}

async function portOf(url: string): Promise<number> {
  const res = await request(url, { method: "GET" });
  assert.equal(res.statusCode, 200);
  return ((await res.body.json()) as { port: number }).port;
}

describe("servers on one origin", () => {
  it("share one keep-alive connection between their routes, where a server on another origin keeps its own", async () => {
    const [shared, other] = [await portTeller(), await portTeller()];
    const server = (name: string, url: string) =>
      `[[servers]]\nname = "${name}"\nroute = "/${name}"\n[[servers.upstreams]]\nurl = "${url}"\n`;
    const proxy = await startProxy(
      server("a", `${shared.url}/a-path`) + server("b", `${shared.url}/b-path`) + server("c", other.url),
    );
    opened.push(() => proxy.close());
    const ports = new Set<number>();
    // one after another: a pool with an idle connection reuses it
    for (let i = 0; i < 6; i++) ports.add(await portOf(`${proxy.url}/${i % 2 === 0 ? "a" : "b"}`));
    assert.equal(ports.size, 1, `the six requests to a and b came on ${ports.size} connections`);
    assert.deepEqual(
      shared.seen.map((s) => s.url),
      ["/a-path", "/b-path", "/a-path", "/b-path", "/a-path", "/b-path"],
    );
    await portOf(`${proxy.url}/c`);
    assert.equal(other.seen.length, 1, "c's origin has its own connections");
  });

  it("keeps a pool while one of its upstreams still holds it, and closes it with the last", async () => {
    const upstream = await portTeller();
    const { config } = loadConfig({ upstreams: [`${upstream.url}/x`, `${upstream.url}/y`] }, {});
    const pools = new ConnectionPools();
    const [x, y] = config.upstreams.map(
      (u) => new HttpUpstream(u, new CircuitBreaker({ name: u.name }), 5_000, { pools }),
    ) as [HttpUpstream, HttpUpstream];
    assert.equal(pools.size, 1, "one pool for the one origin");
    await x.close();
    await x.close(); // a second close takes no other upstream's hold
    assert.equal(pools.size, 1, "y still holds it");
    await y.close();
    assert.equal(pools.size, 0);
  });
});
