import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { startTraced, toolCall } from "./telemetryRig.ts";

describe("telemetry (hostile review): the server span and mcp.server.operation.duration start at the request's arrival", () => {
  it("counts the time the body took to arrive", async (t) => {
    const traced = await startTraced();
    t.after(() => traced.close());
    const { receiver, proxy } = traced;
    const body = toolCall(1, "add", {});
    const port = Number(new URL(proxy.url).port);
    const socket = connect(port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    // the proxy has the request's head (its 'request' event, after the proxy's own handler) …
    const arrived = new Promise((resolve) => proxy.breakwater.proxy.server.once("request", resolve));
    socket.write(
      `POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`,
    );
    socket.write(body.slice(0, 10));
    await arrived;
    // … and the rest of the body comes at least 200 ms later: a lower bound a busy machine only lengthens
    await new Promise((r) => setTimeout(r, 200));
    socket.end(body.slice(10));
    await new Promise((r) => socket.on("close", r).resume());
    const span = await receiver.waitForSpan((s) => s.kind === "server", "server span");
    const seconds = Number(span.endNs - span.startNs) / 1e9;
    assert.ok(seconds >= 0.2, `a server span of ${seconds} s for a body that took at least 0.2 s to arrive`);
  });
});
