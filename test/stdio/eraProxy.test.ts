import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { request } from "undici";
import { DemoMcpServer } from "../../examples/demo/DemoMcpServer.ts";
import type { StdioUpstream } from "../../src/upstreams/stdio/StdioUpstream.ts";
import { startProxy, type TestProxy } from "../support/proxy.ts";
import { until } from "../support/until.ts";
import { cleanups, headers, modernServer, sdk2Client, textOf } from "./stdioRig.ts";

/** Breakwater (the whole of it: config, JSON-RPC judging, balancing) with the modern stdio test server. */
async function modernProxy(extra = ""): Promise<TestProxy> {
  const command = JSON.stringify([process.execPath, modernServer]);
  const proxy = await startProxy(`${extra}\n[[upstreams]]\nname = "local"\ncommand = ${command}\n`);
  cleanups.push(() => proxy.close());
  return proxy;
}

const pidCall = (id: number) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: {
      name: "pid",
      arguments: {},
      _meta: {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
      },
    },
  });

describe("2026-07-28 stdio servers through the whole proxy (SPEC §8.3)", () => {
  it("serves an SDK 2.x client pinned to 2026-07-28, its calls judged successes", async () => {
    const proxy = await modernProxy();
    const client = await sdk2Client(proxy.url);
    const progress: number[] = [];
    const slow = await client.callTool(
      { name: "slow", arguments: { steps: 2 } },
      { onprogress: (p) => void progress.push(p.progress) },
    );
    assert.equal(textOf(slow), "2 steps");
    assert.deepEqual(progress, [1, 2]);
    const metrics = proxy.breakwater.circuits.get("local")?.breaker.metrics();
    assert.equal(metrics?.failedRequests, 0);
    assert.ok((metrics?.totalRequests ?? 0) >= 2);
  });

  it("balances sessionless 2026-07-28 calls onto a stdio upstream of a mixed route once its era is learnt", async () => {
    const remote = new DemoMcpServer("remote");
    await remote.start();
    cleanups.push(() => remote.close());
    const proxy = await modernProxy(`[[upstreams]]\nname = "remote"\nurl = "${remote.url}"\n`);
    const stdio = proxy.breakwater.upstreams.find((u) => u.name === "local") as StdioUpstream;
    const send = async (id: number) => {
      const res = await request(proxy.url, {
        method: "POST",
        // the routing headers a 2026-07-28 request must carry (else 400 -32020)
        headers: {
          ...headers,
          "mcp-protocol-version": "2026-07-28",
          "mcp-method": "tools/call",
          "mcp-name": "pid",
        },
        body: pidCall(id),
      });
      return { status: res.statusCode, body: await res.body.text() };
    };
    await send(1); // the first sessionless call has the stdio upstream learn its era
    await until(() => stdio.era === "modern", "the era of the stdio server is learnt");
    const answers = await Promise.all([2, 3, 4, 5].map(send));
    const byStdio = answers.filter((a) => a.status === 200 && /"text":"\d+"/.test(a.body));
    assert.ok(byStdio.length >= 1, `some reach the stdio upstream: ${JSON.stringify(answers)}`);
  });
});
