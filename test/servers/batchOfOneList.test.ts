import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { startUpstream } from "../support/upstream.ts";
import { notesProxy } from "./filterRig.ts";

const opened: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

const tools = [
  { name: "read_notes", inputSchema: { type: "object" } },
  { name: "delete_notes", inputSchema: { type: "object" } },
];

describe("a tools/list sent as a batch of one", () => {
  it("never reaches the client unfiltered from a server answering a batch with an array (JSON-RPC 2.0 §6)", async () => {
    // a JSON-RPC 2.0 server: a batch is answered with an array, even of one
    const upstream = await startUpstream((_req, res, body) => {
      const parsed = JSON.parse(body);
      const answer = (m: { id: unknown }) => ({ jsonrpc: "2.0", id: m.id, result: { tools } });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(Array.isArray(parsed) ? parsed.map(answer) : answer(parsed)));
    });
    opened.push(() => upstream.close());
    const proxy = await notesProxy(upstream.url);
    opened.push(() => proxy.close());
    const post = (body: string) =>
      request(`${proxy.url}/notes/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body,
      }).then((r) => r.body.text());
    // control: the lone list is filtered
    const lone = await post(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }));
    assert.doesNotMatch(lone, /delete_notes/);
    // the SDK 1.x client reads an array answer in JSON mode; the filter must not let it pass whole
    const batched = await post(JSON.stringify([{ jsonrpc: "2.0", id: 2, method: "tools/list" }]));
    assert.doesNotMatch(batched, /delete_notes/, `the batch-of-one list passed unfiltered: ${batched}`);
  });
});
