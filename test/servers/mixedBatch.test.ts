import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { startUpstream } from "../support/upstream.ts";
import { notesProxy } from "./filterRig.ts";

const opened: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

const deleteCall = {
  jsonrpc: "2.0",
  id: 1,
  method: "tools/call",
  params: { name: "delete_notes", arguments: {} },
};

describe("a call of an excluded tool that is not a lone, well-formed JSON-RPC request", () => {
  const { id: _id, ...notification } = deleteCall;
  for (const [label, body] of [
    ["a number beside it", [deleteCall, 5]],
    ["an object without jsonrpc beside it", [deleteCall, { id: 2, method: "ping" }]],
    ["sent as a notification, without an id", notification],
    ["in a batch of one", [deleteCall]],
  ] as const) {
    it(`is never sent to the server (${label})`, async () => {
      // a JSON-RPC 2.0 server answers each element of a batch on its own (JSON-RPC 2.0 §6)
      const upstream = await startUpstream((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end("[]");
      });
      opened.push(() => upstream.close());
      const proxy = await notesProxy(upstream.url);
      opened.push(() => proxy.close());
      const res = await request(`${proxy.url}/notes/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify(body),
      });
      await res.body.text();
      const sent = upstream.seen.filter((seen) => seen.body.includes("delete_notes"));
      assert.deepEqual(
        sent.map((s) => s.body),
        [],
        "the call of the excluded tool reached the server inside the batch",
      );
    });
  }
});
