import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/core/internal";
import { request } from "undici";
import { startUpstream, status, type TestUpstream } from "../support/upstream.ts";
import { type AggregateRig, mcpPool, modernRequest, startAggregate } from "./endpointFakes.ts";

const { version } = (await import("../../package.json", { with: { type: "json" } })).default as {
  version: string;
};

let upstream: TestUpstream;
let rig: AggregateRig;

before(async () => {
  upstream = await startUpstream(status(500));
  rig = await startAggregate([mcpPool("notes", [upstream.url]).pool]);
});
after(async () => {
  await rig.close();
  await upstream.close();
});

const rpc = (id: unknown, method: string, params?: unknown) =>
  JSON.stringify({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) });

describe("the aggregate answers what is its own (SPEC §7.2)", () => {
  it("answers initialize itself: the client's version when supported, breakwater's serverInfo, the lists' capabilities and a session token", async () => {
    const asked = SUPPORTED_PROTOCOL_VERSIONS.at(-1) as string;
    const params = {
      protocolVersion: asked,
      capabilities: { sampling: {} },
      clientInfo: { name: "c", version: "1" },
    };
    const reply = await rig.post(rpc(1, "initialize", params));
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.text), {
      jsonrpc: "2.0",
      id: 1,
      result: {
        protocolVersion: asked,
        capabilities: { tools: { listChanged: true } },
        serverInfo: { name: "breakwater", version },
      },
    });
    const token = reply.headers["mcp-session-id"] as string;
    assert.deepEqual(rig.sessions.open(token)?.initializeParams, params);
    assert.equal(upstream.seen.length, 0);
  });

  it("answers an initialize of an unknown version with the latest it supports", async () => {
    const reply = await rig.post(rpc("a", "initialize", { protocolVersion: "1999-01-01", capabilities: {} }));
    assert.equal(JSON.parse(reply.text).result.protocolVersion, LATEST_PROTOCOL_VERSION);
  });

  it("takes notifications/initialized with 202", async () => {
    const { token } = rig.sessions.begin(LATEST_PROTOCOL_VERSION, {});
    const reply = await rig.post(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }), {
      "mcp-session-id": token,
    });
    assert.equal(reply.status, 202);
  });

  it("answers ping with an empty result, and a 2026-07-28 ping with resultType complete", async () => {
    const { token } = rig.sessions.begin(LATEST_PROTOCOL_VERSION, {});
    const earlier = await rig.post(rpc(5, "ping"), { "mcp-session-id": token });
    assert.deepEqual(JSON.parse(earlier.text), { jsonrpc: "2.0", id: 5, result: {} });
    const modern = modernRequest(6, "ping", {});
    const reply = await rig.post(modern.body, modern.headers);
    assert.deepEqual(JSON.parse(reply.text).result, { resultType: "complete" });
  });

  it("answers server/discover with every era it serves, the capabilities and its serverInfo", async () => {
    const modern = modernRequest(7, "server/discover", {});
    const reply = await rig.post(modern.body, modern.headers);
    assert.deepEqual(JSON.parse(reply.text).result, {
      resultType: "complete",
      supportedVersions: ["2026-07-28", ...SUPPORTED_PROTOCOL_VERSIONS],
      capabilities: { tools: { listChanged: true } },
      _meta: { "io.modelcontextprotocol/serverInfo": { name: "breakwater", version } },
      ttlMs: 0,
      cacheScope: "public",
    });
  });

  it("answers logging/setLevel with an empty result", async () => {
    const { token } = rig.sessions.begin(LATEST_PROTOCOL_VERSION, {});
    const reply = await rig.post(rpc(8, "logging/setLevel", { level: "info" }), { "mcp-session-id": token });
    assert.deepEqual(JSON.parse(reply.text), { jsonrpc: "2.0", id: 8, result: {} });
  });

  it("answers a list from the lists, in the caller's era, with the client's id byte for byte", async () => {
    rig.lists.answerWith = (kind, era) => ({ result: `{"${kind}":[],"era":"${era}"}` });
    const { token } = rig.sessions.begin(LATEST_PROTOCOL_VERSION, {});
    const body = '{"jsonrpc":"2.0","id":12345678901234567890,"method":"tools/list","params":{"cursor":"c1"}}';
    const reply = await rig.post(body, { "mcp-session-id": token });
    assert.equal(
      reply.text,
      '{"jsonrpc":"2.0","id":12345678901234567890,"result":{"tools":[],"era":"earlier"}}',
    );
    assert.deepEqual(rig.lists.asked.at(-1), ["tools", "earlier", "c1"]);
    const modern = modernRequest("x", "resources/templates/list", {});
    const second = await rig.post(modern.body, modern.headers);
    assert.equal(second.text, '{"jsonrpc":"2.0","id":"x","result":{"resourceTemplates":[],"era":"modern"}}');
  });

  it("answers a list's error as a JSON-RPC error", async () => {
    rig.lists.answerWith = () => ({
      error: { code: -32602, message: "stale cursor", data: { reason: "stale_cursor" } },
    });
    const modern = modernRequest(3, "prompts/list", { cursor: "old" });
    const reply = await rig.post(modern.body, modern.headers);
    assert.deepEqual(JSON.parse(reply.text).error.data, { reason: "stale_cursor" });
  });

  it("answers a session token that opens no session with 404 and -32001", async () => {
    const reply = await rig.post(rpc(9, "tools/list"), { "mcp-session-id": "forged" });
    assert.equal(reply.status, 404);
    assert.equal(JSON.parse(reply.text).error.code, -32001);
  });

  it("answers an earlier-era call without a session with 400", async () => {
    const reply = await rig.post(rpc(10, "tools/list"));
    assert.equal(reply.status, 400);
    assert.equal(JSON.parse(reply.text).id, 10);
  });

  it("answers a method it does not serve with -32601, sending nothing", async () => {
    const modern = modernRequest(11, "tasks/list", {});
    const reply = await rig.post(modern.body, modern.headers);
    assert.equal(JSON.parse(reply.text).error.code, -32601);
    assert.equal(upstream.seen.length, 0);
  });

  it("refuses a modern request whose routing headers disagree with its body with -32020", async () => {
    const modern = modernRequest(12, "tools/list", {});
    const reply = await rig.post(modern.body, { ...modern.headers, "mcp-method": "prompts/list" });
    assert.equal(reply.status, 400);
    assert.equal(JSON.parse(reply.text).error.code, -32020);
  });

  it("ends a session on DELETE: the token is refused afterwards", async () => {
    const { token, session } = rig.sessions.begin(LATEST_PROTOCOL_VERSION, {});
    const url = `${rig.proxy.url}/mcp`;
    const deleted = await request(url, { method: "DELETE", headers: { "mcp-session-id": token } });
    await deleted.body.dump();
    assert.equal(deleted.statusCode, 200);
    assert.deepEqual(rig.sessions.ended, [session]);
    const again = await rig.post(rpc(13, "ping"), { "mcp-session-id": token });
    assert.equal(again.status, 404);
  });

  it("answers a body that is no JSON-RPC with a parse error, and a batch with -32600", async () => {
    const bad = await rig.post("{nope");
    assert.equal(JSON.parse(bad.text).error.code, -32700);
    const batch = await rig.post(`[${rpc(1, "ping")}]`);
    assert.equal(JSON.parse(batch.text).error.code, -32600);
  });
});
