import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { request } from "undici";
import type { TestProxy } from "../support/proxy.ts";
import { expressSdk1Server, notesProxy } from "./filterRig.ts";

const opened: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of opened.reverse()) await close();
});

async function filtered(): Promise<{ proxy: TestProxy; ran: string[] }> {
  const upstream = await expressSdk1Server();
  opened.push(() => upstream.close());
  const proxy = await notesProxy(upstream.url);
  opened.push(() => proxy.close());
  return { proxy, ran: upstream.ran };
}

const deleteCall = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "tools/call",
  params: { name: "delete_notes", arguments: {} },
});
const accept = "application/json, text/event-stream";

describe("a request body in a coding the proxy does not read bypasses the tools filter", () => {
  it("control: a plain excluded call is refused -32602 and never runs", async () => {
    const { proxy, ran } = await filtered();
    const res = await request(`${proxy.url}/notes/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept },
      body: deleteCall,
    });
    const text = await res.body.text();
    assert.equal(JSON.parse(text).error?.code, -32602, text);
    assert.deepEqual(ran, []);
  });

  it("a gzip-coded (Content-Encoding: gzip) tools/call of an excluded tool never runs", async () => {
    const { proxy, ran } = await filtered();
    const res = await request(`${proxy.url}/notes/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip", accept },
      body: gzipSync(deleteCall),
    });
    const text = await res.body.text();
    assert.deepEqual(ran, [], `the excluded tool ran behind the filter; answer ${res.statusCode} ${text}`);
  });

  it("a UTF-16 (charset=utf-16le) tools/call of an excluded tool never runs", async () => {
    const { proxy, ran } = await filtered();
    const res = await request(`${proxy.url}/notes/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-16le", accept },
      body: Buffer.from(deleteCall, "utf16le"),
    });
    const text = await res.body.text();
    assert.deepEqual(ran, [], `the excluded tool ran behind the filter; answer ${res.statusCode} ${text}`);
  });
});
