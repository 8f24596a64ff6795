import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { post, startTraced, toolCall } from "./telemetryRig.ts";

describe("telemetry (hostile review): the proxy's own answers to a client's mistakes", () => {
  it("records what the client got, and does not call its mistake a server error", async (t) => {
    const traced = await startTraced();
    t.after(() => traced.close());
    const { receiver, proxy } = traced;
    // a 2026-07-28 request whose Mcp-Method header says another method than its body
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: 5,
      method: "tools/call",
      params: {
        name: "add",
        arguments: {},
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    });
    await post(`${proxy.url}/mcp`, body, {
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "tools/list",
    });
    await post(`${proxy.url}/mcp`, toolCall(6, "add", {}), {
      "mcp-session-id": "bw1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "mcp-protocol-version": "2025-11-25",
    });
    const rows: string[] = [];
    for (const id of ["5", "6"]) {
      const s = await receiver.waitForSpan(
        (x) => x.kind === "server" && x.attributes["jsonrpc.request.id"] === id,
        `span ${id}`,
      );
      rows.push(
        `${id}: error.type=${String(s.attributes["error.type"])} rpc.response.status_code=${String(s.attributes["rpc.response.status_code"])} status=${s.status.code}`,
      );
    }
    const s5 = receiver.spans.find((x) => x.kind === "server" && x.attributes["jsonrpc.request.id"] === "5");
    assert.equal(s5?.status.code, "unset", "a header that disagrees with the body is the client's mistake");
  });
});
