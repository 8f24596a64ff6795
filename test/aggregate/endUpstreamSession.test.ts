import assert from "node:assert/strict";
import { after, test } from "node:test";
import { endUpstreamSession } from "../../src/aggregate/endUpstreamSession.ts";
import { opened, poolRig } from "./poolClientRig.ts";
import { startSdk1SessionServer } from "./sdk1SessionServer.ts";

after(async () => {
  for (const close of opened.splice(0)) await close();
});

test("a session Breakwater no longer needs is ended upstream with a DELETE of its headers, and none is sent to an upstream whose circuit is open", async (t) => {
  const server = await startSdk1SessionServer("ends");
  t.after(() => server.close());
  const rig = poolRig([server.url]);
  const upstream = rig.upstreams[0];
  assert.ok(upstream !== undefined);
  const open = async (id: string) => {
    const answer = await rig.client.request(
      rig.pool,
      {
        jsonrpc: "2.0",
        id,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
      },
      { bound: upstream, timeoutMs: 5_000 },
    );
    assert.equal(answer.kind, "answer");
    return answer.kind === "answer" ? String(answer.headers["mcp-session-id"]) : "";
  };
  const first = await open("a");
  const second = await open("b");
  assert.equal(server.sessions(), 2);
  await endUpstreamSession(upstream, { "Mcp-Session-Id": first, "MCP-Protocol-Version": "2025-11-25" });
  assert.equal(server.sessions(), 1, "the DELETE ended that session only");
  rig.circuit(upstream.name).forceOpen();
  await endUpstreamSession(upstream, { "Mcp-Session-Id": second, "MCP-Protocol-Version": "2025-11-25" });
  assert.equal(server.sessions(), 1, "nothing is sent while the circuit does not admit");
  assert.equal(rig.circuit(upstream.name).metrics().totalRequests, 2, "no permit taken for a DELETE");
});
