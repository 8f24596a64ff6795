import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { notesProxy, resumableSdk1Server } from "./filterRig.ts";

const opened: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

const accept = "application/json, text/event-stream";
const version = "2025-11-25";

describe("a tools/list answer replayed on a resumed stream (GET, Last-Event-ID)", () => {
  it("leaves the excluded tools out there too", async () => {
    const upstream = await resumableSdk1Server();
    opened.push(() => upstream.close());
    const proxy = await notesProxy(upstream.url);
    opened.push(() => proxy.close());
    const url = `${proxy.url}/notes/mcp`;
    const init = await request(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: { protocolVersion: version, capabilities: {}, clientInfo: { name: "t", version: "1" } },
      }),
    });
    await init.body.text();
    const session = init.headers["mcp-session-id"] as string;
    assert.ok(session);
    const headers = {
      "content-type": "application/json",
      accept,
      "mcp-session-id": session,
      "mcp-protocol-version": version,
    };
    await (
      await request(url, {
        method: "POST",
        headers,
        body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
      })
    ).body.text();
    const listed = await request(url, {
      method: "POST",
      headers,
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    const stream = await listed.body.text();
    assert.doesNotMatch(stream, /delete_notes/, "the list on the POST is filtered");
    assert.match(stream, /read_notes/);
    const priming = /^id: (.+)$/m.exec(stream)?.[1];
    assert.ok(priming, stream);
    // the client resumes the list's stream after its priming event, as SDK clients do after a drop
    const controller = new AbortController();
    const resumed = await request(url, {
      method: "GET",
      headers: {
        accept: "text/event-stream",
        "mcp-session-id": session,
        "mcp-protocol-version": version,
        "last-event-id": priming,
      },
      signal: controller.signal,
    });
    let replay = "";
    try {
      for await (const chunk of resumed.body) {
        replay += chunk.toString();
        if (/"tools"/.test(replay) && /\n\n/.test(replay.slice(replay.indexOf('"tools"')))) break;
      }
    } finally {
      controller.abort();
    }
    assert.match(replay, /read_notes/, `replayed: ${replay}`);
    assert.doesNotMatch(replay, /delete_notes/, `the replayed list holds the excluded tool: ${replay}`);
  });
});
