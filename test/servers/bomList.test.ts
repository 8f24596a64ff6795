import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { startUpstream } from "../support/upstream.ts";
import { notesProxy } from "./filterRig.ts";

const opened: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

describe("a JSON tools/list answer starting with a UTF-8 byte order mark", () => {
  it("is filtered (or refused), since fetch's Response.json() — the SDK client's reader — drops the BOM and reads the list", async () => {
    const upstream = await startUpstream((_req, res, body) => {
      const { id } = JSON.parse(body);
      const tools = [{ name: "read_notes" }, { name: "delete_notes" }].map((t) => ({
        ...t,
        inputSchema: { type: "object" },
      }));
      res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
      res.end(`\uFEFF${JSON.stringify({ jsonrpc: "2.0", id, result: { tools } })}`);
    });
    opened.push(() => upstream.close());
    const proxy = await notesProxy(upstream.url);
    opened.push(() => proxy.close());
    const res = await fetch(`${proxy.url}/notes/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    const answer = (await res.json()) as { result?: { tools?: { name: string }[] } };
    const names = answer.result?.tools?.map((t) => t.name) ?? [];
    assert.ok(!names.includes("delete_notes"), `the client read the unfiltered list: ${names.join(", ")}`);
  });
});
