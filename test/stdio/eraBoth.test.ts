import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { request } from "undici";
import { until } from "../support/until.ts";
import { cleanups, headers, modernServer, openSession, rig, sdk2Client, textOf } from "./stdioRig.ts";

const discover = JSON.stringify({
  jsonrpc: "2.0",
  id: "discover-1",
  method: "server/discover",
  params: {
    _meta: {
      "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientCapabilities": {},
    },
  },
});

/** An SDK 1.x client (the earlier era: `initialize`, a session) connected through Breakwater. */
async function earlierClient(url: string): Promise<Client> {
  const client = new Client({ name: "breakwater-earlier-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  cleanups.push(() => client.close());
  return client;
}

describe("stdio servers of both eras (SPEC §8.3)", () => {
  it("answers a modern server/discover to an earlier-era server with its 4xx JSON-RPC error, learnt once, its probe process stopped", async () => {
    const { proxy, upstream, pids, exits, logs } = await rig();
    const res = await request(proxy.url, {
      method: "POST",
      headers: { ...headers, "mcp-protocol-version": "2026-07-28" },
      body: discover,
    });
    const answer = (await res.body.json()) as { id: string; error: { code: number } };
    assert.equal(res.statusCode, 400, "a 4xx, neither 401/403 nor a 5xx: SDK 2.x clients fall back");
    assert.deepEqual([answer.id, answer.error.code], ["discover-1", -32601], "the server's own error");
    assert.equal(upstream.era, "earlier");
    assert.equal(upstream.servesSessionless, false, "sessionless calls go around it again");
    assert.deepEqual(
      logs.filter((line) => line["msg"] === "stdio server era learnt").map((line) => line["era"]),
      ["earlier"],
      "logged once",
    );
    await until(() => exits.length === 1, "the probe's process is stopped");
    const again = await request(proxy.url, {
      method: "POST",
      headers: { ...headers, "mcp-protocol-version": "2026-07-28" },
      body: discover,
    });
    assert.equal(again.statusCode, 400);
    await again.body.text();
    assert.equal(pids().length, 1, "the era is remembered: no process started to ask again");
  });

  it("lets an SDK 2.x client in auto mode fall back to initialize against an earlier-era (SDK 1.x) stdio server", async () => {
    const { proxy, upstream } = await rig();
    const client = await sdk2Client(proxy.url, "auto");
    assert.equal(upstream.era, "earlier");
    assert.equal(textOf(await client.callTool({ name: "echo", arguments: { text: "old" } })), "old");
    assert.equal(upstream.processes, 1, "a process of its session's own");
  });

  it("gives an earlier-era client's initialize a process of its own beside the pool of a modern server", async () => {
    const { proxy, upstream } = await rig([], {}, modernServer);
    const modern = await sdk2Client(proxy.url);
    const poolPid = textOf(await modern.callTool({ name: "pid", arguments: {} }));
    const earlier = await earlierClient(proxy.url);
    const result = (await earlier.callTool({ name: "pid", arguments: {} })) as { content: unknown };
    const sessionPid = textOf(result);
    assert.notEqual(sessionPid, poolPid, "not the pool's process, pinned to the modern era already");
    assert.equal(upstream.processes, 2);
    assert.equal(
      textOf(await modern.callTool({ name: "pid", arguments: {} })),
      poolPid,
      "the pool's goes on",
    );
  });

  it("ends an idle session of an earlier-era client to make room for the pool at max_processes", async () => {
    const { proxy, upstream, logs } = await rig([], { maxProcesses: 1 }, modernServer);
    await openSession(proxy); // initialize, no stream left open: an idle session
    const res = await request(proxy.url, {
      method: "POST",
      headers: { ...headers, "mcp-protocol-version": "2026-07-28" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: {
          name: "echo",
          arguments: { text: "room" },
          _meta: {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
          },
        },
      }),
    });
    assert.equal(res.statusCode, 200);
    assert.match(await res.body.text(), /"text":"room"/);
    assert.ok(logs.some((line) => line["msg"] === "stdio session ended to make room: max_processes reached"));
    assert.equal(upstream.processes, 1);
  });
});
