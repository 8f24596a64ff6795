import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client as Sdk1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as Sdk1Transport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type Sdk1SessionServer, startSdk1SessionServer } from "../aggregate/sdk1SessionServer.ts";
import { OtlpReceiver } from "../support/OtlpReceiver.ts";
import { serversToml, type TestProxy } from "../support/proxy.ts";
import { tracedProxy } from "./telemetryRig.ts";

describe("telemetry (hostile review): a session lost under the aggregate and opened again", () => {
  let receiver: OtlpReceiver;
  let desk: Sdk1SessionServer;
  let proxy: TestProxy;
  before(async () => {
    receiver = await OtlpReceiver.start();
    desk = await startSdk1SessionServer("desk");
    proxy = await tracedProxy(
      `[aggregate]\nroute = "/mcp"\ngrace_secs = 0\n` +
        serversToml([{ name: "desk", upstreams: [{ url: desk.url }] }]),
      receiver,
    );
  });
  after(async () => {
    await proxy?.close();
    await desk?.close();
    await receiver?.stop();
  });

  it("makes two client spans, both ended, the request no error", async () => {
    const transport = new Sdk1Transport(new URL(`${proxy.url}/mcp`));
    const client = new Sdk1Client({ name: "c", version: "1" }, { capabilities: {} });
    await client.connect(transport);
    await client.callTool({ name: "desk__whoami", arguments: {} });
    await desk.restart();
    const tp = "00-78787878787878787878787878787878-3434343434343434-01";
    const r = await client.callTool({ name: "desk__whoami", arguments: {}, _meta: { traceparent: tp } });
    assert.notEqual(r.isError, true);
    const server = await receiver.waitForSpan(
      (s) =>
        s.kind === "server" &&
        s.traceId === "78787878787878787878787878787878" &&
        s.name.startsWith("tools/call"),
      "server span",
    );
    await receiver
      .waitForSpans(
        (all) => all.filter((s) => s.parentSpanId === server.spanId).length >= 2,
        "two client spans",
      )
      .catch(() => {});
    const clients = receiver.spans.filter((s) => s.parentSpanId === server.spanId);
    await transport.terminateSession().catch(() => {});
    assert.equal(clients.length, 2);
    assert.equal(server.attributes["error.type"], undefined);
  });
});
