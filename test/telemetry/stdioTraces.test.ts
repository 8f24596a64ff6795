import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { SessionSealer } from "../../src/sessions/SessionSealer.ts";
import { OtlpReceiver, type ReceivedSpan } from "../support/OtlpReceiver.ts";
import { startProxy, type TestProxy } from "../support/proxy.ts";
import { post, toolCall } from "./telemetryRig.ts";

const stdioServer = fileURLToPath(new URL("../support/stdioServer.ts", import.meta.url));

const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
});

/**
 * A stdio upstream in the trace (SPEC §9): its client spans say `pipe` and name no address, the
 * process receives the client span's context in `params._meta`, and an earlier-era session shows as
 * the upstream's own session id on client spans, never as the client's sealed token.
 */
describe("traces of calls to a stdio upstream (SPEC §9)", () => {
  const key = randomBytes(32);
  const dir = mkdtempSync(join(tmpdir(), "breakwater-stdio-trace-"));
  /** Every byte the process read on its stdin. */
  const received = join(dir, "stdin");
  let receiver: OtlpReceiver;
  let proxy: TestProxy;
  let token: string;

  before(async () => {
    receiver = await OtlpReceiver.start();
    const command = JSON.stringify([process.execPath, stdioServer, "--record", received]);
    proxy = await startProxy(
      `[fleet]\nsession_keys = ["${key.toString("base64")}"]\n` +
        `[[upstreams]]\nname = "local"\ncommand = ${command}\n` +
        `[telemetry]\notlp_endpoint = "${receiver.url}"\n`,
      {},
      { telemetry: { scheduledDelayMillis: 10 } },
    );
    const opened = await post(proxy.url, initialize);
    assert.equal(opened.status, 200, opened.body);
    token = opened.headers.get("mcp-session-id") ?? "";
    assert.match(token, /^bw1\./, "a sealed token");
    const initialized = await post(
      proxy.url,
      JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
      sessionHeaders(token),
    );
    assert.equal(initialized.status, 202);
  });
  after(async () => {
    await proxy?.close();
    await receiver?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function sessionHeaders(session: string): Record<string, string> {
    return { "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" };
  }

  /** The server span of request `id` and its one client span, once exported. */
  async function spansOf(id: number): Promise<{ server: ReceivedSpan; client: ReceivedSpan }> {
    const server = await receiver.waitForSpan(
      (s) => s.kind === "server" && s.attributes["jsonrpc.request.id"] === String(id),
      `the server span of request ${id}`,
    );
    const client = await receiver.waitForSpan(
      (s) => s.parentSpanId === server.spanId,
      `the client span of request ${id}`,
    );
    return { server, client };
  }

  it("gives a call to a stdio upstream a client span with network.transport pipe and no server address", async () => {
    const answer = await post(proxy.url, toolCall(2, "echo", { text: "hi" }), sessionHeaders(token));
    assert.equal(answer.status, 200, answer.body);
    assert.match(answer.body, /"text":"hi"/);
    const { client } = await spansOf(2);
    assert.equal(client.kind, "client");
    assert.equal(client.name, "tools/call echo");
    assert.equal(client.attributes["network.transport"], "pipe");
    assert.equal(client.attributes["breakwater.upstream"], "local");
    assert.equal(client.attributes["server.address"], undefined);
    assert.equal(client.attributes["server.port"], undefined);
  });

  it("hands the process the client span's context in params._meta.traceparent", async () => {
    const answer = await post(proxy.url, toolCall(3, "echo", { text: "traced" }), sessionHeaders(token));
    assert.equal(answer.status, 200, answer.body);
    const { client } = await spansOf(3);
    // the process read the call before it answered it: its bytes are on record
    const calls = readFileSync(received, "utf8")
      .split("\n")
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as { id?: unknown; params?: { _meta?: Record<string, unknown> } })
      .filter((message) => message.id === 3);
    assert.equal(calls.length, 1, "the process read the call once");
    assert.equal(calls[0]?.params?._meta?.["traceparent"], `00-${client.traceId}-${client.spanId}-01`);
  });

  it("records the process's own session id on the client span, and never the client's sealed token", async () => {
    await post(proxy.url, toolCall(4, "echo", { text: "session" }), sessionHeaders(token));
    const { server, client } = await spansOf(4);
    const own = new SessionSealer([key]).open(token)?.sessionId;
    assert.ok(own !== undefined && own.length > 0, "the token seals the upstream's session");
    assert.equal(client.attributes["mcp.session.id"], own);
    for (const span of [server, client])
      for (const [name, value] of Object.entries(span.attributes))
        assert.ok(
          typeof value !== "string" || !value.includes(token),
          `${span.kind} ${name} holds the token`,
        );
  });
});
