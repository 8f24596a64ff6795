import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { OtlpReceiver } from "../support/OtlpReceiver.ts";
import { startProxy, type TestProxy } from "../support/proxy.ts";

const server = fileURLToPath(new URL("../support/stdioServer.ts", import.meta.url));
const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };

describe("telemetry (hostile review): a stdio process that exits under a call", () => {
  let receiver: OtlpReceiver;
  let proxy: TestProxy;
  before(async () => {
    receiver = await OtlpReceiver.start();
    proxy = await startProxy(
      `[[upstreams]]\nname = "local"\ncommand = ${JSON.stringify([process.execPath, server])}\n[telemetry]\notlp_endpoint = "${receiver.url}"\n`,
      {},
      { telemetry: { scheduledDelayMillis: 10 } },
    );
  });
  after(async () => {
    await proxy?.close();
    await receiver?.stop();
  });

  it("names the exit in error.type", async () => {
    const init = await fetch(`${proxy.url}/mcp`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
      }),
    });
    await init.text();
    const session = init.headers.get("mcp-session-id") as string;
    assert.ok(session);
    const h = { ...headers, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" };
    await (
      await fetch(`${proxy.url}/mcp`, {
        method: "POST",
        headers: h,
        body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
      })
    ).text();
    const res = await fetch(`${proxy.url}/mcp`, {
      method: "POST",
      headers: h,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: { name: "crash", arguments: {} },
      }),
    });
    assert.match(await res.text(), /-32603/, "the client got the process's end as an internal error");
    const span = await receiver.waitForSpan(
      (s) => s.kind === "server" && s.attributes["jsonrpc.request.id"] === "7",
      "server span",
    );
    assert.equal(span.attributes["error.type"], "-32603");
    const clients = receiver.spans.filter((s) => s.parentSpanId === span.spanId);
    assert.equal(clients.length, 1);
    assert.equal(clients[0]?.attributes["network.transport"], "pipe");
  });
});
