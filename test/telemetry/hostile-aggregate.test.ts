import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { OtlpReceiver } from "../support/OtlpReceiver.ts";
import { serversToml, type TestProxy } from "../support/proxy.ts";
import { connectSdk2Client, type Sdk2HttpServer, startSdk2Server } from "../support/sdk2.ts";
import { tracedProxy } from "./telemetryRig.ts";

describe("telemetry (hostile review): traces under the aggregate", () => {
  let receiver: OtlpReceiver;
  let math: Sdk2HttpServer;
  let proxy: TestProxy;
  before(async () => {
    receiver = await OtlpReceiver.start();
    math = await startSdk2Server("math");
    proxy = await tracedProxy(
      `[aggregate]\nroute = "/mcp"\ngrace_secs = 0\n` +
        serversToml([{ name: "math", upstreams: [{ url: math.url }] }]),
      receiver,
    );
  });
  after(async () => {
    await proxy?.close();
    await math?.close();
    await receiver?.stop();
  });

  it("names the server and the bare tool, and on a refused call records what the client got", async () => {
    const client = await connectSdk2Client(`${proxy.url}/mcp`, "modern" as never);
    const tp = "00-12121212121212121212121212121212-3434343434343434-01";
    await client.callTool({
      name: "math__echo",
      arguments: { text: "x" },
      _meta: { traceparent: tp },
    });
    const server = await receiver.waitForSpan(
      (s) =>
        s.kind === "server" &&
        s.traceId === "12121212121212121212121212121212" &&
        s.name.startsWith("tools/call"),
      "server span",
    );
    await receiver.waitForSpans((all) => all.some((s) => s.parentSpanId === server.spanId), "client span");
    const clientSpan = receiver.spans.find((s) => s.parentSpanId === server.spanId);
    assert.equal(clientSpan?.name, "tools/call echo");
    await fetch(`${proxy.adminUrl}/circuits/math-1/open`, { method: "POST" });
    const tp2 = "00-56565656565656565656565656565656-3434343434343434-01";
    const refused = await client.callTool({
      name: "math__echo",
      arguments: { text: "x" },
      _meta: { traceparent: tp2 },
    });
    const s2 = await receiver.waitForSpan(
      (s) => s.kind === "server" && s.traceId === "56565656565656565656565656565656",
      "refused span",
    );
    await client.close();
    assert.equal(refused.isError, true);
    const problems: string[] = [];
    if (s2.attributes["error.type"] !== "circuit_open")
      problems.push(`error.type ${String(s2.attributes["error.type"])}`);
    if (s2.attributes["breakwater.server"] !== "math")
      problems.push(`breakwater.server ${String(s2.attributes["breakwater.server"])}`);
    if (s2.attributes["breakwater.circuit.state"] === undefined) problems.push("no breakwater.circuit.state");
    if (s2.status.code !== "error") problems.push(`status ${s2.status.code}`);
    assert.deepEqual(
      problems,
      [],
      "SPEC §9: a request the circuit rejected has error.type circuit_open; spans name the server under §7",
    );
  });
});
